"""Demo data (bff/demo/orders.py): the demo user's orders in every state, and the replay story."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.context import TortoiseContext

from bff.demo import orders as demo
from bff.inbound.supply_chain import ingest_body
from bff.models import DeliverySlotOffer, Order, OrderExceptionLink, OrderStatus, User
from bff.supply_chain import builders as b


async def test_the_seed_gives_the_demo_user_an_order_in_every_state(db: TortoiseContext) -> None:
    # given
    user = await User.create(openid="oDEMO_user_0000000000000001")

    # when
    line = await demo.seed_orders(user)

    # then
    status = dict(await Order.filter(user=user).values_list("order_no", "status"))
    assert status == {
        demo.IN_PRODUCTION: OrderStatus.IN_PRODUCTION,
        demo.IN_TRANSIT: OrderStatus.SHIPPED,
        demo.SLOT_TO_CHOOSE: OrderStatus.SHIPPED,
        demo.OPEN_EXCEPTION: OrderStatus.PAID,
        demo.DELIVERED: OrderStatus.DELIVERED,
        demo.PRESALE: OrderStatus.IN_PRODUCTION,
        demo.COMPLETED: OrderStatus.COMPLETED,
        demo.CANCELLED: OrderStatus.CANCELLED,
    }
    now = datetime.now(UTC)
    offer = await DeliverySlotOffer.get(order__order_no=demo.SLOT_TO_CHOOSE)
    assert offer.chosen_slot_id is None and offer.deadline > now
    link = await OrderExceptionLink.get(order__order_no=demo.OPEN_EXCEPTION).prefetch_related("exception")
    assert link.chosen_option is None and link.exception.deadline > now
    assert "8 demo orders" in line


async def test_the_replay_story_moves_the_seeded_orders_on_and_replays_as_duplicates(
    db: TortoiseContext,
) -> None:
    # given
    user = await User.create(openid="oDEMO_user_0000000000000001")
    await demo.seed_orders(user)
    now = datetime.now(UTC).replace(microsecond=0)
    story = [stamped(now) for _, stamped in demo.replay_story(user.openid, "LV-REPLAY-1")]

    # when
    first = [await ingest_body(b.body(event)) for event in story]
    again = await ingest_body(b.body(*(e for e in story if e["eventId"].startswith("evt-replay-"))))

    # then
    assert all(result.accepted == 1 for result in first)
    assert again.accepted == 0
    transit = await Order.get(order_no=demo.IN_TRANSIT)
    assert transit.status == OrderStatus.DELIVERED
    assert (await Order.get(order_no=demo.PRESALE)).presale_progress_percent == 100
    new = await Order.get(order_no="LV-REPLAY-1")
    assert new.status == OrderStatus.SHIPPED
    assert await OrderExceptionLink.filter(order=new).exists()  # reached by the warehouse+SKU scope
