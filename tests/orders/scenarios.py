"""Orders in the states a decision needs, built the way the supply chain builds them: by feeding
its events to ingestion (`bff.supply_chain.builders`), never by writing order rows directly."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bff.inbound.supply_chain import ingest_body
from bff.models import Order, OrderStatus, User
from bff.supply_chain import builders as b

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)  # when the orders were placed
SLOTS: tuple[tuple[str, str], ...] = (("SLOT-AM", "明天上午 9:00-12:00"), ("SLOT-PM", "明天下午 14:00-18:00"))

# Events up to each status, after order.placed (hours after T0).
_PATH: dict[OrderStatus, tuple[tuple[str, float], ...]] = {
    OrderStatus.PENDING_PAYMENT: (),
    OrderStatus.PAID: (("paid", 1),),
    OrderStatus.IN_PRODUCTION: (("paid", 1), ("PRODUCTION_STARTED", 2)),
    OrderStatus.SHIPPED: (("paid", 1), ("OUTBOUND", 5)),
    OrderStatus.DELIVERED: (("paid", 1), ("OUTBOUND", 5), ("DELIVERED", 30)),
}


def openid_for(name: str) -> str:
    return f"o{name}_decisions_0000000000001"[:28]


async def place_order(order_no: str, openid: str, status: OrderStatus = OrderStatus.PAID) -> Order:
    """An order of `openid` that has reached `status` (PENDING_PAYMENT … DELIVERED, CANCELLED)."""
    events = [b.placed(order_no, openid, T0)]
    path = _PATH[OrderStatus.PAID if status == OrderStatus.CANCELLED else status]
    for step, hours in path:
        at = T0 + timedelta(hours=hours)
        events.append(b.paid(order_no, at) if step == "paid" else b.node(order_no, step, at))
    if status == OrderStatus.CANCELLED:
        events.append(b.cancelled(order_no, T0 + timedelta(hours=2)))
    await ingest_body(b.body(*events))
    order = await Order.get(order_no=order_no)
    assert order.status == status, f"{order_no} is {order.status}, wanted {status}"
    return order


async def user_of(openid: str) -> User:
    return await User.get(openid=openid)


async def offer_slots(
    order_no: str,
    *,
    deadline: datetime,
    slots: Sequence[tuple[str, str]] = SLOTS,
    default_slot_id: str | None = None,
    offered_at: datetime | None = None,
) -> None:
    """An `order.delivery_slots` event for the order (slots start the day after the deadline)."""
    start = deadline + timedelta(days=1)
    event = b.delivery_slots(
        order_no,
        offered_at or T0 + timedelta(hours=6),
        deadline,
        [
            (slot_id, label, start + timedelta(hours=4 * n), start + timedelta(hours=4 * n + 3))
            for n, (slot_id, label) in enumerate(slots)
        ],
        default_slot_id=default_slot_id,
    )
    await ingest_body(b.body(event))


async def raise_exception(
    exception_id: str,
    *,
    deadline: datetime,
    order_nos: Sequence[str] | None = None,
    scope: dict[str, str] | None = None,
    default_option: str = "WAIT",
) -> None:
    """An `order.exception` event with the builders' options (WAIT, CHANGE_WAREHOUSE, COUPON, CANCEL)."""
    event = b.exception(
        exception_id,
        T0 + timedelta(hours=7),
        deadline,
        order_nos=order_nos,
        scope=scope,
        default_option=default_option,
    )
    await ingest_body(b.body(event))


def in_hours(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


async def bulk_orders(
    prefix: str, count: int, *, warehouse: str, status: OrderStatus = OrderStatus.PAID
) -> None:
    """`count` orders of one user, written in bulk (as a large shop has them) rather than through
    ingestion, for tests about scoped exceptions over many orders."""
    user, _ = await User.get_or_create(openid=openid_for(prefix))
    await Order.bulk_create(
        [
            Order(
                order_no=f"{prefix}{n:06d}",
                user_id=user.id,
                status=status,
                placed_at=T0 + timedelta(seconds=n),
                paid_at=T0 + timedelta(seconds=n + 60),
                total_amount=Decimal("129.00"),
                region="浙江省杭州市",
                warehouse=warehouse,
            )
            for n in range(count)
        ],
        batch_size=500,
    )
