"""The replenishment and maintenance scans: due rows planned once through the notice engine, in
bounded batches that resume from a cursor after a crash; the same policy as every notice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic
from bff.consent import ledger
from bff.consent.preferences import PreferencesUpdate, update_preferences
from bff.lifecycle import scans
from bff.lifecycle.scans import (
    REPLENISHMENT,
    run_full_pass,
    scan_cursor,
    scan_maintenance,
    scan_replenishment,
)
from bff.models import Notice, NoticeStatus, Replenishment, ReplenishmentStatus, User
from bff.notices.planner import NoticeContext
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from tests.lifecycle.world import KETTLE, TEA, buy, days, describe_skus, feed, kettle, tea

REPLENISHMENT_TEMPLATE = "tmpl-replenishment-0001"
MAINTENANCE_TEMPLATE = "tmpl-maintenance-0001"
# Tea delivered on day 2 (10:00 Beijing) lasts 30 days: reminded on day 28 at 10:00, outside quiet hours.
REMIND_DAY = days(28)


@pytest.fixture
def ctx(settings: Settings, arq_pool: ArqRedis) -> NoticeContext:
    return NoticeContext.from_settings(settings, arq_pool)


async def customer(n: int, *, units: int = 2) -> User:
    user = await User.create(openid=f"oLIFE_scan_{n:016d}")
    await ledger.credit(user.id, REPLENISHMENT_TEMPLATE, units)
    await ledger.credit(user.id, MAINTENANCE_TEMPLATE, units)
    return user


async def tea_buyer(n: int, **kwargs: Any) -> User:
    user = await customer(n, **kwargs)
    await buy(f"SO-SCAN-{n}", user.openid, days(0), [tea(1)])
    return user


async def reminders() -> list[Notice]:
    return await Notice.filter(topic=Topic.REPLENISHMENT).order_by("user_id")


@pytest.fixture
async def skus(db: TortoiseContext) -> None:
    await describe_skus()


async def test_a_due_reminder_is_planned_once_and_queued(
    skus: None, ctx: NoticeContext, arq_pool: ArqRedis
) -> None:
    # given a tea whose reminder day is day 28
    user = await tea_buyer(1)

    # when the scan runs the day before, nothing is due
    early = await run_full_pass(REPLENISHMENT, ctx, arq_pool, as_of=REMIND_DAY - timedelta(days=1))
    assert early.planned == 0 and await reminders() == []

    # when it runs on the day
    report = await run_full_pass(REPLENISHMENT, ctx, arq_pool, as_of=REMIND_DAY + timedelta(hours=1))

    # then one reminder is queued for sending, and the replenishment is DUE
    (notice,) = await reminders()
    assert report.planned == 1 and notice.user_id == user.id and notice.status is NoticeStatus.QUEUED
    assert notice.dedupe_key == f"replenishment:{user.id}:1:0:{TEA}"
    assert notice.values == {"sku_code": TEA, "sku_name": "龙井茶", "run_out_date": "2026年12月04日"}
    assert (await Replenishment.get(user_id=user.id)).status is ReplenishmentStatus.DUE
    assert await arq_pool.queued_jobs()

    # and running it twice plans nothing new
    again = await run_full_pass(REPLENISHMENT, ctx, arq_pool, as_of=REMIND_DAY + timedelta(hours=2))
    assert again.planned == 0 and len(await reminders()) == 1


async def test_a_user_who_ordered_again_is_not_reminded(
    skus: None, ctx: NoticeContext, arq_pool: ArqRedis
) -> None:
    # given a tea buyer who placed a new tea order on day 25, not delivered yet
    user = await tea_buyer(2)
    await feed(b.placed("SO-AGAIN", user.openid, days(25), items=[tea(1)]))

    # when the scan runs on the reminder day
    await run_full_pass(REPLENISHMENT, ctx, arq_pool, as_of=REMIND_DAY + timedelta(hours=1))

    # then nothing is planned
    assert await reminders() == []


async def test_a_snoozed_reminder_is_planned_on_the_new_day_in_a_new_round(
    skus: None, ctx: NoticeContext, arq_pool: ArqRedis
) -> None:
    from bff.lifecycle.actions import snooze

    user = await tea_buyer(3)
    await snooze(user.id, TEA, 5, now=REMIND_DAY - timedelta(days=1))

    await run_full_pass(REPLENISHMENT, ctx, arq_pool, as_of=REMIND_DAY + timedelta(hours=1))
    assert await reminders() == []

    await run_full_pass(REPLENISHMENT, ctx, arq_pool, as_of=REMIND_DAY + timedelta(days=4, hours=1))
    (notice,) = await reminders()
    assert notice.dedupe_key == f"replenishment:{user.id}:1:1:{TEA}"


async def test_lifecycle_reminders_follow_the_weekly_limit_and_quiet_hours(
    skus: None, ctx: NoticeContext, arq_pool: ArqRedis
) -> None:
    # given one user with a weekly limit of 0 and one with the default quiet hours (22:00–08:00)
    limited = await tea_buyer(4)
    await update_preferences(limited.id, PreferencesUpdate(weekly_limit=0))
    sleeper = await tea_buyer(5)

    # when the scan runs at 23:00 Beijing time on the reminder day
    await run_full_pass(REPLENISHMENT, ctx, arq_pool, as_of=REMIND_DAY + timedelta(hours=13))

    # then the limited user's reminder is suppressed and the other waits for the morning
    rows = {n.user_id: (n.status, n.reason) for n in await reminders()}
    assert rows == {
        limited.id: (NoticeStatus.SUPPRESSED, "WEEKLY_LIMIT"),
        sleeper.id: (NoticeStatus.SCHEDULED, "QUIET_HOURS"),
    }


async def test_a_scan_killed_mid_pass_resumes_from_its_cursor_and_plans_each_reminder_once(
    skus: None, ctx: NoticeContext, arq_pool: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given five users whose tea reminders are due
    users = [await tea_buyer(10 + n) for n in range(5)]
    as_of = REMIND_DAY + timedelta(hours=1)

    # when the worker dies while planning the second batch of two users
    real_plan = scans.plan_drafts
    calls = 0

    async def dying_plan(drafts: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("worker killed")
        return await real_plan(drafts, *args, **kwargs)

    monkeypatch.setattr(scans, "plan_drafts", dying_plan)
    with pytest.raises(RuntimeError):
        await scan_replenishment(ctx, arq_pool, as_of=as_of, batch_rows=2)

    # then the cursor stands after the first batch
    assert await scan_cursor(arq_pool, REPLENISHMENT).load() == users[1].id
    assert len(await reminders()) == 2

    # when the next run goes on (bounded: one batch per run)
    monkeypatch.setattr(scans, "plan_drafts", real_plan)
    first = await scan_replenishment(ctx, arq_pool, as_of=as_of, batch_rows=2, max_batches=1)
    assert not first.finished and first.users == 2
    rest = await scan_replenishment(ctx, arq_pool, as_of=as_of, batch_rows=2)

    # then every user got exactly one reminder and the pass is over
    assert rest.finished
    assert [n.user_id for n in await reminders()] == [u.id for u in users]
    assert await scan_cursor(arq_pool, REPLENISHMENT).load() == 0


async def test_maintenance_is_planned_once_when_it_falls_due(
    skus: None, ctx: NoticeContext, arq_pool: ArqRedis
) -> None:
    # given a kettle delivered on day 2 (descaling after 90 days, filter after 365)
    user = await customer(20)
    await buy("SO-KETTLE", user.openid, days(0), [kettle()])

    # when the scan runs the day it falls due (day 92), then again the next day
    first = await scan_maintenance(ctx, arq_pool, as_of=days(92) + timedelta(hours=1))
    second = await scan_maintenance(ctx, arq_pool, as_of=days(93) + timedelta(hours=1))

    # then one descaling notice was planned
    (notice,) = await Notice.filter(topic=Topic.MAINTENANCE)
    assert first.planned == 1 and second.planned == 0
    assert notice.values == {
        "sku_code": KETTLE,
        "sku_name": "电热水壶",
        "note": "除垢保养",
        "remind_date": "2027年02月02日",
    }
    assert notice.status is NoticeStatus.QUEUED

    # and a scan long after the grace period plans nothing for it
    late = await scan_maintenance(ctx, arq_pool, as_of=days(200))
    assert late.planned == 0


def test_the_worker_runs_both_scans_as_cron_jobs() -> None:
    from bff import constants
    from tasks.worker import WorkerSettings

    names = {job.name for job in WorkerSettings.cron_jobs}
    assert {constants.JOB_SCAN_REPLENISHMENT, constants.JOB_SCAN_MAINTENANCE} <= names
