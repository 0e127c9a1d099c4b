"""Shipping information to WeChat: when an order's upload becomes due, what is uploaded, retries,
refusals, and never a second upload, against the WeChat sandbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.inbound.supply_chain import ingest_body
from bff.models import Order, ShippingUpload, ShippingUploadStatus
from bff.orders.shipping import (
    UploadPolicy,
    build_payload,
    due_order_ids,
    item_description,
    upload,
)
from bff.supply_chain import builders as b
from tests.wechat.client_harness import running_sandbox

OPENID = "oSHIP_orders_0000000000001"
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
CONTACT = "021****8888"
FAST = UploadPolicy(base_s=0.01, cap_s=0.02)


async def feed(*events: b.Event) -> None:
    await ingest_body(b.body(*events))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


async def shipped(order_no: str, carrier: str = "顺丰速运", tracking_no: str = "SF1234567890") -> Order:
    await feed(
        b.placed(order_no, OPENID, at(0)),
        b.paid(order_no, at(1)),
        b.node(order_no, "OUTBOUND", at(20), carrier=carrier, tracking_no=tracking_no),
    )
    return await Order.get(order_no=order_no)


async def test_an_upload_is_due_once_the_order_is_paid_and_a_node_gave_the_tracking_number(
    db: TortoiseContext,
) -> None:
    # given an order shipped before its payment was reported, and one paid but not shipped
    await feed(
        b.placed("SO-S1", OPENID, at(0)),
        b.node("SO-S1", "OUTBOUND", at(20), carrier="顺丰速运", tracking_no="SF1"),
        b.placed("SO-S2", OPENID, at(0)),
        b.paid("SO-S2", at(1)),
    )
    assert await ShippingUpload.all().count() == 0

    # when the first one's payment arrives, and the OUTBOUND is sent again under a new id
    await feed(b.paid("SO-S1", at(1)))
    await feed(b.node("SO-S1", "OUTBOUND", at(20), carrier="顺丰速运", tracking_no="SF1"))

    # then exactly the paid, shipped order has one upload, due now
    order = await Order.get(order_no="SO-S1")
    assert [row.order_id for row in await ShippingUpload.all()] == [order.id]
    assert await due_order_ids() == [order.id]


async def test_the_upload_is_what_wechat_documents_for_one_express_package(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a paid order shipped with SF Express
    order = await shipped("SO-S3")
    async with running_sandbox() as sb:
        # when
        report = await upload(sb.client(arq_pool), order.id, consignor_contact=CONTACT, policy=FAST)

        # then
        assert report.status is ShippingUploadStatus.UPLOADED
        row = await ShippingUpload.get(order_id=order.id)
        assert row.payload is not None
        assert row.payload["order_key"] == {"order_number_type": 2, "transaction_id": order.transaction_id}
        assert (row.payload["logistics_type"], row.payload["delivery_mode"]) == (1, 1)
        assert row.payload["shipping_list"] == [
            {
                "tracking_no": "SF1234567890",
                "express_company": "SF",
                "item_desc": "龙井茶礼盒*1",
                "contact": {"consignor_contact": CONTACT},
            }
        ]
        assert str(row.payload["upload_time"]).endswith("+08:00")
        assert row.payload["payer"] == {"openid": OPENID}
        assert [p["order_state"] for p in await sb.shipping()] == [2]


async def test_a_carrier_without_a_wechat_code_fails_with_a_reason_and_calls_nothing(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a carrier WeChat's list does not know by that name
    order = await shipped("SO-S4", carrier="小明快运", tracking_no="XM1")
    async with running_sandbox() as sb:
        # when
        report = await upload(sb.client(arq_pool), order.id, consignor_contact=CONTACT, policy=FAST)

        # then
        assert report.status is ShippingUploadStatus.FAILED
        row = await ShippingUpload.get(order_id=order.id)
        assert row.detail == "carrier '小明快运' has no WeChat express company code"
        assert (await sb.stats())["counters"].get("upload_shipping_info", 0) == 0


async def test_sf_without_a_consignor_phone_is_refused_before_wechat(db: TortoiseContext) -> None:
    # given
    order = await shipped("SO-S5")

    # when / then
    try:
        build_payload(order, [], OPENID, upload_time=T0, consignor_contact=None)
    except ValueError as exc:
        assert "SHIPPING_CONSIGNOR_CONTACT" in str(exc)
    else:  # pragma: no cover - the assertion above is the test
        raise AssertionError("an SF upload without a contact was built")


async def test_a_refusal_for_good_keeps_wechats_errcode(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given WeChat already has a confirmed receipt for the payment (10060004: not shippable)
    order = await shipped("SO-S6", carrier="中通快递", tracking_no="ZTO1")
    assert order.transaction_id is not None
    async with running_sandbox() as sb:
        await sb.register_payment(transaction_id=order.transaction_id, openid=OPENID)
        await sb._json(
            "POST", "/sandbox/orders/state", json={"transaction_id": order.transaction_id, "order_state": 3}
        )

        # when
        report = await upload(sb.client(arq_pool), order.id, consignor_contact=CONTACT, policy=FAST)

    # then
    assert report.status is ShippingUploadStatus.FAILED
    row = await ShippingUpload.get(order_id=order.id)
    assert (row.status, row.errcode) == (ShippingUploadStatus.FAILED, 10060004)


async def test_a_run_after_an_attempt_that_may_have_reached_wechat_does_not_upload_again(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given an attempt whose worker died after WeChat took the upload: the row is UPLOADING, its
    # lease over, and WeChat shows the payment shipped
    order = await shipped("SO-S7", carrier="中通快递", tracking_no="ZTO7")
    async with running_sandbox() as sb:
        client = sb.client(arq_pool)
        first = build_payload(order, [], OPENID, upload_time=datetime.now(UTC), consignor_contact=None)
        await client.upload_shipping_info(first)
        await ShippingUpload.filter(order_id=order.id).update(
            status=ShippingUploadStatus.UPLOADING, attempts=1, next_attempt_at=datetime.now(UTC)
        )

        # when the upload runs again
        report = await upload(client, order.id, consignor_contact=CONTACT, policy=FAST)

        # then it records what WeChat has and uploads nothing more
        assert report.status is ShippingUploadStatus.UPLOADED
        assert [p["uploads"] for p in await sb.shipping()] == [1]
        assert (await sb.stats())["counters"]["upload_shipping_info"] == 1


async def test_an_upload_held_by_a_worker_is_not_taken_by_another(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a worker holds the upload (lease running)
    order = await shipped("SO-S8", carrier="中通快递", tracking_no="ZTO8")
    await ShippingUpload.filter(order_id=order.id).update(
        status=ShippingUploadStatus.UPLOADING,
        attempts=1,
        next_attempt_at=datetime.now(UTC) + timedelta(minutes=1),
    )
    async with running_sandbox() as sb:
        # when another run starts
        report = await upload(sb.client(arq_pool), order.id, consignor_contact=CONTACT, policy=FAST)

        # then it does nothing
        assert report.status is None
        assert (await sb.stats())["counters"].get("upload_shipping_info", 0) == 0


def test_the_item_description_fits_wechats_120_characters() -> None:
    from bff.models import OrderItem

    items = [OrderItem(name="很长的商品名称" * 5, quantity=1, position=i) for i in range(5)]
    assert len(item_description(items)) == 120
    assert item_description([]) == "商品"
