"""Read services of the order tracking tab: pages of a user's orders, one order, and the batch
reads the GraphQL loaders call (one query per kind of row for a whole page of orders).

Every entry point takes the user id and only ever returns that user's orders: another user's
order is indistinguishable from a missing one.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q

from bff.catalog.nodes import ORDER_NO_MAX_LENGTH, is_made_to_order, node_rank, nodes_ahead
from bff.models.orders import (
    DeliverySlotOffer,
    Order,
    OrderExceptionLink,
    OrderItem,
    OrderNodeEvent,
    OrderNodeExpectation,
    OrderReceipt,
    OrderStatus,
)
from bff.runtime.prepared import select as _select

MAX_PAGE_SIZE = 50


class PageRequestError(ValueError):
    """A page request the caller must fix (size out of range, cursor not one of ours)."""


# -- pages -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    cursors: list[str]
    has_next_page: bool
    total_count: int

    @property
    def end_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None


def encode_cursor(order: Order) -> str:
    """An opaque cursor for the keyset (placed_at, id) of `order`, newest first."""
    raw = f"{order.placed_at.isoformat()}|{order.id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    refusal = PageRequestError(f"after: {cursor[:80]!r} is not a cursor of this list")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        placed_at_text, id_text = raw.split("|")
        placed_at = datetime.fromisoformat(placed_at_text)
        order_id = int(id_text)
        # Only values an order can have: the database refuses an id past int64 and a time
        # outside its range (year 1 with a positive offset is before year 1 in UTC).
        placed_at_utc = placed_at.astimezone(UTC)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise refusal from None
    if placed_at.tzinfo is None or not 0 < order_id < 2**63 or not 1970 <= placed_at_utc.year < 9999:
        raise refusal
    return placed_at, order_id


def could_be_order_no(order_no: str) -> bool:
    """False for a string no order number can be (longer than the column): such a lookup
    finds nothing, rather than failing the ORM's length check."""
    return len(order_no) <= ORDER_NO_MAX_LENGTH


async def list_orders(
    user_id: int, *, first: int, after: str | None = None, status: OrderStatus | None = None
) -> OrderPage:
    """A page of the user's orders, newest first, `first` at a time after cursor `after`.

    Keyset pagination on (placed_at, id): orders placed meanwhile never shift a page.
    Two queries: the page (one row over, to know if another follows) and the total count.
    """
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise PageRequestError(f"first: must be between 1 and {MAX_PAGE_SIZE}, got {first}")
    base = Order.filter(user_id=user_id)
    if status is not None:
        base = base.filter(status=status)
    page = base
    if after is not None:
        placed_at, order_id = decode_cursor(after)
        page = page.filter(Q(placed_at__lt=placed_at) | Q(placed_at=placed_at, id__lt=order_id))
    rows = await page.order_by("-placed_at", "-id").limit(first + 1)
    total = await base.count()
    orders = rows[:first]
    return OrderPage(
        orders=orders,
        cursors=[encode_cursor(order) for order in orders],
        has_next_page=len(rows) > first,
        total_count=total,
    )


async def get_order(user_id: int, order_no: str) -> Order | None:
    """The user's order `order_no`; None when it does not exist or is someone else's."""
    if not could_be_order_no(order_no):
        return None
    return await Order.get_or_none(user_id=user_id, order_no=order_no)


# -- batch reads (for DataLoaders): one query for all the orders of a page ------------------------


async def items_by_order(order_ids: Sequence[int]) -> dict[int, list[OrderItem]]:
    grouped: dict[int, list[OrderItem]] = defaultdict(list)
    ids = list(order_ids)
    rows = await _select(
        OrderItem, "items", ids, lambda: OrderItem.filter(order_id__in=ids).order_by("order_id", "position")
    )
    for item in rows:
        grouped[item.order_id].append(item)  # type: ignore[attr-defined]
    return grouped


def _timeline_key(event: OrderNodeEvent) -> tuple[datetime, int, int]:
    return event.occurred_at, node_rank(event.node), event.id


async def timelines_by_order(order_ids: Sequence[int]) -> dict[int, list[OrderNodeEvent]]:
    grouped: dict[int, list[OrderNodeEvent]] = defaultdict(list)
    ids = list(order_ids)
    events = await _select(OrderNodeEvent, "timeline", ids, lambda: OrderNodeEvent.filter(order_id__in=ids))
    for event in events:
        grouped[event.order_id].append(event)  # type: ignore[attr-defined]
    return {order_id: sorted(events, key=_timeline_key) for order_id, events in grouped.items()}


async def expectations_by_order(order_ids: Sequence[int]) -> dict[int, list[OrderNodeExpectation]]:
    grouped: dict[int, list[OrderNodeExpectation]] = defaultdict(list)
    ids = list(order_ids)
    for row in await _select(
        OrderNodeExpectation, "expectations", ids, lambda: OrderNodeExpectation.filter(order_id__in=ids)
    ):
        grouped[row.order_id].append(row)  # type: ignore[attr-defined]
    return grouped


async def slot_offers_by_order(order_ids: Sequence[int]) -> dict[int, DeliverySlotOffer]:
    ids = list(order_ids)
    return {
        offer.order_id: offer  # type: ignore[attr-defined]
        for offer in await _select(
            DeliverySlotOffer, "slot_offers", ids, lambda: DeliverySlotOffer.filter(order_id__in=ids)
        )
    }


async def exception_links_by_order(order_ids: Sequence[int]) -> dict[int, list[OrderExceptionLink]]:
    """Each order's exception links with their exception (joined: one query), oldest first."""
    grouped: dict[int, list[OrderExceptionLink]] = defaultdict(list)
    links = (
        await OrderExceptionLink.filter(order_id__in=list(order_ids))
        .select_related("exception")
        .order_by("id")
    )
    for link in links:
        grouped[link.order_id].append(link)  # type: ignore[attr-defined]
    return grouped


async def receipts_by_order(order_ids: Sequence[int]) -> dict[int, OrderReceipt]:
    ids = list(order_ids)
    receipts = await _select(OrderReceipt, "receipts", ids, lambda: OrderReceipt.filter(order_id__in=ids))
    return {receipt.order_id: receipt for receipt in receipts}  # type: ignore[attr-defined]


# -- what the tab shows, from those rows (pure) ---------------------------------------------------


@dataclass(frozen=True)
class UpcomingNode:
    node: str
    expected_at: datetime | None


def upcoming_nodes(
    order: Order, timeline: Sequence[OrderNodeEvent], expectations: Sequence[OrderNodeExpectation]
) -> list[UpcomingNode]:
    """The nodes still ahead of the current one, in order, with their latest ETA (if given).

    Stock orders skip the production nodes: they are shown only for presale orders, or once the
    supply chain reported or expected one of them.
    """
    if order.status == OrderStatus.CANCELLED:
        return []
    eta = {row.node: row.expected_at for row in expectations}
    reached = {event.node for event in timeline}
    made_to_order = is_made_to_order(presale=order.presale, known_nodes=reached | eta.keys())
    return [
        UpcomingNode(node=node, expected_at=eta.get(node))
        for node in nodes_ahead(order.current_node, made_to_order=made_to_order, reached=reached)
    ]


def open_exception_links(links: Sequence[OrderExceptionLink], now: datetime) -> list[OrderExceptionLink]:
    """Links still waiting for the user's decision (undecided, deadline ahead)."""
    return [link for link in links if link.chosen_option is None and link.exception.deadline > now]


def ordered_exception_links(links: Sequence[OrderExceptionLink], now: datetime) -> list[OrderExceptionLink]:
    """Every exception of an order in the order the mini-program should show them: those still
    waiting for the user's decision first, the one due first leading (ties: the one linked
    first), then the others newest first."""
    waiting = open_exception_links(links, now)
    open_ids = {link.id for link in waiting}
    rest = [link for link in links if link.id not in open_ids]
    return sorted(waiting, key=lambda link: (link.exception.deadline, link.id)) + sorted(
        rest, key=lambda link: link.id, reverse=True
    )


def shown_exception(
    links: Sequence[OrderExceptionLink], now: datetime, *, focus: str | None = None
) -> OrderExceptionLink | None:
    """The one exception the order's single `exception` field shows (the contract allows one).

    ``focus`` (the supply chain's exceptionId) is the exception the caller just acted on:
    resolveException answers with the exception it resolved, not with another one. Without a
    focus (or when the order has no such exception): the open one due first, else the latest.
    """
    if focus is not None:
        focused = next((link for link in links if link.exception.exception_id == focus), None)
        if focused is not None:
            return focused
    ordered = ordered_exception_links(links, now)
    return ordered[0] if ordered else None


def slot_awaits_choice(offer: DeliverySlotOffer | None, now: datetime) -> bool:
    return offer is not None and offer.chosen_slot_id is None and offer.deadline > now


def needs_action(
    order: Order, offer: DeliverySlotOffer | None, links: Sequence[OrderExceptionLink], now: datetime
) -> bool:
    """An open exception, a slot to choose before its deadline, or a delivery to confirm."""
    if order.status == OrderStatus.CANCELLED:
        return False
    return (
        bool(open_exception_links(links, now))
        or slot_awaits_choice(offer, now)
        or order.status == OrderStatus.DELIVERED
    )
