"""The supply chain's events as typed values (docs/supply-chain.md, "In").

One frozen dataclass per event type, what `bff.supply_chain.parsing` builds from a webhook body
and what ingestion stores and applies. Nothing here reads JSON or touches the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, TypeAlias

EXCEPTION_KINDS: tuple[str, ...] = ("DELAY", "STOCKOUT", "LOGISTICS_JAM", "DAMAGED")


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EventBase:
    """Fields every event has; ``type`` is fixed by the subclass."""

    TYPE: ClassVar[str] = ""
    event_id: str
    occurred_at: datetime
    type: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", self.TYPE)


@dataclass(frozen=True, kw_only=True)
class Item:
    sku_code: str
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, kw_only=True)
class PlacedOrder:
    order_no: str
    openid: str
    placed_at: datetime
    total_amount: Decimal
    region: str
    warehouse: str
    presale: bool
    items: tuple[Item, ...]


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(EventBase):
    TYPE: ClassVar[str] = "order.placed"
    order: PlacedOrder


@dataclass(frozen=True, kw_only=True)
class OrderPaid(EventBase):
    TYPE: ClassVar[str] = "order.paid"
    order_no: str
    paid_at: datetime
    transaction_id: str


@dataclass(frozen=True, kw_only=True)
class ExpectedNode:
    node: str
    expected_at: datetime


@dataclass(frozen=True, kw_only=True)
class OrderNode(EventBase):
    TYPE: ClassVar[str] = "order.node"
    order_no: str
    node: str
    location: str
    note: str
    carrier: str | None = None
    tracking_no: str | None = None
    estimated_arrival: datetime | None = None
    expected: tuple[ExpectedNode, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PresaleProgress(EventBase):
    TYPE: ClassVar[str] = "order.presale_progress"
    order_no: str
    stage: str
    progress_percent: int
    expected_ship_date: date | None = None


@dataclass(frozen=True, kw_only=True)
class Slot:
    id: str
    label: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, kw_only=True)
class DeliverySlots(EventBase):
    TYPE: ClassVar[str] = "order.delivery_slots"
    order_no: str
    deadline: datetime
    default_slot_id: str
    slots: tuple[Slot, ...]


@dataclass(frozen=True, kw_only=True)
class Option:
    code: str
    label: str


@dataclass(frozen=True, kw_only=True)
class ExceptionScope:
    """Every open order matching all the given fields (at least one is given)."""

    warehouse: str | None = None
    sku_code: str | None = None
    region: str | None = None


@dataclass(frozen=True, kw_only=True)
class OrderException(EventBase):
    TYPE: ClassVar[str] = "order.exception"
    exception_id: str
    kind: str
    reason: str
    deadline: datetime
    default_option: str
    options: tuple[Option, ...]
    # Exactly one of order_nos and scope is set.
    order_nos: tuple[str, ...] | None = None
    scope: ExceptionScope | None = None


@dataclass(frozen=True, kw_only=True)
class OrderCancelled(EventBase):
    TYPE: ClassVar[str] = "order.cancelled"
    order_no: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Maintenance:
    after_days: int
    title: str


@dataclass(frozen=True, kw_only=True)
class Sku:
    sku_code: str
    name: str
    category: str
    consumable: bool
    usage_days_per_unit: int | None
    maintenance: tuple[Maintenance, ...]
    renewal_after_days: int | None


@dataclass(frozen=True, kw_only=True)
class SkuUpsert(EventBase):
    TYPE: ClassVar[str] = "sku.upsert"
    sku: Sku


@dataclass(frozen=True, kw_only=True)
class Member:
    openid: str
    member_tier: str
    points: int
    points_expire_at: datetime | None
    birthday: str | None  # MM-DD
    region: str | None


@dataclass(frozen=True, kw_only=True)
class MemberUpsert(EventBase):
    TYPE: ClassVar[str] = "member.upsert"
    member: Member


SupplyChainEvent: TypeAlias = (
    OrderPlaced
    | OrderPaid
    | OrderNode
    | PresaleProgress
    | DeliverySlots
    | OrderException
    | OrderCancelled
    | SkuUpsert
    | MemberUpsert
)

EVENT_TYPES: Mapping[str, type[EventBase]] = {
    cls.TYPE: cls
    for cls in (
        OrderPlaced,
        OrderPaid,
        OrderNode,
        PresaleProgress,
        DeliverySlots,
        OrderException,
        OrderCancelled,
        SkuUpsert,
        MemberUpsert,
    )
}
