from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from bff.catalog.topics import Topic
from bff.consent.preferences import (
    DEFAULT_QUIET_HOURS,
    PreferencesUpdate,
    QuietHours,
    TopicSwitch,
    get_preferences,
    preferences_of,
    set_main_switch,
    update_preferences,
)
from bff.models import User

ZONE = ZoneInfo("Asia/Shanghai")


def test_a_window_across_midnight_contains_the_night_and_not_the_day() -> None:
    # given
    quiet = QuietHours("22:00", "08:00")

    # then
    assert quiet.crosses_midnight
    assert quiet.contains(time(23, 30)) and quiet.contains(time(0, 0)) and quiet.contains(time(7, 59))
    assert (
        not quiet.contains(time(8, 0))
        and not quiet.contains(time(12, 0))
        and not quiet.contains(time(21, 59))
    )
    assert quiet.contains(time(22, 0))


def test_a_window_within_a_day() -> None:
    # given
    quiet = QuietHours("12:00", "14:00")

    # then
    assert not quiet.crosses_midnight
    assert quiet.contains(time(13, 0)) and not quiet.contains(time(14, 0)) and not quiet.contains(time(23, 0))


def test_the_window_ends_at_the_next_end_time() -> None:
    # given
    quiet = QuietHours("22:00", "08:00")

    # then
    evening = datetime(2026, 11, 20, 23, 0, tzinfo=ZONE)
    assert quiet.ends_after(evening) == datetime(2026, 11, 21, 8, 0, tzinfo=ZONE)
    early = datetime(2026, 11, 21, 6, 0, tzinfo=ZONE)
    assert quiet.ends_after(early) == datetime(2026, 11, 21, 8, 0, tzinfo=ZONE)


async def test_a_user_without_rows_gets_the_defaults(user: User) -> None:
    # when
    preferences = await get_preferences(user.id)

    # then
    assert preferences.main_switch is True
    assert preferences.quiet_hours == DEFAULT_QUIET_HOURS
    assert preferences.weekly_limit == 5
    assert preferences.enabled_topics() == frozenset(Topic)


async def test_the_exception_topic_is_always_on(user: User) -> None:
    # then even a hand-written row cannot switch it off for the notice engine
    from bff.models import TopicPreference

    await TopicPreference.create(user=user, topic="ORDER_EXCEPTION", enabled=False)
    assert (await get_preferences(user.id)).topic_enabled(Topic.ORDER_EXCEPTION)


async def test_preferences_of_many_users_at_once(user: User, other_user: User) -> None:
    # given
    await update_preferences(
        user.id, PreferencesUpdate(weekly_limit=1, topics=[TopicSwitch("WIN_BACK", False)])
    )
    await set_main_switch(other_user.id, False)

    # when
    found = await preferences_of([user.id, other_user.id])

    # then
    assert found[user.id].weekly_limit == 1
    assert not found[user.id].topic_enabled(Topic.WIN_BACK)
    assert found[other_user.id].main_switch is False
    assert found[other_user.id].topic_enabled(Topic.WIN_BACK)
