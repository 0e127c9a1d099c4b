"""A planned reminder is checked again when it is sent: bought again since? dismissed? snoozed?
Then it is not sent and no consent unit is spent. Sent, the replenishment is REMINDED."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic
from bff.consent import ledger
from bff.consent.preferences import PreferencesUpdate, update_preferences
from bff.lifecycle import actions
from bff.lifecycle.scans import MAINTENANCE, REPLENISHMENT, run_full_pass
from bff.models import Notice, NoticeStatus, Replenishment, ReplenishmentStatus, User
from bff.notices.planner import NoticeContext
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from tests.lifecycle.world import TEA, buy, describe_skus, feed, kettle, tea
from tests.notices.send_fixtures import FakeClient, make_sender

TEMPLATE = "tmpl-replenishment-0001"
NOW = datetime.now(UTC)


@pytest.fixture
async def user(db: TortoiseContext) -> User:
    await describe_skus()
    user = await User.create(openid="oLIFE_recheck_00000000000001")
    await ledger.credit(user.id, TEMPLATE, 1)
    await ledger.credit(user.id, "tmpl-maintenance-0001", 1)
    await update_preferences(user.id, PreferencesUpdate(quiet_hours=None))
    # a tea delivered 28 days ago: its reminder day was two days ago
    await buy("SO-RC-1", user.openid, NOW - timedelta(days=30), [tea(1)])
    return user


async def planned_reminder(settings: Settings, arq_pool: ArqRedis) -> Notice:
    ctx = NoticeContext.from_settings(settings, arq_pool)
    await run_full_pass(REPLENISHMENT, ctx, arq_pool, as_of=NOW)
    (notice,) = await Notice.filter(topic=Topic.REPLENISHMENT)
    assert notice.status is NoticeStatus.QUEUED
    return notice


async def snoozed(user: User) -> None:
    await actions.snooze(user.id, TEA, 3, now=datetime.now(UTC))


async def dismissed(user: User) -> None:
    await actions.dismiss(user.id, TEA, now=datetime.now(UTC))


async def ordered_again(user: User) -> None:
    await feed(b.placed("SO-RC-2", user.openid, datetime.now(UTC) - timedelta(minutes=5), items=[tea(1)]))


async def delivered_again(user: User) -> None:
    await buy(
        "SO-RC-3",
        user.openid,
        datetime.now(UTC) - timedelta(days=1),
        [tea(1)],
        delivered_after=timedelta(hours=1),
    )


async def cycle_changed(user: User) -> None:
    await actions.set_cycle(user.id, TEA, 29, now=datetime.now(UTC))


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (snoozed, "SNOOZED"),
        (dismissed, "DISMISSED"),
        (ordered_again, "BOUGHT_AGAIN"),
        (delivered_again, "BOUGHT_AGAIN"),
        (cycle_changed, "CYCLE_CHANGED"),
    ],
    ids=["snoozed", "dismissed", "ordered-again", "delivered-again", "cycle-changed"],
)
async def test_a_reminder_the_user_made_stale_is_not_sent(
    user: User,
    settings: Settings,
    arq_pool: ArqRedis,
    answer: Callable[[User], Awaitable[None]],
    reason: str,
) -> None:
    # given a queued reminder
    notice = await planned_reminder(settings, arq_pool)

    # when the user answers before it is sent, then the send job runs
    await answer(user)
    client = FakeClient()
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then WeChat is not called, the reason is kept and the unit is still there
    assert client.calls == []
    assert (outcome.status, outcome.reason) == (NoticeStatus.SUPPRESSED, reason)
    assert await ledger.remaining(user.id, TEMPLATE) == 1


async def test_a_reminder_still_wanted_is_sent_and_marks_the_replenishment_reminded(
    user: User, settings: Settings, arq_pool: ArqRedis
) -> None:
    notice = await planned_reminder(settings, arq_pool)
    client = FakeClient()

    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    assert outcome.status is NoticeStatus.SENT
    (call,) = client.calls
    assert call.template_id == TEMPLATE and call.data["thing1"] == "龙井茶"
    row = await Replenishment.get(user_id=user.id)
    assert row.status is ReplenishmentStatus.REMINDED and row.reminded_at is not None
    assert await ledger.remaining(user.id, TEMPLATE) == 0


async def test_a_maintenance_notice_is_not_sent_after_the_product_was_delivered_again(
    user: User, settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a kettle delivered 91 days ago whose descaling notice is queued
    await buy("SO-RC-K1", user.openid, NOW - timedelta(days=93), [kettle()])
    ctx = NoticeContext.from_settings(settings, arq_pool)
    await run_full_pass(MAINTENANCE, ctx, arq_pool, as_of=NOW)
    (notice,) = await Notice.filter(topic=Topic.MAINTENANCE)

    # when a new kettle is delivered before it is sent
    await buy(
        "SO-RC-K2", user.openid, NOW - timedelta(days=1), [kettle()], delivered_after=timedelta(hours=1)
    )
    client = FakeClient()
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then it is not sent: maintenance counts from the new delivery
    assert client.calls == [] and outcome.reason == "NEWER_DELIVERY"
