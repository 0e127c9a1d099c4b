"""GraphQL types of the order tracking tab (schema/operations/miniprogram.graphql: OrderList, OrderDetail).

`OrderType` wraps an `Order` row that is already scoped to the viewer; its list-valued and
related fields go through per-request DataLoaders, so a page costs the same queries whatever
it holds. Money is a decimal string ("129.00"); times are ISO 8601 in the business time zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum

import strawberry

from bff.catalog.topics import NODE_TITLES
from bff.models.orders import DecidedBy, DeliverySlotOffer, Order, OrderExceptionLink, OrderStatus
from bff.orders import queries
from schema.context import Info
from schema.notices import loaders as notice_loaders
from schema.orders import loaders

# The domain enums become GraphQL enums in place (strawberry.enum returns the same class).
strawberry.enum(OrderStatus, name="OrderStatus")
strawberry.enum(DecidedBy, name="DecidedBy", description="USER, or DEFAULT when the deadline passed")


# These two repeat domain lists by hand (the catalog's nodes, the supply chain's exception kinds)
# so that the schema names a class; tests/schema/test_enums.py fails when either drifts.
@strawberry.enum(description="Supply-chain nodes, in order (stock orders skip the first three)")
class OrderNodeKind(Enum):
    MATERIAL_IN = "MATERIAL_IN"
    PRODUCTION_STARTED = "PRODUCTION_STARTED"
    QC_PASSED = "QC_PASSED"
    OUTBOUND = "OUTBOUND"
    TRUNK_TRANSIT = "TRUNK_TRANSIT"
    COURIER_ACCEPTED = "COURIER_ACCEPTED"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERED = "DELIVERED"


@strawberry.enum
class ExceptionKind(Enum):
    DELAY = "DELAY"
    STOCKOUT = "STOCKOUT"
    LOGISTICS_JAM = "LOGISTICS_JAM"
    DAMAGED = "DAMAGED"


def iso(info: Info, value: datetime) -> str:
    """A time as the mini-program shows it: ISO 8601 to the second, with the business zone's offset.

    Whole seconds for every field: the BFF's own moments (decisions, receipts) carry milliseconds
    and the supply chain's may carry any fraction, which the mini-program would show unevenly."""
    return value.astimezone(info.context.resources.settings.zone).isoformat(timespec="seconds")


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def _now() -> datetime:
    return datetime.now(UTC)


@strawberry.type(name="OrderItem")
class OrderItemType:
    sku_code: str
    name: str
    quantity: int
    unit_price: str = strawberry.field(description="Decimal string in yuan")


@strawberry.type(name="OrderNodeStatus")
class NodeStatusType:
    kind: OrderNodeKind
    title: str
    occurred_at: str


@strawberry.type(name="TimelineEntry")
class TimelineEntryType:
    kind: OrderNodeKind
    title: str
    occurred_at: str
    location: str
    note: str


@strawberry.type(name="UpcomingNode")
class UpcomingNodeType:
    kind: OrderNodeKind
    title: str
    expected_at: str | None = strawberry.field(description="Latest ETA the supply chain gave; null if none")


@strawberry.type(name="Shipment")
class ShipmentType:
    carrier: str | None
    tracking_no: str | None
    estimated_arrival: str | None


@strawberry.type(name="PresaleProgress")
class PresaleProgressType:
    stage: str
    progress_percent: int
    expected_ship_date: str | None = strawberry.field(description="YYYY-MM-DD")


@strawberry.type(name="DeliverySlot")
class DeliverySlotType:
    id: strawberry.ID
    label: str
    starts_at: str
    ends_at: str


@strawberry.type(name="DeliverySlotOffer")
class DeliverySlotOfferType:
    deadline: str
    default_slot_id: strawberry.ID
    chosen: DeliverySlotType | None
    options: list[DeliverySlotType]
    decided_by: DecidedBy | None
    decided_at: str | None


@strawberry.type(name="ExceptionOption")
class ExceptionOptionType:
    code: str
    label: str


@strawberry.type(name="OrderException")
class OrderExceptionType:
    id: strawberry.ID = strawberry.field(description="The supply chain's exceptionId")
    kind: ExceptionKind
    reason: str
    deadline: str
    default_option: str
    options: list[ExceptionOptionType]
    chosen: str | None = strawberry.field(description="The option decided for this order, if any")
    decided_by: DecidedBy | None
    decided_at: str | None


@strawberry.type(name="OrderNotice")
class OrderNoticeType:
    topic: str
    template_title: str
    status: str
    sent_at: str | None


@strawberry.type(name="Receipt")
class ReceiptType:
    confirmed_at: str
    rating: int | None
    comment: str | None


def _slot(info: Info, option: dict[str, str]) -> DeliverySlotType:
    return DeliverySlotType(
        id=strawberry.ID(option["id"]),
        label=option["label"],
        starts_at=iso(info, datetime.fromisoformat(option["startsAt"])),
        ends_at=iso(info, datetime.fromisoformat(option["endsAt"])),
    )


def slot_offer_type(info: Info, offer: DeliverySlotOffer) -> DeliverySlotOfferType:
    options = [_slot(info, option) for option in offer.options]
    chosen = next((slot for slot in options if slot.id == offer.chosen_slot_id), None)
    return DeliverySlotOfferType(
        deadline=iso(info, offer.deadline),
        default_slot_id=strawberry.ID(offer.default_slot_id),
        chosen=chosen,
        options=options,
        decided_by=offer.decided_by,
        decided_at=iso(info, offer.decided_at) if offer.decided_at else None,
    )


def exception_type(info: Info, link: OrderExceptionLink) -> OrderExceptionType:
    exception = link.exception
    return OrderExceptionType(
        id=strawberry.ID(exception.exception_id),
        kind=ExceptionKind(exception.kind),
        reason=exception.reason,
        deadline=iso(info, exception.deadline),
        default_option=exception.default_option,
        options=[ExceptionOptionType(code=o["code"], label=o["label"]) for o in exception.options],
        chosen=link.chosen_option,
        decided_by=link.decided_by,
        decided_at=iso(info, link.decided_at) if link.decided_at else None,
    )


@strawberry.type(name="Order")
class OrderType:
    """One order of the viewer. Build with `OrderType.from_model(info, order)` from a scoped row.

    The fields that come from the order row alone are plain values, set once when the order is
    built (strawberry resolves them as attributes, without a resolver call per field: a page of
    twenty orders has a hundred of them); the list-valued and related fields go through loaders.
    """

    row: strawberry.Private[Order]
    order_no: str
    status: OrderStatus
    placed_at: str
    paid_at: str | None
    total_amount: str  # Decimal string in yuan
    # The exception `exception` shows when set (resolveException: the one it resolved).
    focus_exception_id: strawberry.Private[str | None] = None

    @classmethod
    def from_model(cls, info: Info, order: Order, *, focus_exception_id: str | None = None) -> OrderType:
        return cls(
            row=order,
            order_no=order.order_no,
            status=order.status,
            placed_at=iso(info, order.placed_at),
            paid_at=iso(info, order.paid_at) if order.paid_at else None,
            total_amount=money(order.total_amount),
            focus_exception_id=focus_exception_id,
        )

    @strawberry.field
    async def items(self, info: Info) -> list[OrderItemType]:
        rows = await loaders.items(info).load(self.row.id)
        return [
            OrderItemType(
                sku_code=i.sku_code, name=i.name, quantity=i.quantity, unit_price=money(i.unit_price)
            )
            for i in rows
        ]

    # The latest node by occurredAt; null before the first one
    @strawberry.field
    def current_node(self, info: Info) -> NodeStatusType | None:
        node, occurred_at = self.row.current_node, self.row.current_node_at
        if node is None or occurred_at is None:
            return None
        return NodeStatusType(
            kind=OrderNodeKind(node), title=NODE_TITLES[node], occurred_at=iso(info, occurred_at)
        )

    # An open exception, a slot to choose, or a delivery to confirm
    @strawberry.field
    async def needs_action(self, info: Info) -> bool:
        offer = await loaders.slot_offer(info).load(self.row.id)
        links = await loaders.exception_links(info).load(self.row.id)
        return queries.needs_action(self.row, offer, links, _now())

    # Every node reached, ordered by occurredAt
    @strawberry.field
    async def timeline(self, info: Info) -> list[TimelineEntryType]:
        return [
            TimelineEntryType(
                kind=OrderNodeKind(e.node),
                title=NODE_TITLES[e.node],
                occurred_at=iso(info, e.occurred_at),
                location=e.location,
                note=e.note,
            )
            for e in await loaders.timeline(info).load(self.row.id)
        ]

    # Nodes still ahead, with their latest ETA
    @strawberry.field
    async def upcoming(self, info: Info) -> list[UpcomingNodeType]:
        timeline = await loaders.timeline(info).load(self.row.id)
        expectations = await loaders.expectations(info).load(self.row.id)
        return [
            UpcomingNodeType(
                kind=OrderNodeKind(u.node),
                title=NODE_TITLES[u.node],
                expected_at=iso(info, u.expected_at) if u.expected_at else None,
            )
            for u in queries.upcoming_nodes(self.row, timeline, expectations)
        ]

    # Courier details, once a node carried them
    @strawberry.field
    def shipment(self, info: Info) -> ShipmentType | None:
        o = self.row
        if o.carrier is None and o.tracking_no is None and o.estimated_arrival is None:
            return None
        return ShipmentType(
            carrier=o.carrier,
            tracking_no=o.tracking_no,
            estimated_arrival=iso(info, o.estimated_arrival) if o.estimated_arrival else None,
        )

    # Production progress of a presale order, once reported
    @strawberry.field
    def presale(self) -> PresaleProgressType | None:
        o = self.row
        if o.presale_stage is None or o.presale_progress_percent is None:
            return None
        ship: date | None = o.presale_expected_ship_date
        return PresaleProgressType(
            stage=o.presale_stage,
            progress_percent=o.presale_progress_percent,
            expected_ship_date=ship.isoformat() if ship else None,
        )

    # The delivery slots offered, the deadline and the choice
    @strawberry.field
    async def delivery_slot(self, info: Info) -> DeliverySlotOfferType | None:
        offer = await loaders.slot_offer(info).load(self.row.id)
        return slot_offer_type(info, offer) if offer else None

    # One exception (the contract's field is singular): the open one due first, else the latest;
    # in resolveException's answer, the exception it resolved
    @strawberry.field
    async def exception(self, info: Info) -> OrderExceptionType | None:
        links = await loaders.exception_links(info).load(self.row.id)
        link = queries.shown_exception(links, _now(), focus=self.focus_exception_id)
        return exception_type(info, link) if link else None

    # Every exception of the order: those awaiting a decision first (due first), then the others
    @strawberry.field
    async def exceptions(self, info: Info) -> list[OrderExceptionType]:
        links = await loaders.exception_links(info).load(self.row.id)
        return [exception_type(info, link) for link in queries.ordered_exception_links(links, _now())]

    # Notices sent or planned about this order
    @strawberry.field
    async def notices(self, info: Info) -> list[OrderNoticeType]:
        rows = await notice_loaders.by_order(info).load((self.row.user_id, self.row.order_no))  # type: ignore[attr-defined]
        return [
            OrderNoticeType(
                topic=n.topic,
                template_title=notice_loaders.template_title(info, n.template_id),
                status=n.status.value,
                sent_at=iso(info, n.sent_at) if n.sent_at else None,
            )
            for n in rows
        ]

    @strawberry.field
    async def receipt(self, info: Info) -> ReceiptType | None:
        row = await loaders.receipt(info).load(self.row.id)
        if row is None:
            return None
        return ReceiptType(confirmed_at=iso(info, row.confirmed_at), rating=row.rating, comment=row.comment)


@strawberry.type(name="PageInfo")
class PageInfoType:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(name="OrderEdge")
class OrderEdgeType:
    cursor: str
    node: OrderType


@strawberry.type(name="OrderConnection")
class OrderConnectionType:
    total_count: int
    page_info: PageInfoType
    edges: list[OrderEdgeType]

    @classmethod
    def from_page(cls, info: Info, page: queries.OrderPage) -> OrderConnectionType:
        return cls(
            total_count=page.total_count,
            page_info=PageInfoType(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
            edges=[
                OrderEdgeType(cursor=cursor, node=OrderType.from_model(info, order))
                for order, cursor in zip(page.orders, page.cursors, strict=True)
            ],
        )
