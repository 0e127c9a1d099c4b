from __future__ import annotations

from typing import Any

from bff.models import User
from tests.schema.subscriptions.documents import CENTER, UPDATE, Run, by_key


async def update(run: Run, user: User | None, **input: Any) -> dict[str, Any]:
    data = await run(UPDATE, {"input": input}, viewer=user)
    return data["updatePreferences"]  # type: ignore[no-any-return]


async def test_switches_quiet_hours_and_limit_are_saved(run: Run, user: User) -> None:
    # when
    payload = await update(
        run,
        user,
        topics=[{"key": "WIN_BACK", "enabled": False}, {"key": "NODE_MATERIAL_IN", "enabled": False}],
        quietHours={"start": "21:30", "end": "07:15"},
        weeklyLimit=2,
    )

    # then the answer and a fresh read agree
    assert payload["userErrors"] == []
    center = (await run(CENTER, viewer=user))["subscriptionCenter"]
    assert center["quietHours"] == payload["center"]["quietHours"] == {"start": "21:30", "end": "07:15"}
    assert center["weeklyLimit"] == payload["center"]["weeklyLimit"] == 2
    topics = by_key(center["topics"])
    assert topics["WIN_BACK"]["enabled"] is False
    assert topics["NODE_MATERIAL_IN"]["enabled"] is False
    assert topics["NODE_OUTBOUND"]["enabled"] is True


async def test_a_window_within_one_day_is_accepted(run: Run, user: User) -> None:
    # when
    payload = await update(run, user, quietHours={"start": "12:00", "end": "14:00"})

    # then
    assert payload["userErrors"] == []
    assert payload["center"]["quietHours"] == {"start": "12:00", "end": "14:00"}


async def test_null_quiet_hours_switch_them_off_and_omitting_them_keeps_them(run: Run, user: User) -> None:
    # given
    await update(run, user, quietHours=None)

    # when only the weekly limit changes
    payload = await update(run, user, weeklyLimit=0)

    # then quiet hours stay off
    assert payload["center"]["quietHours"] is None
    assert payload["center"]["weeklyLimit"] == 0


async def test_a_topic_can_be_switched_back_on(run: Run, user: User) -> None:
    # given
    await update(run, user, topics=[{"key": "REPLENISHMENT", "enabled": False}])

    # when
    payload = await update(run, user, topics=[{"key": "REPLENISHMENT", "enabled": True}])

    # then
    assert by_key(payload["center"]["topics"])["REPLENISHMENT"]["enabled"] is True


async def test_every_problem_is_reported_and_nothing_changes(run: Run, user: User) -> None:
    # when an input mixes valid changes with every kind of mistake
    payload = await update(
        run,
        user,
        topics=[
            {"key": "WIN_BACK", "enabled": False},
            {"key": "NOT_A_TOPIC", "enabled": True},
            {"key": "ORDER_EXCEPTION", "enabled": False},
        ],
        quietHours={"start": "7:00", "end": "24:00"},
        weeklyLimit=51,
    )

    # then each mistake is named
    assert payload["center"] is None
    assert {(e["code"], e["field"]) for e in payload["userErrors"]} == {
        ("UNKNOWN_TOPIC", "topics[1].key"),
        ("TOPIC_REQUIRED", "topics[2].enabled"),
        ("INVALID_TIME", "quietHours.start"),
        ("INVALID_TIME", "quietHours.end"),
        ("WEEKLY_LIMIT_OUT_OF_RANGE", "weeklyLimit"),
    }
    # and the valid parts were not applied either
    center = (await run(CENTER, viewer=user))["subscriptionCenter"]
    assert by_key(center["topics"])["WIN_BACK"]["enabled"] is True
    assert center["quietHours"] == {"start": "22:00", "end": "08:00"}
    assert center["weeklyLimit"] == 5


async def test_a_negative_weekly_limit_is_refused(run: Run, user: User) -> None:
    # when
    payload = await update(run, user, weeklyLimit=-1)

    # then
    assert [e["code"] for e in payload["userErrors"]] == ["WEEKLY_LIMIT_OUT_OF_RANGE"]


async def test_the_limits_of_the_weekly_limit_are_accepted(run: Run, user: User) -> None:
    # when
    low = await update(run, user, weeklyLimit=0)
    high = await update(run, user, weeklyLimit=50)

    # then
    assert (low["userErrors"], high["userErrors"]) == ([], [])
    assert high["center"]["weeklyLimit"] == 50


async def test_an_empty_window_is_refused(run: Run, user: User) -> None:
    # when
    payload = await update(run, user, quietHours={"start": "08:00", "end": "08:00"})

    # then
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [
        ("EMPTY_QUIET_HOURS", "quietHours.end")
    ]


async def test_switching_the_exception_topic_on_is_allowed(run: Run, user: User) -> None:
    # when
    payload = await update(run, user, topics=[{"key": "ORDER_EXCEPTION", "enabled": True}])

    # then
    assert payload["userErrors"] == []


async def test_anonymous_callers_get_unauthenticated(run: Run) -> None:
    # when
    payload = await update(run, None, weeklyLimit=3)

    # then
    assert payload["center"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["UNAUTHENTICATED"]


async def test_one_users_preferences_do_not_touch_anothers(run: Run, user: User, other_user: User) -> None:
    # when
    await update(run, user, weeklyLimit=1, topics=[{"key": "WIN_BACK", "enabled": False}])

    # then
    center = (await run(CENTER, viewer=other_user))["subscriptionCenter"]
    assert center["weeklyLimit"] == 5
    assert by_key(center["topics"])["WIN_BACK"]["enabled"] is True


async def test_an_oversized_list_of_switches_is_refused(run: Run, user: User) -> None:
    # when
    payload = await update(run, user, topics=[{"key": "WIN_BACK", "enabled": False}] * 500)

    # then
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("TOO_MANY_TOPICS", "topics")]
    center = (await run(CENTER, viewer=user))["subscriptionCenter"]
    assert by_key(center["topics"])["WIN_BACK"]["enabled"] is True
