"""`order(orderNo)`: everything the order detail page shows, as the supply chain reported it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from bff.models import DeliverySlotOffer, Order, OrderExceptionLink, OrderReceipt, OrderStatus, User
from bff.supply_chain import builders as b
from tests.schema.orders.conftest import CST, ORDER_DETAIL, Ask, feed, hours


def order_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in answer, answer
    return answer["data"]["order"]  # type: ignore[no-any-return]


def local(value: datetime) -> str:
    return value.astimezone(CST).isoformat()


async def test_an_order_in_transit_shows_timeline_etas_and_shipment(ask: Ask, alice: User) -> None:
    # given: a made-to-order purchase, its nodes arriving out of order
    await feed(
        b.placed("SO1", alice.openid, hours(0), items=[("SKU-A", "定制茶桌", 1, "2399.00")]),
        b.paid("SO1", hours(0.5)),
        b.node("SO1", "PRODUCTION_STARTED", hours(30), location="湖州工厂", note="开始生产"),
        b.node("SO1", "MATERIAL_IN", hours(10), location="湖州工厂", note="木料到厂"),
        b.node("SO1", "QC_PASSED", hours(50), location="湖州工厂", note="质检通过"),
        b.node(
            "SO1",
            "OUTBOUND",
            hours(60),
            location="杭州仓",
            note="已出库",
            carrier="顺丰速运",
            tracking_no="SF1234567890",
            estimated_arrival=hours(100),
            expected=[("COURIER_ACCEPTED", hours(70)), ("DELIVERED", hours(100))],
        ),
    )

    # when
    order = order_of(await ask(ORDER_DETAIL, {"orderNo": "SO1"}, as_user=alice))

    # then
    assert order["status"] == "SHIPPED"
    assert order["paidAt"] == local(hours(0.5))
    assert order["items"] == [{"skuCode": "SKU-A", "name": "定制茶桌", "quantity": 1, "unitPrice": "2399.00"}]
    assert [(e["kind"], e["title"], e["location"], e["note"]) for e in order["timeline"]] == [
        ("MATERIAL_IN", "物料入库", "湖州工厂", "木料到厂"),
        ("PRODUCTION_STARTED", "开始生产", "湖州工厂", "开始生产"),
        ("QC_PASSED", "质检通过", "湖州工厂", "质检通过"),
        ("OUTBOUND", "已出库", "杭州仓", "已出库"),
    ]
    assert order["timeline"][0]["occurredAt"] == "2026-11-20T19:00:00+08:00"
    assert order["upcoming"] == [
        {"kind": "TRUNK_TRANSIT", "title": "干线运输中", "expectedAt": None},
        {"kind": "COURIER_ACCEPTED", "title": "快递已揽收", "expectedAt": local(hours(70))},
        {"kind": "OUT_FOR_DELIVERY", "title": "派送中", "expectedAt": None},
        {"kind": "DELIVERED", "title": "已签收", "expectedAt": local(hours(100))},
    ]
    assert order["shipment"] == {
        "carrier": "顺丰速运",
        "trackingNo": "SF1234567890",
        "estimatedArrival": local(hours(100)),
    }
    assert (order["presale"], order["deliverySlot"], order["exception"], order["receipt"]) == (
        None,
        None,
        None,
        None,
    )
    assert order["notices"] == []


async def test_a_stock_order_skips_the_production_nodes(ask: Ask, alice: User) -> None:
    # given
    await feed(b.placed("SO1", alice.openid, hours(0)), b.paid("SO1", hours(1)))

    # when
    order = order_of(await ask(ORDER_DETAIL, {"orderNo": "SO1"}, as_user=alice))

    # then
    assert order["status"] == "PAID"
    assert [u["kind"] for u in order["upcoming"]] == [
        "OUTBOUND",
        "TRUNK_TRANSIT",
        "COURIER_ACCEPTED",
        "OUT_FOR_DELIVERY",
        "DELIVERED",
    ]


async def test_a_presale_order_shows_its_progress(ask: Ask, alice: User) -> None:
    # given
    await feed(
        b.placed("PRE1", alice.openid, hours(0), presale=True),
        b.paid("PRE1", hours(1)),
        b.presale_progress("PRE1", hours(24), "打样完成，批量生产中", 45, date(2026, 12, 10)),
    )

    # when
    order = order_of(await ask(ORDER_DETAIL, {"orderNo": "PRE1"}, as_user=alice))

    # then
    assert order["status"] == "IN_PRODUCTION"
    assert order["presale"] == {
        "stage": "打样完成，批量生产中",
        "progressPercent": 45,
        "expectedShipDate": "2026-12-10",
    }
    assert order["upcoming"][0]["kind"] == "MATERIAL_IN"


async def test_a_slot_offer_shows_options_deadline_and_choice(ask: Ask, alice: User) -> None:
    # given
    deadline = datetime(2026, 11, 22, 20, 0, tzinfo=CST)
    slots = [
        (
            "S1",
            "11月23日 上午",
            datetime(2026, 11, 23, 9, tzinfo=CST),
            datetime(2026, 11, 23, 12, tzinfo=CST),
        ),
        (
            "S2",
            "11月23日 下午",
            datetime(2026, 11, 23, 14, tzinfo=CST),
            datetime(2026, 11, 23, 18, tzinfo=CST),
        ),
    ]
    await feed(b.placed("SO1", alice.openid, hours(0)), b.delivery_slots("SO1", hours(40), deadline, slots))

    # when
    before = order_of(await ask(ORDER_DETAIL, {"orderNo": "SO1"}, as_user=alice))
    await DeliverySlotOffer.filter(order__order_no="SO1").update(chosen_slot_id="S2")
    after = order_of(await ask(ORDER_DETAIL, {"orderNo": "SO1"}, as_user=alice))

    # then
    assert before["deliverySlot"] == {
        "deadline": "2026-11-22T20:00:00+08:00",
        "chosen": None,
        "options": [
            {
                "id": "S1",
                "label": "11月23日 上午",
                "startsAt": "2026-11-23T09:00:00+08:00",
                "endsAt": "2026-11-23T12:00:00+08:00",
            },
            {
                "id": "S2",
                "label": "11月23日 下午",
                "startsAt": "2026-11-23T14:00:00+08:00",
                "endsAt": "2026-11-23T18:00:00+08:00",
            },
        ],
    }
    assert after["deliverySlot"]["chosen"]["id"] == "S2"


async def test_an_exception_shows_its_options_default_deadline_and_choice(ask: Ask, alice: User) -> None:
    # given
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    await feed(
        b.placed("SO1", alice.openid, hours(0)),
        b.exception(
            "EX-77",
            hours(5),
            deadline,
            order_nos=["SO1"],
            kind="STOCKOUT",
            reason="茶壶缺货",
            options=[("WAIT", "等待补货"), ("CANCEL", "取消订单")],
            default_option="WAIT",
        ),
    )

    # when
    order = order_of(await ask(ORDER_DETAIL, {"orderNo": "SO1"}, as_user=alice))

    # then
    assert order["exception"] == {
        "id": "EX-77",
        "kind": "STOCKOUT",
        "reason": "茶壶缺货",
        "deadline": local(deadline),
        "defaultOption": "WAIT",
        "options": [{"code": "WAIT", "label": "等待补货"}, {"code": "CANCEL", "label": "取消订单"}],
        "chosen": None,
    }


async def test_the_open_exception_is_shown_before_an_older_decided_one(ask: Ask, alice: User) -> None:
    # given
    future = datetime.now(UTC) + timedelta(days=1)
    await feed(
        b.placed("SO1", alice.openid, hours(0)),
        b.exception("EX-OLD", hours(1), future, order_nos=["SO1"]),
    )
    await OrderExceptionLink.filter(exception__exception_id="EX-OLD").update(chosen_option="COUPON")
    await feed(
        b.exception("EX-NEW", hours(2), future + timedelta(days=1), order_nos=["SO1"], kind="LOGISTICS_JAM")
    )

    # when
    order = order_of(await ask(ORDER_DETAIL, {"orderNo": "SO1"}, as_user=alice))

    # then
    assert (order["exception"]["id"], order["exception"]["chosen"]) == ("EX-NEW", None)


async def test_a_confirmed_receipt_completes_the_order(ask: Ask, alice: User) -> None:
    # given: delivered, then confirmed by the user (the confirmation service writes these rows)
    await feed(b.placed("SO1", alice.openid, hours(0)), b.node("SO1", "DELIVERED", hours(50)))
    order = await Order.get(order_no="SO1")
    await OrderReceipt.create(order=order, confirmed_at=hours(60), rating=9, comment="很好")
    order.status = OrderStatus.COMPLETED
    await order.save()

    # when
    shown = order_of(await ask(ORDER_DETAIL, {"orderNo": "SO1"}, as_user=alice))

    # then
    assert shown["status"] == "COMPLETED"
    assert shown["receipt"] == {"confirmedAt": local(hours(60)), "rating": 9}
    assert shown["upcoming"] == []


async def test_a_cancelled_order_shows_no_nodes_ahead(ask: Ask, alice: User) -> None:
    # given
    await feed(b.placed("SO1", alice.openid, hours(0)), b.cancelled("SO1", hours(1), "用户取消"))

    # when
    order = order_of(await ask(ORDER_DETAIL, {"orderNo": "SO1"}, as_user=alice))

    # then
    assert (order["status"], order["upcoming"]) == ("CANCELLED", [])


async def test_an_unknown_order_is_null(ask: Ask, alice: User) -> None:
    # when
    answer = await ask(ORDER_DETAIL, {"orderNo": "NOPE"}, as_user=alice)

    # then
    assert answer == {"data": {"order": None}}
