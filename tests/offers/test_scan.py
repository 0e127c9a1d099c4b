"""The offers scan (bff/offers/scan.py): one notice per user × offer period, through the engine."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff import constants
from bff.catalog.templates_file import loads_templates_file
from bff.catalog.topics import Topic
from bff.consent import ledger
from bff.consent.preferences import PreferencesUpdate, update_preferences
from bff.inbound.supply_chain import ingest_body
from bff.models import Notice, NoticeStatus, Sku, User
from bff.notices.planner import PlanReport, decide_notices, plan_drafts, plan_event
from bff.notices.reasons import Reason
from bff.offers import scan as scan_module
from bff.offers.rules import OwnedStage, UserLifecycle
from bff.offers.scan import run_full_pass, scan_offers
from bff.supply_chain import builders as b
from tests.offers.world import (
    MEMBER_TEMPLATE,
    OFFER_TEMPLATE,
    SHANGHAI,
    FixedLifecycle,
    context,
    member,
    openid,
)
from tests.querycount import count_queries

MEMBER_DAY = datetime(2026, 12, 18, 10, 0, tzinfo=SHANGHAI)  # the default member day, outside quiet hours
NIGHT = datetime(2026, 12, 18, 23, 30, tzinfo=SHANGHAI)
BEFORE = MEMBER_DAY - timedelta(days=30)


async def offer_notices() -> list[Notice]:
    return await Notice.filter(dedupe_key__startswith="offer:").order_by("user_id", "dedupe_key")


async def test_a_scan_plans_one_notice_per_offer_and_a_second_run_plans_nothing_new(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given five members with units of the member-benefit template, on the member day
    users = [await member(n, at=BEFORE, points=100 + n) for n in range(5)]
    for user in users:
        await ledger.credit(user.id, MEMBER_TEMPLATE, 2)
    ctx = context(arq_pool)

    # when the scan runs a full pass, twice
    first = await run_full_pass(ctx, arq_pool, as_of=MEMBER_DAY, batch_users=2)
    second = await run_full_pass(ctx, arq_pool, as_of=MEMBER_DAY, batch_users=2)

    # then each member got one MEMBER_BENEFIT notice, queued, with the offer's values; the second
    # pass saw the same offers and planned nothing
    assert (first.offers, first.planned, second.offers, second.planned) == (5, 5, 5, 0)
    rows = await offer_notices()
    assert [(n.user_id, n.topic, n.status) for n in rows] == [  # type: ignore[attr-defined]
        (u.id, Topic.MEMBER_BENEFIT, NoticeStatus.QUEUED) for u in users
    ]
    assert rows[0].dedupe_key == f"offer:{users[0].id}:MEMBER_DAY:2026-12"
    assert rows[0].values == {
        "offer_title": "会员日专享优惠",
        "note": "12月18日会员日，全场会员专享折扣，当天有效。",
        "expires_at": "2026年12月18日",
        "points": "100",
    }
    assert rows[0].expires_at == datetime(2026, 12, 19, tzinfo=SHANGHAI)


async def test_a_new_offer_period_gets_its_own_notice(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given a member with units
    user = await member(1, at=BEFORE)
    await ledger.credit(user.id, MEMBER_TEMPLATE, 5)
    ctx = context(arq_pool)

    # when the scan runs on December's member day, on the next day, and on January's member day
    for moment in (MEMBER_DAY, MEMBER_DAY + timedelta(days=1), datetime(2027, 1, 18, 10, tzinfo=SHANGHAI)):
        await run_full_pass(ctx, arq_pool, as_of=moment)

    # then there is one notice per month, none for the day after
    assert [n.dedupe_key for n in await offer_notices()] == [
        f"offer:{user.id}:MEMBER_DAY:2026-12",
        f"offer:{user.id}:MEMBER_DAY:2027-01",
    ]


async def test_a_scan_killed_mid_batch_resumes_from_its_cursor_and_plans_each_notice_once(
    db: TortoiseContext, arq_pool: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given five members with units, and a worker that dies after planning the second batch
    # (its notices are written, its cursor move is not)
    users = [await member(n, at=BEFORE) for n in range(5)]
    for user in users:
        await ledger.credit(user.id, MEMBER_TEMPLATE, 1)
    ctx = context(arq_pool)
    real_plan = scan_module.plan_drafts  # type: ignore[attr-defined]
    calls = 0

    async def dies_after_second_batch(*args: Any, **kwargs: Any) -> PlanReport:
        nonlocal calls
        calls += 1
        report = await real_plan(*args, **kwargs)
        if calls == 2:
            raise RuntimeError("worker killed")
        return report

    monkeypatch.setattr(scan_module, "plan_drafts", dies_after_second_batch)
    with pytest.raises(RuntimeError, match="worker killed"):
        await scan_offers(ctx, arq_pool, as_of=MEMBER_DAY, batch_users=2)
    assert await arq_pool.get(constants.OFFERS_SCAN_CURSOR_KEY) == str(users[1].id).encode()
    assert len(await offer_notices()) == 4
    monkeypatch.setattr(scan_module, "plan_drafts", real_plan)

    # when the next run comes
    resumed = await scan_offers(ctx, arq_pool, as_of=MEMBER_DAY, batch_users=2)

    # then it goes on after the last finished batch (users 3 to 5), redoes the killed batch
    # without doubling it, and every member has exactly one notice
    assert (resumed.users, resumed.planned, resumed.finished) == (3, 1, True)
    assert [n.user_id for n in await offer_notices()] == [u.id for u in users]  # type: ignore[attr-defined]
    assert await arq_pool.get(constants.OFFERS_SCAN_CURSOR_KEY) is None


async def test_a_run_out_of_batches_leaves_the_rest_to_the_next_run(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    users = [await member(n, at=BEFORE) for n in range(3)]
    ctx = context(arq_pool)
    first = await scan_offers(ctx, arq_pool, as_of=MEMBER_DAY, batch_users=1, max_batches=2)
    second = await scan_offers(ctx, arq_pool, as_of=MEMBER_DAY, batch_users=1, max_batches=2)
    assert (first.users, first.finished, second.users, second.finished) == (2, False, 1, True)
    assert len(await offer_notices()) == len(users)


async def test_offer_notices_obey_the_weekly_limit_and_quiet_hours(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a member at their weekly limit (1, with a lifecycle notice sent yesterday) and another
    limited = await member(1, at=BEFORE)
    other = await member(2, at=BEFORE)
    for user in (limited, other):
        await ledger.credit(user.id, MEMBER_TEMPLATE, 2)
    await update_preferences(limited.id, PreferencesUpdate(weekly_limit=1))
    await Notice.create(
        user_id=limited.id,
        topic=Topic.REPLENISHMENT,
        template_id="tmpl-replenishment-0001",
        dedupe_key="sent-yesterday",
        priority=20,
        status=NoticeStatus.SENT,
        occurred_at=NIGHT - timedelta(days=1),
        sent_at=NIGHT - timedelta(days=1),
    )

    # when the scan runs at 23:30 on the member day (inside the default quiet hours 22:00–08:00)
    await run_full_pass(context(arq_pool), arq_pool, as_of=NIGHT)

    # then the limited member's offer is suppressed, the other's waits for the morning
    rows = {n.user_id: n for n in await offer_notices()}  # type: ignore[attr-defined]
    assert (rows[limited.id].status, rows[limited.id].reason) == (
        NoticeStatus.SUPPRESSED,
        Reason.WEEKLY_LIMIT,
    )
    assert (rows[other.id].status, rows[other.id].reason) == (NoticeStatus.SCHEDULED, Reason.QUIET_HOURS)
    assert rows[other.id].scheduled_for == datetime(2026, 12, 19, 8, 0, tzinfo=SHANGHAI)
    # and the morning is past the member day: the offer has expired by then
    assert rows[other.id].expires_at == datetime(2026, 12, 19, tzinfo=SHANGHAI)


# An offer topic sharing one template (and so its consent units) with the order-progress topics.
SHARED = loads_templates_file(
    """
[[template]]
template_id = "tmpl-shared"
title = "通知"
type = 2
content = "名称:{{thing1.DATA}}\\n"
topics = ["NODE_OUTBOUND", "NODE_TRUNK_TRANSIT", "NODE_COURIER_ACCEPTED", "NODE_OUT_FOR_DELIVERY",
          "NODE_DELIVERED", "RECEIPT_CONFIRM", "MEMBER_BENEFIT"]
page = "pages/index?n={open_token}"
[template.data]
thing1 = "{note}"
"""
)


async def test_an_offer_never_takes_the_unit_an_order_notice_ahead_needs(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a member with a paid stock order on its way and ONE unit of the template both share
    ctx = context(arq_pool, SHARED)
    placed_at = MEMBER_DAY - timedelta(hours=5)
    await ingest_body(
        b.body(
            b.placed("SO1", openid(1), placed_at),
            b.paid("SO1", placed_at),
            b.member_upsert(openid(1), BEFORE, points=100),
        )
    )
    user = await User.get(openid=openid(1))
    await ledger.credit(user.id, "tmpl-shared", 1)

    # when the offers scan runs, and then the parcel goes out for delivery
    await run_full_pass(ctx, arq_pool, as_of=MEMBER_DAY)
    result = await ingest_body(b.body(b.node("SO1", "OUT_FOR_DELIVERY", MEMBER_DAY + timedelta(minutes=5))))
    for plan in result.plans:
        await plan_event(plan.event_row_id, ctx, now=MEMBER_DAY + timedelta(minutes=5))

    # then the offer kept the unit for the order's notices, and the order notice got it
    (offer,) = await offer_notices()
    assert (offer.status, offer.reason) == (NoticeStatus.SUPPRESSED, Reason.SAVED_FOR_HIGHER_PRIORITY)
    delivery = await Notice.get(topic=Topic.NODE_OUT_FOR_DELIVERY)
    assert (delivery.status, delivery.reason) == (NoticeStatus.QUEUED, None)


async def test_an_order_notice_planned_with_an_offer_gets_the_unit_first(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a member with one unit of the shared template, a delivered-node notice planned (not
    # decided yet) and the member-day offer being planned at the same moment
    ctx = context(arq_pool, SHARED)
    user = await member(1, at=BEFORE)
    await ledger.credit(user.id, "tmpl-shared", 1)
    await Notice.create(
        user_id=user.id,
        topic=Topic.NODE_DELIVERED,
        template_id="tmpl-shared",
        dedupe_key="order:SO9:NODE_DELIVERED:DELIVERED",
        priority=80,
        status=NoticeStatus.PLANNED,
        values={"note": "已签收"},
        occurred_at=MEMBER_DAY,
    )
    drafts = [scan_module.offer_draft(o, SHANGHAI) for o in await _offers_of(user.id)]
    planned = await Notice.filter(status=NoticeStatus.PLANNED)

    # when the offer is planned first, then the order notice is decided
    await plan_drafts(drafts, ctx, now=MEMBER_DAY)
    await decide_notices(planned, ctx, now=MEMBER_DAY)

    # then the offer saw the order notice waiting and left it the unit
    rows = {n.topic: n for n in await Notice.all()}
    assert rows[Topic.NODE_DELIVERED].status is NoticeStatus.QUEUED
    offer = rows[Topic.MEMBER_BENEFIT]
    assert (offer.status, offer.reason) == (NoticeStatus.SUPPRESSED, Reason.SAVED_FOR_HIGHER_PRIORITY)


async def _offers_of(user_id: int) -> list[Any]:
    from bff.offers.store import offers_of

    return await offers_of(user_id, now=MEMBER_DAY, zone=SHANGHAI, redis=_NO_REDIS)


class _NoStats:
    """Redis without co-purchase stats (offers_of reads only the current pass number)."""

    async def get(self, key: str) -> None:
        return None


_NO_REDIS: Any = _NoStats()


async def test_renewal_and_win_back_offers_go_out_on_their_topics_with_the_recommended_product(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a member whose water purifier entered RENEWAL yesterday, and a dormant member; both have
    # units of the offer template, and the catalogue knows the successor model
    renewing = await member(1, at=BEFORE)
    dormant = await member(2, at=BEFORE)
    for user in (renewing, dormant):
        await ledger.credit(user.id, OFFER_TEMPLATE, 2)
    for code, name in (("SKU-A1", "净水器 A1"), ("SKU-A2", "净水器 A2")):
        await Sku.create(sku_code=code, name=name, category="净水", source_occurred_at=BEFORE)
    await _stats(arq_pool, {"SKU-A1": {"SKU-A2": 4}}, {"SKU-A1": 5, "SKU-A2": 4})
    since = MEMBER_DAY - timedelta(days=1)
    source = FixedLifecycle(
        {
            renewing.id: UserLifecycle(
                owned=(
                    OwnedStage("SKU-A1", "净水器 A1", "净水", "RENEWAL", since, since - timedelta(days=700)),
                )
            ),
            dormant.id: UserLifecycle(dormant_since=since),
        }
    )

    # when the scan runs (a day after the member day: only the lifecycle offers are valid)
    await run_full_pass(context(arq_pool), arq_pool, as_of=MEMBER_DAY + timedelta(days=1), source=source)

    # then one RENEWAL_OFFER (an upgrade to A2) and one WIN_BACK notice are queued
    rows = {n.user_id: n for n in await offer_notices()}  # type: ignore[attr-defined]
    assert (rows[renewing.id].topic, rows[renewing.id].status) == (Topic.RENEWAL_OFFER, NoticeStatus.QUEUED)
    assert rows[renewing.id].values["offer_title"] == "升级换新优惠"
    assert rows[renewing.id].values["recommended_sku"] == "SKU-A2"
    assert rows[renewing.id].dedupe_key.startswith(f"offer:{renewing.id}:UPGRADE:")
    assert (rows[dormant.id].topic, rows[dormant.id].status) == (Topic.WIN_BACK, NoticeStatus.QUEUED)


async def _stats(redis: ArqRedis, nexts: dict[str, dict[str, int]], buyers: dict[str, int]) -> None:
    """A complete co-purchase pass, as refresh_co_purchase writes it."""
    key = constants.COPURCHASE_KEY
    await redis.hset(f"{key}:1:buyers", mapping=buyers)  # type: ignore[misc]
    for sku, counts in nexts.items():
        await redis.hset(f"{key}:1:next:{sku}", mapping=counts)  # type: ignore[misc]
    await redis.set(f"{key}:current", 1)


async def test_a_batch_costs_the_same_statements_for_3_or_30_users(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given 3 members, then 30 members, each with units, on the member day
    ctx = context(arq_pool)
    small = [await member(n, at=BEFORE) for n in range(3)]
    large = [await member(n, at=BEFORE) for n in range(100, 130)]
    for user in small + large:
        await ledger.credit(user.id, MEMBER_TEMPLATE, 1)

    # when each group is scanned as one batch
    with count_queries() as small_statements:
        await scan_offers(ctx, arq_pool, as_of=MEMBER_DAY, batch_users=3, max_batches=1)
    with count_queries() as large_statements:
        await scan_offers(ctx, arq_pool, as_of=MEMBER_DAY, batch_users=30, max_batches=1)

    # then ten times the users cost no more statements
    assert len(await offer_notices()) == 33
    assert len(large_statements) == len(small_statements)
