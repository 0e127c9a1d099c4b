"""Ingestion of supply-chain batches (bff/inbound/supply_chain.py): stored, then applied to the
order projection (bff/orders/projection.py)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from tortoise.context import TortoiseContext

from bff.inbound.supply_chain import Plan, ingest_body
from bff.models import (
    DeliverySlotOffer,
    Order,
    OrderException,
    OrderExceptionLink,
    OrderItem,
    OrderNodeEvent,
    OrderNodeExpectation,
    OrderStatus,
    PendingEvent,
    Sku,
    SupplyChainEvent,
    User,
)
from bff.supply_chain import builders as b
from bff.supply_chain.parsing import BatchInvalid

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=CST)
OPENID = "oUSER_ingest_000000000000001"


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


async def test_order_placed_creates_the_order_its_items_and_its_user(db: TortoiseContext) -> None:
    # given
    event = b.placed(
        "SO1",
        OPENID,
        at(0),
        items=[("SKU-A", "茶杯", 2, "19.90"), ("SKU-B", "茶壶", 1, "89.00")],
        region="浙江省杭州市",
        warehouse="杭州仓",
    )

    # when
    result = await ingest_body(b.body(event))

    # then
    assert (result.accepted, result.duplicates) == (1, 0)
    order = await Order.get(order_no="SO1").prefetch_related("user")
    assert order.user.openid == OPENID
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert order.total_amount == Decimal("128.80")
    assert (order.region, order.warehouse, order.presale) == ("浙江省杭州市", "杭州仓", False)
    items = (
        await OrderItem.filter(order=order)
        .order_by("position")
        .values_list("sku_code", "quantity", "unit_price")
    )
    assert items == [("SKU-A", 2, Decimal("19.90")), ("SKU-B", 1, Decimal("89.00"))]


async def test_a_duplicate_event_is_acknowledged_and_changes_nothing(db: TortoiseContext) -> None:
    # given
    placed = b.placed("SO1", OPENID, at(0))
    node = b.node("SO1", "OUTBOUND", at(5), event_id="evt-node-1")
    await ingest_body(b.body(placed, node))

    # when: the sender retries the node together with a new event
    retry = await ingest_body(b.body(node, b.node("SO1", "TRUNK_TRANSIT", at(8))))

    # then
    assert (retry.accepted, retry.duplicates) == (1, 1)
    assert await OrderNodeEvent.filter(node="OUTBOUND").count() == 1
    assert await SupplyChainEvent.filter(event_id="evt-node-1").count() == 1


async def test_a_batch_with_a_bad_event_stores_nothing(db: TortoiseContext) -> None:
    # given
    good = b.placed("SO1", OPENID, at(0))
    bad = b.node("SO1", "OUTBOUND", at(1))
    bad["node"] = "TELEPORTED"

    # when
    with pytest.raises(BatchInvalid) as raised:
        await ingest_body(b.body(good, bad))

    # then
    assert [(e.index, e.field) for e in raised.value.errors] == [(1, "node")]
    assert await SupplyChainEvent.all().count() == 0
    assert await Order.all().count() == 0


async def test_status_follows_payment_production_shipping_and_delivery(db: TortoiseContext) -> None:
    # given
    await ingest_body(b.body(b.placed("SO1", OPENID, at(0))))
    steps = [
        (b.paid("SO1", at(1)), OrderStatus.PAID),
        (b.node("SO1", "MATERIAL_IN", at(2)), OrderStatus.IN_PRODUCTION),
        (b.node("SO1", "QC_PASSED", at(3)), OrderStatus.IN_PRODUCTION),
        (b.node("SO1", "OUTBOUND", at(4)), OrderStatus.SHIPPED),
        (b.node("SO1", "OUT_FOR_DELIVERY", at(5)), OrderStatus.SHIPPED),
        (b.node("SO1", "DELIVERED", at(6)), OrderStatus.DELIVERED),
    ]
    seen = []

    # when
    for event, _ in steps:
        await ingest_body(b.body(event))
        seen.append((await Order.get(order_no="SO1")).status)

    # then
    assert seen == [expected for _, expected in steps]


async def test_cancellation_wins_over_later_progress(db: TortoiseContext) -> None:
    # given
    await ingest_body(b.body(b.placed("SO1", OPENID, at(0)), b.paid("SO1", at(1))))

    # when
    result = await ingest_body(
        b.body(b.cancelled("SO1", at(2), "缺货取消"), b.node("SO1", "OUTBOUND", at(3)))
    )

    # then
    order = await Order.get(order_no="SO1")
    assert order.status == OrderStatus.CANCELLED
    assert order.cancel_reason == "缺货取消"
    # the node after the cancellation is kept but nobody is told about it
    node_row = await SupplyChainEvent.get(type="order.node")
    assert Plan(node_row.id) not in result.plans


async def test_out_of_order_nodes_keep_the_newest_as_current_and_the_late_one_is_not_planned(
    db: TortoiseContext,
) -> None:
    # given: DELIVERED arrives before OUTBOUND
    await ingest_body(b.body(b.placed("SO1", OPENID, at(0))))
    await ingest_body(b.body(b.node("SO1", "DELIVERED", at(30), event_id="evt-delivered")))

    # when
    late = await ingest_body(b.body(b.node("SO1", "OUTBOUND", at(5), event_id="evt-outbound")))

    # then
    order = await Order.get(order_no="SO1")
    assert order.current_node == "DELIVERED"
    assert order.status == OrderStatus.DELIVERED
    timeline = await OrderNodeEvent.filter(order=order).order_by("occurred_at").values_list("node")
    assert [node for (node,) in timeline] == ["OUTBOUND", "DELIVERED"]
    assert late.plans == []
    outbound = await SupplyChainEvent.get(event_id="evt-outbound")
    assert outbound.notify is False


async def test_events_for_an_unknown_order_wait_and_apply_when_it_is_placed(db: TortoiseContext) -> None:
    # given: payment and a node arrive before the order itself
    early = await ingest_body(
        b.body(
            b.paid("SO9", at(1), event_id="evt-paid"), b.node("SO9", "OUTBOUND", at(4), event_id="evt-out")
        )
    )
    assert (early.accepted, early.plans) == (2, [])
    assert await PendingEvent.filter(order_no="SO9").count() == 2

    # when
    placed = await ingest_body(b.body(b.placed("SO9", OPENID, at(0))))

    # then
    order = await Order.get(order_no="SO9")
    assert order.paid_at is not None
    assert order.current_node == "OUTBOUND"
    assert order.status == OrderStatus.SHIPPED
    assert await PendingEvent.all().count() == 0
    paid_row = await SupplyChainEvent.get(event_id="evt-paid")
    out_row = await SupplyChainEvent.get(event_id="evt-out")
    assert paid_row.applied_at is not None and paid_row.order_id == order.id  # type: ignore[attr-defined]
    assert {p.event_row_id for p in placed.plans} == {paid_row.id, out_row.id}


async def test_events_in_one_batch_before_their_order_placed_apply_in_that_batch(db: TortoiseContext) -> None:
    # given
    batch = b.body(b.paid("SO1", at(1)), b.placed("SO1", OPENID, at(0)))

    # when
    await ingest_body(batch)

    # then
    assert (await Order.get(order_no="SO1")).status == OrderStatus.PAID
    assert await PendingEvent.all().count() == 0


async def test_shipment_and_etas_come_from_the_newest_reports(db: TortoiseContext) -> None:
    # given
    await ingest_body(b.body(b.placed("SO1", OPENID, at(0))))
    first = b.node(
        "SO1",
        "OUTBOUND",
        at(2),
        carrier="顺丰速运",
        tracking_no="SF1",
        estimated_arrival=at(48),
        expected=[("DELIVERED", at(48)), ("OUT_FOR_DELIVERY", at(40))],
    )
    newer = b.node("SO1", "TRUNK_TRANSIT", at(10), expected=[("DELIVERED", at(30))])
    stale = b.node("SO1", "COURIER_ACCEPTED", at(1), expected=[("DELIVERED", at(99))])

    # when
    await ingest_body(b.body(first, newer, stale))

    # then
    order = await Order.get(order_no="SO1")
    assert (order.carrier, order.tracking_no) == ("顺丰速运", "SF1")
    assert order.estimated_arrival == at(48)
    etas = dict(await OrderNodeExpectation.filter(order=order).values_list("node", "expected_at"))
    assert etas == {"DELIVERED": at(30), "OUT_FOR_DELIVERY": at(40)}


async def test_presale_progress_keeps_the_newest_report(db: TortoiseContext) -> None:
    # given
    await ingest_body(b.body(b.placed("SO1", OPENID, at(0), presale=True), b.paid("SO1", at(1))))

    # when
    await ingest_body(
        b.body(
            b.presale_progress("SO1", at(10), "生产中", 60, date(2026, 12, 5)),
            b.presale_progress("SO1", at(5), "备料中", 20, date(2026, 12, 9)),
        )
    )

    # then
    order = await Order.get(order_no="SO1")
    assert (order.presale_stage, order.presale_progress_percent) == ("生产中", 60)
    assert order.presale_expected_ship_date == date(2026, 12, 5)
    assert order.status == OrderStatus.IN_PRODUCTION


async def test_a_newer_slot_offer_replaces_the_older_one(db: TortoiseContext) -> None:
    # given
    await ingest_body(b.body(b.placed("SO1", OPENID, at(0))))
    slots_a = [("A1", "明天上午", at(24), at(28)), ("A2", "明天下午", at(29), at(33))]
    slots_b = [("B1", "后天上午", at(48), at(52))]

    # when
    await ingest_body(
        b.body(
            b.delivery_slots("SO1", at(10), at(20), slots_b),
            b.delivery_slots("SO1", at(5), at(12), slots_a),
        )
    )

    # then
    offer = await DeliverySlotOffer.get(order__order_no="SO1")
    assert [o["id"] for o in offer.options] == ["B1"]
    assert offer.default_slot_id == "B1"
    assert offer.deadline == at(20)
    assert offer.chosen_slot_id is None


async def test_an_exception_by_order_numbers_links_known_orders_and_waits_for_the_others(
    db: TortoiseContext,
) -> None:
    # given
    await ingest_body(b.body(b.placed("SO1", OPENID, at(0)), b.placed("SO2", OPENID, at(0))))

    # when
    result = await ingest_body(
        b.body(b.exception("EX1", at(3), at(27), order_nos=["SO1", "SO2", "SO3"], event_id="evt-ex"))
    )
    later = await ingest_body(b.body(b.placed("SO3", OPENID, at(4))))

    # then
    exception = await OrderException.get(exception_id="EX1")
    linked = await OrderExceptionLink.filter(exception=exception).values_list("order__order_no")
    assert sorted(no for (no,) in linked) == ["SO1", "SO2", "SO3"]
    row = await SupplyChainEvent.get(event_id="evt-ex")
    so3 = await Order.get(order_no="SO3")
    assert result.plans == [Plan(row.id)]
    assert later.plans == [Plan(row.id, order_id=so3.id)]
    assert Plan(row.id, order_id=so3.id).job_id == f"plan:{row.id}:{so3.id}"


async def test_a_restated_exception_updates_its_terms_and_keeps_decisions(db: TortoiseContext) -> None:
    # given
    await ingest_body(b.body(b.placed("SO1", OPENID, at(0))))
    await ingest_body(b.body(b.exception("EX1", at(3), at(27), order_nos=["SO1"])))
    await OrderExceptionLink.filter(order__order_no="SO1").update(chosen_option="WAIT")

    # when
    await ingest_body(b.body(b.exception("EX1", at(5), at(50), order_nos=["SO1"], reason="延误加重")))

    # then
    exception = await OrderException.get(exception_id="EX1")
    assert (exception.reason, exception.deadline) == ("延误加重", at(50))
    link = await OrderExceptionLink.get(exception=exception)
    assert link.chosen_option == "WAIT"


async def test_sku_upsert_keeps_the_newest_description(db: TortoiseContext) -> None:
    # when
    await ingest_body(
        b.body(
            b.sku_upsert("SKU-A", at(5), name="新名字", maintenance=[(90, "换滤芯")]),
            b.sku_upsert("SKU-A", at(1), name="旧名字"),
        )
    )

    # then
    sku = await Sku.get(sku_code="SKU-A")
    assert sku.name == "新名字"
    assert sku.maintenance == [{"afterDays": 90, "title": "换滤芯"}]


async def test_member_upsert_creates_or_updates_the_user(db: TortoiseContext) -> None:
    # given
    await User.create(openid=OPENID, nickname="阿青")

    # when
    await ingest_body(
        b.body(
            b.member_upsert(
                OPENID, at(0), member_tier="PLATINUM", points=500, birthday="09-30", region="上海市"
            ),
            b.member_upsert("oNEW_member_0000000000000002", at(0), points=10),
        )
    )

    # then
    user = await User.get(openid=OPENID)
    assert (user.member_tier, user.points, user.birthday, user.region, user.nickname) == (
        "PLATINUM",
        500,
        "09-30",
        "上海市",
        "阿青",
    )
    assert await User.filter(openid="oNEW_member_0000000000000002", points=10).exists()


@pytest.mark.parametrize("newer_first", [True, False], ids=["newer-first", "older-late"])
async def test_member_upsert_applies_only_when_newer_than_what_is_stored(
    db: TortoiseContext, newer_first: bool
) -> None:
    # given a member record of 10:00 (800 points) and one of 09:00 (100 points), in separate requests
    newer = b.member_upsert(OPENID, at(1), member_tier="GOLD", points=800, birthday="03-01")
    older = b.member_upsert(OPENID, at(0), member_tier="SILVER", points=100, birthday=None)
    batches = [newer, older] if newer_first else [older, newer]

    # when both arrive, in either order
    for event in batches:
        await ingest_body(b.body(event))

    # then the user holds the newer record, whatever the arrival order
    user = await User.get(openid=OPENID)
    assert (user.member_tier, user.points, user.birthday) == ("GOLD", 800, "03-01")
    assert user.member_updated_at == at(1)


async def test_an_older_member_upsert_in_the_same_batch_is_ignored(db: TortoiseContext) -> None:
    # when one batch carries the newer record first and an older one after it
    await ingest_body(
        b.body(
            b.member_upsert(OPENID, at(2), points=300),
            b.member_upsert(OPENID, at(1), points=5),
        )
    )

    # then the newer one stays
    assert (await User.get(openid=OPENID)).points == 300


@pytest.mark.postgres_only
async def test_concurrent_member_upserts_leave_the_newest_record(db: TortoiseContext) -> None:
    # given twenty member records of one (new) member, an hour apart, in concurrent requests
    events = [b.member_upsert(OPENID, at(n), points=n * 10) for n in range(20)]

    # when they arrive all at once, newest first
    await asyncio.gather(*(ingest_body(b.body(event)) for event in reversed(events)))

    # then one user holds the newest record
    users = await User.filter(openid=OPENID)
    assert [(u.points, u.member_updated_at) for u in users] == [(190, at(19))]
