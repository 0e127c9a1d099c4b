"""Planning (bff/notices/planner.py): supply-chain events → notice rows → the policy's decisions.

Orders are built the way the supply chain builds them: webhook bodies fed to ingestion.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from arq import func
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from tortoise.context import TortoiseContext

from bff import constants
from bff.catalog.templates_file import TemplatesFile, load_templates_file, loads_templates_file
from bff.catalog.topics import TOPICS, Topic, TopicCategory
from bff.consent import ledger
from bff.consent.preferences import PreferencesUpdate, TopicSwitch, set_main_switch, update_preferences
from bff.inbound.supply_chain import ingest_body
from bff.models import Notice, NoticeStatus, User
from bff.notices.facts import load_user_facts
from bff.notices.planner import NoticeContext, NoticeDraft, PlanReport, plan_drafts, plan_event, reconsider
from bff.notices.reasons import Reason
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from tests.conftest import WorkerFactory
from tests.notices.send_fixtures import FakeClient, make_sender
from tests.querycount import count_queries

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)  # outside the default quiet hours 22:00–08:00
NIGHT = datetime(2026, 11, 20, 23, 30, tzinfo=SHANGHAI)
PAYMENT = "tmpl-order-payment-0001"
SHIPPING = "tmpl-order-shipping-0001"
DELIVERY = "tmpl-order-delivery-0001"
RECEIPT = "tmpl-receipt-confirm-0001"
EXCEPTION = "tmpl-order-exception-0001"
SLOT = "tmpl-delivery-slot-0001"
REPLENISHMENT = "tmpl-replenishment-0001"
BUNDLED = load_templates_file()


def context(arq: ArqRedis | None, templates: TemplatesFile = BUNDLED, chunk: int = 500) -> NoticeContext:
    return NoticeContext(templates=templates, zone=SHANGHAI, arq=arq, chunk=chunk)


async def feed(ctx: NoticeContext, *events: dict[str, object], now: datetime = DAY) -> PlanReport:
    """Ingest a webhook body and run the planning jobs it hands over (as the worker would)."""
    result = await ingest_body(b.body(*events))
    report = PlanReport()
    for plan in result.plans:
        step = await plan_event(plan.event_row_id, ctx, order_id=plan.order_id, now=now.astimezone(UTC))
        report.created += step.created
        report.decided.update(step.decided)
    return report


async def paid_order(
    ctx: NoticeContext, order_no: str, openid: str, *, presale: bool = False, warehouse: str = "杭州仓"
) -> User:
    placed_at = DAY - timedelta(hours=6)
    await feed(
        ctx,
        b.placed(order_no, openid, placed_at, presale=presale, warehouse=warehouse),
        b.paid(order_no, placed_at + timedelta(minutes=5)),
    )
    return await User.get(openid=openid)


async def notice(topic: Topic, order_no: str = "SO1") -> Notice:
    return await Notice.get(topic=topic, order_no=order_no)


async def send_job(arq: ArqRedis, notice_id: int) -> JobStatus:
    return await Job(f"{constants.SEND_JOB_ID_PREFIX}{notice_id}", arq).status()


async def sent(row: Notice) -> None:
    """What the send job does for a queued notice: spend its unit and mark it SENT."""
    assert await ledger.reserve_unit(row.user_id, row.template_id)  # type: ignore[attr-defined]
    await Notice.filter(id=row.id, status=NoticeStatus.QUEUED).update(status=NoticeStatus.SENT, sent_at=DAY)


def openid(n: int) -> str:
    return f"oPLAN{n:023d}"


# ------------------------------------------------------------------------------------ planning


async def test_a_node_event_plans_one_notice_with_every_value_and_queues_its_send(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a paid order whose user has one unit of the shipping template
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1))
    await ledger.credit(user.id, SHIPPING, 1)

    # when the order leaves the warehouse
    at = DAY - timedelta(minutes=5)
    await feed(ctx, b.node("SO1", "OUTBOUND", at, carrier="顺丰速运", tracking_no="SF1234567890", note=""))

    # then one notice, queued, with every placeholder of its template filled for display
    outbound = await notice(Topic.NODE_OUTBOUND)
    assert (outbound.status, outbound.template_id, outbound.priority) == (NoticeStatus.QUEUED, SHIPPING, 60)
    assert outbound.dedupe_key == "order:SO1:NODE_OUTBOUND:OUTBOUND"
    assert outbound.expires_at == at + timedelta(days=3)
    assert outbound.values["occurred_at"] == "2026年11月20日 09:55"
    assert outbound.values["node_phrase"] == "已出库"
    assert outbound.values["note"] == "已出库"  # an empty note reads as the node's title
    assert (outbound.values["carrier"], outbound.values["tracking_no"]) == ("顺丰速运", "SF1234567890")
    template = BUNDLED.by_id(SHIPPING)
    assert template is not None
    assert template.placeholders() - {"open_token"} <= set(outbound.values)
    # and its send job is waiting under the notice's id
    assert await send_job(arq_pool, outbound.id) is JobStatus.queued


async def test_replaying_an_event_creates_and_sends_nothing_more(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a node event planned once
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1))
    await ledger.credit(user.id, SHIPPING, 3)
    result = await ingest_body(b.body(b.node("SO1", "OUTBOUND", DAY)))
    first = await plan_event(result.plans[0].event_row_id, ctx, now=DAY)

    # when the job runs again (a retry), and the supply chain resends the event
    again = await plan_event(result.plans[0].event_row_id, ctx, now=DAY)
    resent = await ingest_body(b.body(b.node("SO1", "OUTBOUND", DAY)))  # a new eventId, same node

    # then one notice, one send job
    assert (first.created, again.created) == (1, 0)
    assert not again.decided
    assert resent.plans == []  # not newer than the current node: nobody is told again
    assert await Notice.filter(topic=Topic.NODE_OUTBOUND).count() == 1
    assert await arq_pool.zcard(constants.DEFAULT_QUEUE) == 1


async def test_a_planned_row_left_by_a_crashed_run_is_decided_by_the_next(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a run that inserted its notice but died before deciding it (no arq pool, then a reset)
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1))
    await ledger.credit(user.id, SHIPPING, 1)
    result = await ingest_body(b.body(b.node("SO1", "OUTBOUND", DAY)))
    await plan_event(result.plans[0].event_row_id, context(None), now=DAY)
    await Notice.filter(topic=Topic.NODE_OUTBOUND).update(status=NoticeStatus.PLANNED)

    # when the job runs again
    report = await plan_event(result.plans[0].event_row_id, ctx, now=DAY)

    # then the leftover row is decided and its send enqueued
    outbound = await notice(Topic.NODE_OUTBOUND)
    assert report.created == 0
    assert outbound.status is NoticeStatus.QUEUED
    assert await send_job(arq_pool, outbound.id) is JobStatus.queued


async def test_delivered_also_plans_the_receipt_reminder(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given units for the delivery and receipt templates
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1))
    await ledger.credit(user.id, DELIVERY, 1)
    await ledger.credit(user.id, RECEIPT, 1)

    # when the parcel is delivered
    await feed(ctx, b.node("SO1", "DELIVERED", DAY, carrier="顺丰速运", tracking_no="SF1"))

    # then both notices are queued, the reminder keyed by the order
    delivered, receipt = await notice(Topic.NODE_DELIVERED), await notice(Topic.RECEIPT_CONFIRM)
    assert (delivered.status, receipt.status) == (NoticeStatus.QUEUED, NoticeStatus.QUEUED)
    assert receipt.dedupe_key == "receipt:SO1"
    assert receipt.template_id == RECEIPT


async def test_paid_slot_and_presale_notices_carry_their_values(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a presale order (paid: ORDER_PAID planned), units for payment and slot templates
    ctx = context(arq_pool)
    placed_at = DAY - timedelta(hours=1)
    await feed(ctx, b.placed("SO1", openid(1), placed_at, presale=True))
    user = await User.get(openid=openid(1))
    await ledger.credit(user.id, PAYMENT, 2)
    await ledger.credit(user.id, SLOT, 1)

    # when it is paid, makes progress, and asks for a delivery slot
    await feed(ctx, b.paid("SO1", placed_at + timedelta(minutes=1)))
    await feed(ctx, b.presale_progress("SO1", DAY, "尾款生产", 60, None))
    deadline = DAY + timedelta(hours=20)
    start = DAY + timedelta(days=1)
    slots = [("AM", "11月21日 09:00~12:00", start, start + timedelta(hours=3))]
    await feed(ctx, b.delivery_slots("SO1", DAY, deadline, slots))

    # then
    paid = await notice(Topic.ORDER_PAID)
    assert paid.values["amount"] == "¥129.00" and paid.values["progress"] == "支付成功"
    assert paid.expires_at == placed_at + timedelta(minutes=1, days=1)
    presale = await notice(Topic.PRESALE_PROGRESS)
    assert presale.dedupe_key == "presale:SO1:尾款生产"
    assert presale.values["progress"] == "尾款生产 已完成60%"
    slot = await notice(Topic.DELIVERY_SLOT)
    assert slot.values["slot_label"] == "11月21日 09:00~12:00"
    assert slot.values["deadline"] == "2026年11月21日 06:00"
    assert slot.expires_at == deadline
    assert {paid.status, presale.status, slot.status} == {NoticeStatus.QUEUED}


async def test_a_topic_no_template_carries_plans_nothing(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given a templates file with only the exception template
    only_exceptions = loads_templates_file(
        '[[template]]\ntemplate_id = "tmpl-x"\ntitle = "订单异常通知"\ntype = 2\n'
        'content = "订单编号:{{character_string1.DATA}}\\n"\ntopics = ["ORDER_EXCEPTION"]\n'
        'page = "pages/order/exception?orderNo={order_no}&n={open_token}"\n'
        '[template.data]\ncharacter_string1 = "{order_no}"\n'
    )
    ctx = context(arq_pool, only_exceptions)
    await paid_order(ctx, "SO1", openid(1))

    # when a node event comes
    report = await feed(ctx, b.node("SO1", "OUTBOUND", DAY))

    # then nothing is planned
    assert report.created == 0
    assert await Notice.all().count() == 0


# ------------------------------------------------------------------------------------ policy


async def test_suppressed_notices_keep_their_reason(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given three users: no units; units but the topic switched off; units but WeChat's main switch off
    ctx = context(arq_pool)
    await paid_order(ctx, "SO1", openid(1))  # no units
    topic_off = await paid_order(ctx, "SO2", openid(2))
    switch_off = await paid_order(ctx, "SO3", openid(3))
    for user in (topic_off, switch_off):
        await ledger.credit(user.id, SHIPPING, 2)
    await update_preferences(topic_off.id, PreferencesUpdate(topics=[TopicSwitch("NODE_OUTBOUND", False)]))
    await set_main_switch(switch_off.id, False)

    # when each order leaves the warehouse
    await feed(ctx, *(b.node(no, "OUTBOUND", DAY) for no in ("SO1", "SO2", "SO3")))

    # then each notice is SUPPRESSED with its reason, and no send is queued
    reasons = {n.order_no: (n.status, n.reason) for n in await Notice.filter(topic=Topic.NODE_OUTBOUND)}
    assert reasons == {
        "SO1": (NoticeStatus.SUPPRESSED, Reason.NO_UNITS),
        "SO2": (NoticeStatus.SUPPRESSED, Reason.TOPIC_OFF),
        "SO3": (NoticeStatus.SUPPRESSED, Reason.MAIN_SWITCH_OFF),
    }
    assert await arq_pool.zcard(constants.DEFAULT_QUEUE) == 0


async def test_an_old_event_planned_late_is_expired(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given a node that happened four days before it is planned
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1))
    await ledger.credit(user.id, SHIPPING, 1)

    # when
    await feed(ctx, b.node("SO1", "OUTBOUND", DAY - timedelta(days=4)), now=DAY)

    # then
    outbound = await notice(Topic.NODE_OUTBOUND)
    assert (outbound.status, outbound.reason) == (NoticeStatus.SUPPRESSED, Reason.EXPIRED)


async def test_quiet_hours_defer_to_the_morning_in_shanghai(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given a user with the default quiet hours (22:00–08:00 business time) and a unit
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1))
    await ledger.credit(user.id, SHIPPING, 1)
    # (a night still to come, so that the send job is really deferred)
    day = datetime.now(SHANGHAI).date() + timedelta(days=2)
    night = datetime.combine(day, time(23, 30), tzinfo=SHANGHAI)

    # when the order leaves the warehouse at 23:30
    await feed(ctx, b.node("SO1", "OUTBOUND", night), now=night)

    # then the notice waits for 08:00 Shanghai (00:00 UTC), and so does its send job
    outbound = await notice(Topic.NODE_OUTBOUND)
    morning = datetime.combine(day + timedelta(days=1), time(8, 0), tzinfo=SHANGHAI)
    assert (outbound.status, outbound.reason) == (NoticeStatus.SCHEDULED, Reason.QUIET_HOURS)
    assert outbound.scheduled_for == morning
    assert outbound.scheduled_for.astimezone(UTC).hour == 0
    assert await send_job(arq_pool, outbound.id) is JobStatus.deferred
    score = await arq_pool.zscore(constants.DEFAULT_QUEUE, f"{constants.SEND_JOB_ID_PREFIX}{outbound.id}")
    assert score == morning.timestamp() * 1000


async def test_a_due_scheduled_notice_is_reconsidered_by_the_policy(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a notice deferred at night
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1))
    await ledger.credit(user.id, SHIPPING, 1)
    await feed(ctx, b.node("SO1", "OUTBOUND", NIGHT), now=NIGHT)
    outbound = await notice(Topic.NODE_OUTBOUND)

    # when the send job finds it due in the morning and asks the policy again
    await reconsider(outbound, datetime(2026, 11, 21, 8, 0, 5, tzinfo=SHANGHAI))

    # then it is queued for that job to send
    await outbound.refresh_from_db()
    assert (outbound.status, outbound.reason, outbound.scheduled_for) == (NoticeStatus.QUEUED, None, None)


async def test_a_newer_node_makes_unsent_older_notices_stale(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given two orders with units: SO1's OUTBOUND deferred at night, SO2's OUTBOUND queued by day
    ctx = context(arq_pool)
    for n, order_no in ((1, "SO1"), (2, "SO2")):
        user = await paid_order(ctx, order_no, openid(n))
        await ledger.credit(user.id, SHIPPING, 3)
    await feed(ctx, b.node("SO1", "OUTBOUND", NIGHT), now=NIGHT)
    await feed(ctx, b.node("SO2", "OUTBOUND", DAY), now=DAY)

    # when the next node of each arrives before they went out
    await feed(
        ctx, b.node("SO1", "TRUNK_TRANSIT", NIGHT + timedelta(minutes=20)), now=NIGHT + timedelta(minutes=20)
    )
    await feed(
        ctx, b.node("SO2", "TRUNK_TRANSIT", DAY + timedelta(minutes=20)), now=DAY + timedelta(minutes=20)
    )

    # then the older notices are withdrawn as SUPERSEDED; the new ones take their place
    for order_no in ("SO1", "SO2"):
        old, new = (
            await notice(Topic.NODE_OUTBOUND, order_no),
            await notice(Topic.NODE_TRUNK_TRANSIT, order_no),
        )
        assert (old.status, old.reason) == (NoticeStatus.SUPPRESSED, Reason.SUPERSEDED)
        assert new.status in (NoticeStatus.SCHEDULED, NoticeStatus.QUEUED)


async def test_a_late_older_node_never_sends(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given DELIVERED arrived first
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1))
    await ledger.credit(user.id, SHIPPING, 1)
    await ledger.credit(user.id, DELIVERY, 1)
    await feed(ctx, b.node("SO1", "DELIVERED", DAY))

    # when OUTBOUND (which happened earlier) arrives late
    await feed(ctx, b.node("SO1", "OUTBOUND", DAY - timedelta(hours=30)))

    # then nothing is planned for it
    assert not await Notice.filter(topic=Topic.NODE_OUTBOUND).exists()


async def test_a_cancellation_withdraws_what_was_not_sent(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given a notice deferred at night
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1))
    await ledger.credit(user.id, SHIPPING, 1)
    await feed(ctx, b.node("SO1", "OUTBOUND", NIGHT), now=NIGHT)

    # when the order is cancelled
    await feed(ctx, b.cancelled("SO1", NIGHT + timedelta(minutes=5)), now=NIGHT + timedelta(minutes=5))

    # then
    outbound = await notice(Topic.NODE_OUTBOUND)
    assert (outbound.status, outbound.reason) == (NoticeStatus.SUPPRESSED, Reason.ORDER_CANCELLED)


ALL_ORDER_TOPICS = [
    t for t, i in TOPICS.items() if i.category in (TopicCategory.ORDER_PROGRESS, TopicCategory.ORDER_ACTION)
]
ONE_TEMPLATE = loads_templates_file(
    f"""
[[template]]
template_id = "tmpl-all"
title = "订单通知"
type = 2
content = "订单编号:{{{{character_string1.DATA}}}}\\n订单状态:{{{{phrase2.DATA}}}}\\n"
topics = [{", ".join(f'"{t}"' for t in ALL_ORDER_TOPICS)}]
page = "pages/order/detail?orderNo={{order_no}}&n={{open_token}}"
[template.data]
character_string1 = "{{order_no}}"
phrase2 = "{{node_phrase}}"
"""
)


async def test_units_are_kept_for_the_more_important_notices_ahead(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given one template for every order topic, a made-to-order (presale) order and 2 units
    ctx = context(arq_pool, ONE_TEMPLATE)
    user = await paid_order(ctx, "SO1", openid(1), presale=True)
    await Notice.all().delete()  # the payment notice is not what this test is about
    await ledger.credit(user.id, "tmpl-all", 2)

    # when production starts, then the parcel goes out for delivery and is delivered
    await feed(ctx, b.node("SO1", "MATERIAL_IN", DAY))
    await feed(ctx, b.node("SO1", "OUT_FOR_DELIVERY", DAY + timedelta(days=2)), now=DAY + timedelta(days=2))
    await sent(await notice(Topic.NODE_OUT_FOR_DELIVERY))
    await feed(
        ctx,
        b.node("SO1", "DELIVERED", DAY + timedelta(days=2, hours=3)),
        now=DAY + timedelta(days=2, hours=3),
    )

    # then the production node did not spend a unit; the two that matter most did
    material = await notice(Topic.NODE_MATERIAL_IN)
    assert (material.status, material.reason) == (NoticeStatus.SUPPRESSED, Reason.SAVED_FOR_HIGHER_PRIORITY)
    assert (await notice(Topic.NODE_OUT_FOR_DELIVERY)).status is NoticeStatus.SENT
    assert (await notice(Topic.NODE_DELIVERED)).status is NoticeStatus.QUEUED
    # the receipt reminder (70, planned with DELIVERED 80) finds the last unit promised
    receipt = await notice(Topic.RECEIPT_CONFIRM)
    assert (receipt.status, receipt.reason) == (NoticeStatus.SUPPRESSED, Reason.NO_UNITS)


async def test_the_weekly_limit_applies_to_lifecycle_notices(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given two users with replenishment units; one has a weekly limit of 1 and got a lifecycle
    # notice two days ago, the other has the default limit
    ctx = context(arq_pool)
    limited = await User.create(openid=openid(1))
    free = await User.create(openid=openid(2))
    for user in (limited, free):
        await ledger.credit(user.id, REPLENISHMENT, 2)
    await update_preferences(limited.id, PreferencesUpdate(weekly_limit=1))
    await Notice.create(
        user_id=limited.id,
        topic=Topic.MAINTENANCE,
        template_id="tmpl-maintenance-0001",
        dedupe_key="old",
        priority=15,
        status=NoticeStatus.SENT,
        occurred_at=DAY - timedelta(days=2),
        sent_at=DAY - timedelta(days=2),
    )

    # when a replenishment scan plans a reminder for each
    values = {"sku_name": "有机燕麦片 1kg", "run_out_date": "2026年12月05日"}
    drafts = [
        NoticeDraft(u.id, Topic.REPLENISHMENT, f"user:{u.id}:SKU-OAT:1", DAY, DAY + timedelta(days=3), values)
        for u in (limited, free)
    ]
    await plan_drafts(drafts, ctx, now=DAY)

    # then the limited user's is suppressed, the other's queued
    rows = {n.user_id: (n.status, n.reason) for n in await Notice.filter(topic=Topic.REPLENISHMENT)}  # type: ignore[attr-defined]
    assert rows == {
        limited.id: (NoticeStatus.SUPPRESSED, Reason.WEEKLY_LIMIT),
        free.id: (NoticeStatus.QUEUED, None),
    }


# ------------------------------------------------------------------------ exceptions at scale


async def orders_in(ctx: NoticeContext, warehouse: str, count: int, start: int = 0) -> None:
    events: list[dict[str, object]] = []
    for n in range(start, start + count):
        placed_at = DAY - timedelta(hours=5)
        events += [
            b.placed(f"SO{n:05d}", openid(n), placed_at, warehouse=warehouse),
            b.paid(f"SO{n:05d}", placed_at + timedelta(minutes=1)),
        ]
    await ingest_body(b.body(*events))  # payment notices are not planned here: not what is measured
    for user in await User.filter(openid__in=[openid(n) for n in range(start, start + count)]):
        await ledger.credit(user.id, EXCEPTION, 1)


async def test_a_scoped_exception_costs_the_same_queries_per_chunk_whatever_its_size(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given 10 open orders in one warehouse and 30 in another, every user with an exception unit
    await orders_in(context(None), "宁波仓", 10, start=0)
    await orders_in(context(None), "嘉兴仓", 30, start=100)
    small = await ingest_body(
        b.body(b.exception("EX-S", DAY, DAY + timedelta(hours=12), scope={"warehouse": "宁波仓"}))
    )
    large = await ingest_body(
        b.body(b.exception("EX-L", DAY, DAY + timedelta(hours=12), scope={"warehouse": "嘉兴仓"}))
    )

    # when each is planned in one chunk
    with count_queries() as small_statements:
        await plan_event(small.plans[0].event_row_id, context(arq_pool, chunk=10), now=DAY)
    with count_queries() as large_statements:
        await plan_event(large.plans[0].event_row_id, context(arq_pool, chunk=30), now=DAY)

    # then three times the notices cost no more statements
    assert await Notice.filter(topic=Topic.ORDER_EXCEPTION, status=NoticeStatus.QUEUED).count() == 40
    assert len(large_statements) == len(small_statements)
    exception = await Notice.get(dedupe_key="exception:EX-S:SO00003")
    assert exception.values["deadline"] == "2026年11月20日 22:00"
    assert exception.values["option_summary"] == "继续等待"
    assert exception.expires_at == DAY + timedelta(hours=12)


async def test_a_scoped_exception_planned_again_creates_nothing_and_decides_what_a_crashed_run_left(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given six affected orders planned in chunks of four, and one notice a crashed run left PLANNED
    await orders_in(context(None), "宁波仓", 6)
    result = await ingest_body(
        b.body(b.exception("EX-R", DAY, DAY + timedelta(hours=12), scope={"warehouse": "宁波仓"}))
    )
    first = await plan_event(result.plans[0].event_row_id, context(arq_pool, chunk=4), now=DAY)
    await Notice.filter(dedupe_key="exception:EX-R:SO00004").update(status=NoticeStatus.PLANNED)

    # when the event is planned again (a retried job, a redelivery)
    again = await plan_event(result.plans[0].event_row_id, context(arq_pool, chunk=4), now=DAY)

    # then no notice is created twice, and only the one left PLANNED is decided (and queued)
    assert first.created == 6 and dict(first.decided) == {"QUEUED": 6}
    assert again.created == 0 and dict(again.decided) == {"QUEUED": 1}
    assert await Notice.filter(topic=Topic.ORDER_EXCEPTION).count() == 6
    assert await Notice.filter(topic=Topic.ORDER_EXCEPTION, status=NoticeStatus.QUEUED).count() == 6
    left = await Notice.get(dedupe_key="exception:EX-R:SO00004")
    assert left.values["order_no"] == "SO00004"
    assert await send_job(arq_pool, left.id) is JobStatus.queued


async def test_a_large_exception_is_walked_in_chunks_and_continued_by_follow_up_jobs(
    db: TortoiseContext, arq_pool: ArqRedis, worker: WorkerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given 23 open orders in a warehouse, and planning runs that stop after each chunk of 5
    from bff.notices import planner
    from tasks.notices import plan_notices_for_event

    monkeypatch.setattr(planner, "PLAN_BUDGET_S", 0.0)
    monkeypatch.setattr(planner, "PLAN_CHUNK", 5)
    await orders_in(context(None), "宁波仓", 23)
    result = await ingest_body(
        b.body(b.exception("EX1", DAY, DAY + timedelta(days=2), scope={"warehouse": "宁波仓"}))
    )
    await arq_pool.enqueue_job(constants.JOB_PLAN_EVENT, result.plans[0].event_row_id, _job_id="plan:test")

    # when a worker runs the planning job and its follow-ups (sends are not this worker's business)
    w = await worker(functions=[func(plan_notices_for_event, name=constants.JOB_PLAN_EVENT)])
    await w.run_check(max_burst_jobs=10)

    # then every affected order got its notice once, over five jobs
    assert await Notice.filter(topic=Topic.ORDER_EXCEPTION).count() == 23
    assert w.jobs_complete == 5


async def test_user_facts_cost_the_same_queries_for_5_or_50_users(db: TortoiseContext) -> None:
    # given 50 users with orders, units and notices
    ctx = context(None)
    await orders_in(ctx, "宁波仓", 50)
    ids = [u.id for u in await User.all().order_by("id")]

    # when their facts are loaded for 5 and for 50 of them
    with count_queries() as few:
        five = await load_user_facts(ids[:5], now=DAY, zone=SHANGHAI)
    with count_queries() as many:
        fifty = await load_user_facts(ids, now=DAY, zone=SHANGHAI)

    # then the same number of statements
    assert len(few) == len(many)
    assert len(five) == 5 and len(fifty) == 50
    assert fifty[ids[0]].units == {EXCEPTION: 1}
    assert list(fifty[ids[0]].orders) == ["SO00000"]


async def test_a_long_presale_stage_still_gives_one_notice_per_stage(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a presale order and a stage name as long as the contract allows (200 characters)
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1), presale=True)
    await ledger.credit(user.id, PAYMENT, 3)
    stage = "尾" * 200

    # when the same stage is reported twice and another long stage once
    await feed(ctx, b.presale_progress("SO1", DAY, stage, 40, None))
    await feed(ctx, b.presale_progress("SO1", DAY + timedelta(hours=1), stage, 60, None))
    await feed(ctx, b.presale_progress("SO1", DAY + timedelta(hours=2), stage[:-1] + "款", 80, None))

    # then one notice per stage, keys within the column
    keys = [n.dedupe_key for n in await Notice.filter(topic=Topic.PRESALE_PROGRESS)]
    assert len(keys) == 2
    assert all(len(key) <= 255 for key in keys)


async def test_presale_progress_deferred_overnight_sends_only_the_latest_stage_in_the_morning(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings
) -> None:
    # given a presale order whose user has units for three notices of its template
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1), presale=True)
    await ledger.credit(user.id, PAYMENT, 3)

    # when two presale stages are reported during quiet hours
    await feed(ctx, b.presale_progress("SO1", NIGHT, "定金", 100, None), now=NIGHT)
    later = NIGHT + timedelta(hours=2)
    await feed(ctx, b.presale_progress("SO1", later, "尾款", 30, None), now=later)

    # then the earlier one is superseded at once, the later one waits for the morning
    first, second = await Notice.filter(topic=Topic.PRESALE_PROGRESS).order_by("occurred_at")
    assert (first.status, first.reason) == (NoticeStatus.SUPPRESSED, Reason.SUPERSEDED)
    assert (second.status, second.reason) == (NoticeStatus.SCHEDULED, Reason.QUIET_HOURS)

    # and when the deferred send jobs run in the morning, one message goes out: the latest stage
    morning = datetime(2026, 11, 21, 8, 0, 5, tzinfo=SHANGHAI).astimezone(UTC)
    client = FakeClient()
    sender = make_sender(settings, arq_pool, client, clock=lambda: morning)
    for row in (first, second):
        await sender.send(row.id)
    assert len(client.calls) == 1
    assert any("尾款" in value for value in client.calls[0].data.values())
    await second.refresh_from_db()
    assert second.status is NoticeStatus.SENT
    assert await ledger.remaining(user.id, PAYMENT) == 2


async def test_a_new_delivery_slot_offer_supersedes_the_unsent_notice_of_the_old_one(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given an order whose slot notice is waiting (the user has one slot unit, spent on nothing yet)
    ctx = context(arq_pool)
    user = await paid_order(ctx, "SO1", openid(1))
    await ledger.credit(user.id, SLOT, 1)
    start = DAY + timedelta(days=1)
    morning = [("AM", "上午", start, start + timedelta(hours=3))]
    await feed(ctx, b.delivery_slots("SO1", DAY, DAY + timedelta(hours=20), morning))
    old = await Notice.get(topic=Topic.DELIVERY_SLOT)
    assert old.status is NoticeStatus.QUEUED

    # when the supply chain replaces the offer before that notice went out
    later = DAY + timedelta(hours=1)
    evening = [("PM", "晚上", start + timedelta(hours=9), start + timedelta(hours=12))]
    await feed(ctx, b.delivery_slots("SO1", later, DAY + timedelta(hours=22), evening), now=later)

    # then the old question is withdrawn and the unit goes to the new one
    await old.refresh_from_db()
    new = await Notice.get(topic=Topic.DELIVERY_SLOT, id__not=old.id)
    assert (old.status, old.reason) == (NoticeStatus.SUPPRESSED, Reason.SUPERSEDED)
    assert new.status is NoticeStatus.QUEUED and new.values["slot_label"] == "晚上"
