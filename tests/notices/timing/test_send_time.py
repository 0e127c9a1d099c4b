"""Best send time (bff/notices/timing/send_time.py and its hook in the planner).

Pure rules first (next-day bound, quiet hours, fallback, hour rules), then end to end: opens
recorded by ``record_notice_open`` → the planner defers a lifecycle notice to the user's best hour
through the policy (SCHEDULED, BEST_HOUR, send job deferred) → when it comes, it is queued.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from tortoise.context import TortoiseContext

from bff import constants
from bff.catalog.templates_file import load_templates_file
from bff.catalog.topics import TOPICS, Topic, TopicCategory
from bff.consent import ledger
from bff.consent.preferences import PreferencesUpdate, update_preferences
from bff.consent.preferences import QuietHours as QuietHoursSetting
from bff.models import Notice, NoticeStatus, User
from bff.notices.engagement import record_notice_open
from bff.notices.open_tokens import issue_open_token
from bff.notices.planner import NoticeContext, NoticeDraft, plan_drafts, reconsider
from bff.notices.policy import QuietHours
from bff.notices.reasons import Reason
from bff.notices.timing.profile import HOURS, estimate_profile
from bff.notices.timing.send_time import HourRule, HourRuleKind, SendTimeConfig, send_at, timed_topic
from bff.runtime.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
NIGHT = QuietHours(time(22, 0), time(8, 0), SHANGHAI)
REPLENISHMENT = "tmpl-replenishment-0001"
PAYMENT = "tmpl-order-payment-0001"
BUNDLED = load_templates_file()


def opens_at(**hours: int) -> list[int]:
    histogram = [0] * HOURS
    for name, count in hours.items():
        histogram[int(name.removeprefix("h"))] = count
    return histogram


def local(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=SHANGHAI)


EVENING_USER = estimate_profile(opens_at(h20=12), [0] * HOURS)
NO_PROFILE = estimate_profile([0] * HOURS, [0] * HOURS)


# ------------------------------------------------------------------------------------ the rule


def test_the_best_hour_later_today_is_chosen() -> None:
    assert send_at(DAY, SHANGHAI, EVENING_USER, NIGHT) == local(20, 20)


def test_a_best_hour_already_past_today_is_taken_tomorrow_within_the_next_day() -> None:
    # given a morning user at 10:00 (their 09:xx has passed)
    morning = estimate_profile(opens_at(h9=12), [0] * HOURS)

    # when
    when = send_at(DAY, SHANGHAI, morning, NIGHT)

    # then tomorrow 09:00, less than a day ahead
    assert when == local(21, 9)
    assert when is not None and timedelta(0) < when - DAY < timedelta(days=1)


def test_inside_the_best_hour_the_notice_goes_now() -> None:
    assert send_at(local(20, 20) + timedelta(minutes=40), SHANGHAI, EVENING_USER, NIGHT) is None


def test_a_best_hour_inside_quiet_hours_is_not_chosen() -> None:
    # given a user who opens at 23:xx (inside 22:00–08:00) and a little at 18:xx
    night_owl = estimate_profile(opens_at(h23=10, h18=2), [0] * HOURS)

    # when / then: the best hour outside quiet hours
    assert send_at(DAY, SHANGHAI, night_owl, NIGHT) == local(20, 18)
    # and without quiet hours their real best hour
    assert send_at(DAY, SHANGHAI, night_owl, None) == local(20, 23)


def test_without_a_profile_the_configured_fallback_applies_if_outside_quiet_hours() -> None:
    assert send_at(DAY, SHANGHAI, NO_PROFILE, NIGHT, config=SendTimeConfig(fallback_hour=19)) == local(20, 19)
    assert send_at(DAY, SHANGHAI, NO_PROFILE, NIGHT, config=SendTimeConfig(fallback_hour=23)) is None
    assert send_at(DAY, SHANGHAI, NO_PROFILE, NIGHT) is None  # no fallback: as soon as allowed


def test_hour_rules_of_experiment_variants() -> None:
    assert send_at(DAY, SHANGHAI, EVENING_USER, NIGHT, HourRule(HourRuleKind.NOW)) is None
    assert send_at(DAY, SHANGHAI, EVENING_USER, NIGHT, HourRule.parse(12)) == local(20, 12)
    assert send_at(DAY, SHANGHAI, EVENING_USER, NIGHT, HourRule.parse(3)) is None  # quiet: not timed
    assert send_at(DAY, SHANGHAI, EVENING_USER, NIGHT, config=SendTimeConfig(enabled=False)) is None
    with pytest.raises(ValueError, match="send_hour"):
        HourRule.parse("evening")


def test_only_lifecycle_and_member_topics_are_timed() -> None:
    timed = {topic for topic in TOPICS if timed_topic(topic)}
    assert timed == {
        t for t, info in TOPICS.items() if info.category in (TopicCategory.LIFECYCLE, TopicCategory.MEMBER)
    }
    assert Topic.NODE_OUTBOUND not in timed and Topic.ORDER_EXCEPTION not in timed


# ---------------------------------------------------------------------------------- end to end


async def opened_at_hours(user: User, secret: str, *hours: int) -> None:
    """Past notices the user opened at these local hours, recorded as the mini-program reports them."""
    for index, hour in enumerate(hours):
        when = local(10, hour) - timedelta(days=index)
        past = await Notice.create(
            user_id=user.id,
            topic=Topic.MAINTENANCE,
            template_id="tmpl-maintenance-0001",
            dedupe_key=f"past:{user.id}:{index}",
            priority=15,
            status=NoticeStatus.SENT,
            occurred_at=when,
            sent_at=when,
        )
        await record_notice_open(
            secret=secret,
            token=issue_open_token(secret, past.id),
            user_id=user.id,
            scene=1014,
            zone=SHANGHAI,
            now=when,
        )


def reminder(user: User) -> NoticeDraft:
    values = {"sku_name": "有机燕麦片 1kg", "run_out_date": "2026年12月05日", "sku_code": "SKU-OAT"}
    return NoticeDraft(
        user.id, Topic.REPLENISHMENT, f"user:{user.id}:SKU-OAT:1", DAY, DAY + timedelta(days=3), values
    )


async def test_a_lifecycle_notice_waits_for_the_users_best_hour_then_goes(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings
) -> None:
    # given a user who opened five notices at 20:xx and has a replenishment unit
    user = await User.create(openid="oBEST0000000000000000000001")
    await ledger.credit(user.id, REPLENISHMENT, 1)
    await opened_at_hours(user, settings.session_secret, 20, 20, 20, 21, 20)
    ctx = NoticeContext(templates=BUNDLED, zone=SHANGHAI, arq=arq_pool)

    # when a replenishment reminder is planned at 10:00
    await plan_drafts([reminder(user)], ctx, now=DAY.astimezone(UTC))

    # then it is scheduled for 20:00 today, through the policy's deferral, with its send job waiting
    # (deferred to 20:00; this test's 20:00 is in the past of the real clock, so it is queued now)
    row = await Notice.get(dedupe_key=f"user:{user.id}:SKU-OAT:1")
    assert (row.status, row.reason, row.scheduled_for) == (
        NoticeStatus.SCHEDULED,
        Reason.BEST_HOUR,
        local(20, 20),
    )
    assert await Job(f"{constants.SEND_JOB_ID_PREFIX}{row.id}", arq_pool).status() in (
        JobStatus.deferred,
        JobStatus.queued,
    )

    # when 20:00 comes and the send job puts it to the policy again
    await reconsider(row, local(20, 20).astimezone(UTC))

    # then it is queued (not deferred a second time), its unit untouched until the send
    await row.refresh_from_db()
    assert (row.status, row.reason) == (NoticeStatus.QUEUED, None)


async def test_quiet_hours_come_first_and_the_best_hour_is_outside_them(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings
) -> None:
    # given a user who opens mostly at 20:xx, some at 17:xx, with quiet hours 19:00–22:00
    user = await User.create(openid="oBEST0000000000000000000002")
    await ledger.credit(user.id, REPLENISHMENT, 1)
    await opened_at_hours(user, settings.session_secret, 20, 20, 20, 20, 17, 17)
    await update_preferences(
        user.id, PreferencesUpdate(quiet_hours=QuietHoursSetting(start="19:00", end="22:00"))
    )
    ctx = NoticeContext(templates=BUNDLED, zone=SHANGHAI, arq=arq_pool)

    # when the reminder is planned at 10:00
    await plan_drafts([reminder(user)], ctx, now=DAY.astimezone(UTC))

    # then it waits for 17:00, the best hour they can be reached at
    row = await Notice.get(dedupe_key=f"user:{user.id}:SKU-OAT:1")
    assert (row.status, row.reason, row.scheduled_for) == (
        NoticeStatus.SCHEDULED,
        Reason.BEST_HOUR,
        local(20, 17),
    )


async def test_order_notices_are_never_timed(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings
) -> None:
    # given an evening user with a unit of the payment template
    user = await User.create(openid="oBEST0000000000000000000003")
    await ledger.credit(user.id, PAYMENT, 1)
    await opened_at_hours(user, settings.session_secret, 20, 20, 20)
    ctx = NoticeContext(templates=BUNDLED, zone=SHANGHAI, arq=arq_pool)

    # when an order-paid notice is planned at 10:00
    values = {"order_no": "SO1", "amount": "¥1.00", "progress": "支付成功", "occurred_at": "x"}
    draft = NoticeDraft(
        user.id, Topic.ORDER_PAID, "order:SO1:ORDER_PAID", DAY, DAY + timedelta(days=1), values, "SO1"
    )
    await plan_drafts([draft], ctx, now=DAY.astimezone(UTC))

    # then it is queued at once
    row = await Notice.get(dedupe_key="order:SO1:ORDER_PAID")
    assert (row.status, row.scheduled_for) == (NoticeStatus.QUEUED, None)


async def test_without_any_opens_the_configured_fallback_hour_is_used(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a user nobody knows anything about, and a fallback of 19:00
    user = await User.create(openid="oBEST0000000000000000000004")
    await ledger.credit(user.id, REPLENISHMENT, 1)
    ctx = NoticeContext(
        templates=BUNDLED, zone=SHANGHAI, arq=arq_pool, send_time=SendTimeConfig(fallback_hour=19)
    )

    # when the reminder is planned at 10:00
    await plan_drafts([reminder(user)], ctx, now=DAY.astimezone(UTC))

    # then it waits for 19:00
    row = await Notice.get(dedupe_key=f"user:{user.id}:SKU-OAT:1")
    assert (row.status, row.reason, row.scheduled_for) == (
        NoticeStatus.SCHEDULED,
        Reason.BEST_HOUR,
        local(20, 19),
    )


async def test_a_notice_planned_at_night_waits_for_quiet_hours_then_for_its_best_hour(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings
) -> None:
    # given an evening user (default quiet hours 22:00–08:00) and a reminder planned at 23:30
    user = await User.create(openid="oBEST0000000000000000000005")
    await ledger.credit(user.id, REPLENISHMENT, 1)
    await opened_at_hours(user, settings.session_secret, 20, 20, 20, 20)
    ctx = NoticeContext(templates=BUNDLED, zone=SHANGHAI, arq=arq_pool)
    await plan_drafts([reminder(user)], ctx, now=(local(20, 23) + timedelta(minutes=30)).astimezone(UTC))
    row = await Notice.get(dedupe_key=f"user:{user.id}:SKU-OAT:1")

    # then quiet hours defer it to 08:00 first
    assert (row.status, row.reason, row.scheduled_for) == (
        NoticeStatus.SCHEDULED,
        Reason.QUIET_HOURS,
        local(21, 8),
    )

    # when 08:00 comes, then it waits for 20:00
    await reconsider(row, local(21, 8).astimezone(UTC))
    await row.refresh_from_db()
    assert (row.status, row.reason, row.scheduled_for) == (
        NoticeStatus.SCHEDULED,
        Reason.BEST_HOUR,
        local(21, 20),
    )

    # when 20:00 comes, then it is queued
    await reconsider(row, local(21, 20).astimezone(UTC))
    await row.refresh_from_db()
    assert row.status is NoticeStatus.QUEUED


async def test_a_notice_that_would_expire_before_its_best_hour_goes_now(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings
) -> None:
    # given an evening user and a reminder that expires at 15:00
    user = await User.create(openid="oBEST0000000000000000000006")
    await ledger.credit(user.id, REPLENISHMENT, 1)
    await opened_at_hours(user, settings.session_secret, 20, 20, 20, 20)
    ctx = NoticeContext(templates=BUNDLED, zone=SHANGHAI, arq=arq_pool)
    draft = reminder(user)
    short = NoticeDraft(draft.user_id, draft.topic, draft.dedupe_key, DAY, local(20, 15), draft.values)

    # when it is planned at 10:00
    await plan_drafts([short], ctx, now=DAY.astimezone(UTC))

    # then it is queued at once rather than left to expire at 15:00
    row = await Notice.get(dedupe_key=draft.dedupe_key)
    assert (row.status, row.scheduled_for) == (NoticeStatus.QUEUED, None)
