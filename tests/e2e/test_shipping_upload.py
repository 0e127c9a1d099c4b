"""Shipping information reaches WeChat once: supply-chain webhook → upload row → the dispatcher →
a real arq worker → WeChat's upload_shipping_info (the sandbox), replays and retries included."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from arq.connections import ArqRedis

from bff.models import Order, ShippingUpload, ShippingUploadStatus
from bff.orders.shipping import enqueue_due_uploads
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from tasks.shipping import dispatch_shipping_uploads
from tests.conftest import WorkerFactory
from tests.e2e.world import World, open_world, t, unique

pytestmark = pytest.mark.slow

OPENID = "oE2E_shipping_user_00000001"


async def wechat_payment(world: World, transaction_id: str) -> dict[str, Any]:
    found = [p for p in await world.sandbox.shipping() if p["transaction_id"] == transaction_id]
    assert len(found) == 1, found
    return found[0]


async def dispatch(world: World) -> None:
    """The dispatcher cron's one run, then the workers until nothing is left."""
    await dispatch_shipping_uploads({"redis": world.arq})
    await world.settle()


async def test_a_paid_orders_outbound_is_uploaded_once_even_when_replayed(
    settings: Settings, arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    async with open_world(settings, arq_pool, worker) as world:
        order_no = unique("SO")
        outbound = b.node(order_no, "OUTBOUND", t(-5), carrier="顺丰速运", tracking_no="SF1234567890")
        # given a paid order
        await world.supply_chain(b.placed(order_no, OPENID, t(-30)), b.paid(order_no, t(-29)))
        await dispatch(world)
        assert await ShippingUpload.all().count() == 0  # nothing shipped yet

        # when the supply chain reports it left the warehouse with SF Express
        await world.supply_chain(outbound)
        await dispatch(world)

        # then WeChat shows the payment shipped with the carrier's code and the tracking number
        order = await Order.get(order_no=order_no)
        assert order.transaction_id is not None
        payment = await wechat_payment(world, order.transaction_id)
        assert payment["order_state"] == 2
        assert payment["uploads"] == 1
        package = payment["shipping"]["shipping_list"][0]
        assert (package["express_company"], package["tracking_no"]) == ("SF", "SF1234567890")
        assert payment["shipping"]["payer"] == {"openid": OPENID}
        # and the order records the upload
        upload = await ShippingUpload.get(order_id=order.id)
        assert upload.status is ShippingUploadStatus.UPLOADED
        assert upload.uploaded_at is not None
        assert upload.payload == payment["shipping"]

        # when the OUTBOUND event is replayed, re-sent under a new id, and a later node repeats
        # the courier details
        again = b.node(order_no, "OUTBOUND", t(-5), carrier="顺丰速运", tracking_no="SF1234567890")
        later = b.node(order_no, "TRUNK_TRANSIT", t(-1), carrier="顺丰速运", tracking_no="SF1234567890")
        assert await world.supply_chain(outbound) == {"accepted": 0, "duplicates": 1}
        await world.supply_chain(again, later)
        await dispatch(world)
        await enqueue_due_uploads(world.arq)
        await world.settle()

        # then WeChat still has exactly one upload for the payment
        payment = await wechat_payment(world, order.transaction_id)
        assert payment["uploads"] == 1
        assert (await world.sandbox.stats())["counters"]["upload_shipping_info"] == 1
        assert await ShippingUpload.filter(order_id=order.id).count() == 1


async def test_an_upload_before_wechat_knows_the_payment_is_retried_until_it_does(
    settings: Settings, arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    # given WeChat's shipping service does not know a payment until it is registered (10060001)
    async with open_world(settings, arq_pool, worker, shipping_known_payments_only=True) as world:
        order_no = unique("SO")
        await world.supply_chain(
            b.placed(order_no, OPENID, t(-30)),
            b.paid(order_no, t(-29)),
            b.node(order_no, "OUTBOUND", t(-5), carrier="中通快递", tracking_no="ZTO998877"),
        )
        order = await Order.get(order_no=order_no)
        transaction_id = order.transaction_id
        assert transaction_id is not None

        async def payment_reaches_wechat_after_the_first_refusal() -> None:
            for _ in range(400):
                if await ShippingUpload.filter(order_id=order.id, errcode=10060001).exists():
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the first upload was never refused with 10060001")
            await world.sandbox.register_payment(transaction_id=transaction_id, openid=OPENID)

        # when the upload runs (the first attempt is refused, the retry comes ≥ 10 s later)
        await asyncio.wait_for(
            asyncio.gather(dispatch(world), payment_reaches_wechat_after_the_first_refusal()), 60
        )

        # then the retry uploaded it, once
        upload = await ShippingUpload.get(order_id=order.id)
        assert (upload.status, upload.attempts) == (ShippingUploadStatus.UPLOADED, 2)
        payment = await wechat_payment(world, transaction_id)
        assert (payment["order_state"], payment["uploads"]) == (2, 1)
        assert payment["shipping"]["shipping_list"][0]["express_company"] == "ZTO"
