"""Orders as the supply chain tells us about them, and what users decide on them.

The supply chain is the source of truth: every webhook event is kept as it came
(`SupplyChainEvent`, unique by `event_id`), and the order rows below are a projection of those
events, kept current by `bff.orders.projection`. User decisions (slot chosen, exception
resolved, receipt confirmed) are written on the same rows by the decision services.

Times are stored in UTC; ordering of the timeline is by the supply chain's `occurred_at`, not by
arrival, because events may arrive out of order.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from bff.models.users import User


class OrderStatus(StrEnum):
    """The mini-program's `OrderStatus` — `bff.orders.status.derive_status` is the one place that sets it."""

    PENDING_PAYMENT = "PENDING_PAYMENT"
    PAID = "PAID"
    IN_PRODUCTION = "IN_PRODUCTION"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


# Orders a supply-chain exception can still affect (scoped exceptions match only these).
OPEN_STATUSES: tuple[OrderStatus, ...] = (
    OrderStatus.PENDING_PAYMENT,
    OrderStatus.PAID,
    OrderStatus.IN_PRODUCTION,
    OrderStatus.SHIPPED,
)


class DecidedBy(StrEnum):
    """Who made a decision: the user, or the default applied when the deadline passed."""

    USER = "USER"
    DEFAULT = "DEFAULT"


class Order(Model):
    id = fields.BigIntField(primary_key=True)
    order_no = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="orders", on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(OrderStatus, max_length=20, default=OrderStatus.PENDING_PAYMENT)
    placed_at = fields.DatetimeField()
    paid_at = fields.DatetimeField(null=True)
    transaction_id = fields.CharField(max_length=64, null=True)
    total_amount = fields.DecimalField(max_digits=14, decimal_places=2)
    region = fields.CharField(max_length=64)
    warehouse = fields.CharField(max_length=200)
    presale = fields.BooleanField(default=False)

    # The latest node by occurred_at (None before the first node event).
    current_node = fields.CharField(max_length=32, null=True)
    current_node_at = fields.DatetimeField(null=True)

    # Shipment, from the latest node event (by occurred_at) that carried courier fields.
    carrier = fields.CharField(max_length=200, null=True)
    tracking_no = fields.CharField(max_length=64, null=True)
    estimated_arrival = fields.DatetimeField(null=True)
    shipment_updated_at = fields.DatetimeField(null=True)  # occurred_at of that event

    # Presale progress, from the latest order.presale_progress event (by occurred_at).
    presale_stage = fields.CharField(max_length=200, null=True)
    presale_progress_percent = fields.IntField(null=True)
    presale_expected_ship_date = fields.DateField(null=True)
    presale_updated_at = fields.DatetimeField(null=True)

    cancelled_at = fields.DatetimeField(null=True)
    cancel_reason = fields.CharField(max_length=1000, null=True)

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    items: fields.ReverseRelation[OrderItem]
    node_events: fields.ReverseRelation[OrderNodeEvent]
    exception_links: fields.ReverseRelation[OrderExceptionLink]

    class Meta:
        table = "orders"
        indexes = (
            # viewer.orders: keyset pages newest first, with and without a status filter
            ("user_id", "placed_at", "id"),
            ("user_id", "status", "placed_at", "id"),
            # scoped exceptions: open orders by warehouse / region
            ("warehouse", "status"),
            ("region", "status"),
        )

    def __str__(self) -> str:
        return f"Order({self.order_no})"


class OrderItem(Model):
    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="items", on_delete=fields.CASCADE
    )
    position = fields.IntField()  # index in order.placed's items, to keep the sender's order
    sku_code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    quantity = fields.IntField()
    unit_price = fields.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        table = "order_items"
        unique_together = (("order_id", "position"),)
        indexes = (("sku_code", "order_id"),)  # scoped exceptions by SKU


class OrderNodeEvent(Model):
    """One supply-chain node of an order: the timeline, ordered by occurred_at."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="node_events", on_delete=fields.CASCADE
    )
    node = fields.CharField(max_length=32)
    occurred_at = fields.DatetimeField()
    location = fields.CharField(max_length=200)
    note = fields.CharField(max_length=1000, default="")
    carrier = fields.CharField(max_length=200, null=True)
    tracking_no = fields.CharField(max_length=64, null=True)
    estimated_arrival = fields.DatetimeField(null=True)
    source_event: fields.ForeignKeyNullableRelation[SupplyChainEvent] = fields.ForeignKeyField(
        "models.SupplyChainEvent", related_name=False, null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "order_node_events"
        indexes = (("order_id", "occurred_at"),)


class OrderNodeExpectation(Model):
    """The latest ETA the supply chain gave for a node still ahead (`expected` of node events)."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="expectations", on_delete=fields.CASCADE
    )
    node = fields.CharField(max_length=32)
    expected_at = fields.DatetimeField()
    reported_at = fields.DatetimeField()  # occurred_at of the event that gave it; newer wins

    class Meta:
        table = "order_node_expectations"
        unique_together = (("order_id", "node"),)


class DeliverySlotOffer(Model):
    """The delivery slots offered for an order (one current offer — a newer offer replaces it).

    `options` is the list of slots as `[{"id", "label", "startsAt", "endsAt"}]` (ISO 8601 times).
    The choice is made once: by the user before `deadline`, or `default_slot_id` after it.
    """

    id = fields.BigIntField(primary_key=True)
    order: fields.OneToOneRelation[Order] = fields.OneToOneField(
        "models.Order", related_name="delivery_slot_offer", on_delete=fields.CASCADE
    )
    deadline = fields.DatetimeField()
    default_slot_id = fields.CharField(max_length=64)
    options: list[dict[str, str]] = fields.JSONField()  # type: ignore[assignment]
    offered_at = fields.DatetimeField()  # occurred_at of the order.delivery_slots event
    chosen_slot_id = fields.CharField(max_length=64, null=True)
    decided_by = fields.CharEnumField(DecidedBy, max_length=10, null=True)
    decided_at = fields.DatetimeField(null=True)
    source_event: fields.ForeignKeyNullableRelation[SupplyChainEvent] = fields.ForeignKeyField(
        "models.SupplyChainEvent", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "delivery_slot_offers"
        indexes = (("chosen_slot_id", "deadline"),)  # deadline defaults: undecided offers past deadline


class OrderException(Model):
    """A supply-chain exception (`order.exception`), for one list of orders or a scope.

    `options` is `[{"code", "label"}]`. The orders it applies to are `OrderExceptionLink` rows,
    each link carries that order's decision.
    """

    id = fields.BigIntField(primary_key=True)
    exception_id = fields.CharField(max_length=64, unique=True)
    kind = fields.CharField(max_length=20)  # DELAY, STOCKOUT, LOGISTICS_JAM, DAMAGED
    reason = fields.CharField(max_length=1000)
    deadline = fields.DatetimeField()
    default_option = fields.CharField(max_length=64)
    options: list[dict[str, str]] = fields.JSONField()  # type: ignore[assignment]
    # The scope of a scoped exception (None for an exception given by orderNos).
    scope_warehouse = fields.CharField(max_length=200, null=True)
    scope_sku_code = fields.CharField(max_length=64, null=True)
    scope_region = fields.CharField(max_length=64, null=True)
    occurred_at = fields.DatetimeField()
    source_event: fields.ForeignKeyNullableRelation[SupplyChainEvent] = fields.ForeignKeyField(
        "models.SupplyChainEvent", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    links: fields.ReverseRelation[OrderExceptionLink]

    class Meta:
        table = "order_exceptions"

    @property
    def is_scoped(self) -> bool:
        return any(v is not None for v in (self.scope_warehouse, self.scope_sku_code, self.scope_region))


class OrderExceptionLink(Model):
    """One order affected by one exception, and that order's decision (null until decided)."""

    id = fields.BigIntField(primary_key=True)
    order: fields.ForeignKeyRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="exception_links", on_delete=fields.CASCADE
    )
    exception: fields.ForeignKeyRelation[OrderException] = fields.ForeignKeyField(
        "models.OrderException", related_name="links", on_delete=fields.CASCADE
    )
    chosen_option = fields.CharField(max_length=64, null=True)
    decided_by = fields.CharEnumField(DecidedBy, max_length=10, null=True)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "order_exception_links"
        unique_together = (("order_id", "exception_id"),)
        # keyset walk of an exception's orders (planning, defaults): exception_id, id
        indexes = (
            ("exception_id", "id"),
            # deadline defaults (bff/orders/deadlines.py): the undecided links of expired
            # exceptions, without rescanning every decided link each minute
            ("exception_id", "chosen_option", "id"),
        )


class OrderReceipt(Model):
    """The user's confirmation of receipt (sets the order COMPLETED)."""

    id = fields.BigIntField(primary_key=True)
    order: fields.OneToOneRelation[Order] = fields.OneToOneField(
        "models.Order", related_name="receipt", on_delete=fields.CASCADE
    )
    confirmed_at = fields.DatetimeField()
    rating = fields.IntField(null=True)  # 0..10
    comment = fields.CharField(max_length=1000, null=True)

    class Meta:
        table = "order_receipts"


class Sku(Model):
    """A product as `sku.upsert` describes it (the lifecycle tab reads usage and maintenance)."""

    id = fields.BigIntField(primary_key=True)
    sku_code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    category = fields.CharField(max_length=200)
    consumable = fields.BooleanField(default=False)
    usage_days_per_unit = fields.IntField(null=True)
    # [{"afterDays": int, "title": str}]
    maintenance: list[dict[str, object]] = fields.JSONField(default=list)  # type: ignore[assignment]
    renewal_after_days = fields.IntField(null=True)
    source_occurred_at = fields.DatetimeField()  # occurred_at of the upsert applied; older ones are ignored
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "skus"


class SupplyChainEvent(Model):
    """A webhook event exactly as accepted (payload = the event's JSON object).

    `applied_at` is null while the event waits for its order (see `PendingEvent`).
    `order` is the single order the event is about, once known (null for scoped exceptions,
    SKU and member events). `plan_enqueued_at` records that the planning job was handed over.
    """

    id = fields.BigIntField(primary_key=True)
    event_id = fields.CharField(max_length=128, unique=True)
    type = fields.CharField(max_length=40)
    occurred_at = fields.DatetimeField()
    order_no = fields.CharField(max_length=64, null=True, db_index=True)
    order: fields.ForeignKeyNullableRelation[Order] = fields.ForeignKeyField(
        "models.Order", related_name="supply_chain_events", null=True, on_delete=fields.SET_NULL
    )
    payload: dict[str, object] = fields.JSONField()  # type: ignore[assignment]
    received_at = fields.DatetimeField(auto_now_add=True)
    applied_at = fields.DatetimeField(null=True)
    # Whether a user should hear about it (decided when applied) and when planning was enqueued.
    notify = fields.BooleanField(default=False)
    plan_enqueued_at = fields.DatetimeField(null=True)

    class Meta:
        table = "supply_chain_events"


class PendingEvent(Model):
    """An event waiting for an order not seen yet — applied when `order.placed` arrives."""

    id = fields.BigIntField(primary_key=True)
    event: fields.ForeignKeyRelation[SupplyChainEvent] = fields.ForeignKeyField(
        "models.SupplyChainEvent", related_name="pending", on_delete=fields.CASCADE
    )
    order_no = fields.CharField(max_length=64, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "pending_events"
        unique_together = (("event_id", "order_no"),)


class ShippingUploadStatus(StrEnum):
    PENDING = "PENDING"  # due (again) at next_attempt_at
    UPLOADING = "UPLOADING"  # a worker holds it until next_attempt_at (its lease)
    UPLOADED = "UPLOADED"  # WeChat has the shipping information
    FAILED = "FAILED"  # refused for good, or retries used up (reason kept)


class ShippingUpload(Model):
    """The upload of a paid order's shipping information to WeChat (wechat-platform.md §10).

    One row per order (unique): created when the order is paid and a node carried its carrier
    and tracking number, moved by the ``upload_shipping_info`` job (bff/orders/shipping.py).
    WeChat allows one re-ship per payment, so the information goes up exactly once.
    """

    id = fields.BigIntField(primary_key=True)
    order: fields.OneToOneRelation[Order] = fields.OneToOneField(
        "models.Order", related_name="shipping_upload", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(ShippingUploadStatus, max_length=10, default=ShippingUploadStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # What was (or is to be) uploaded: WeChat's request body, as last built.
    payload: dict[str, object] | None = fields.JSONField(null=True)  # type: ignore[assignment]
    errcode = fields.IntField(null=True)
    detail = fields.TextField(null=True)  # why it failed or is retried
    uploaded_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField(auto_now=True)

    order_id: int

    class Meta:
        table = "shipping_uploads"
        indexes = (("status", "next_attempt_at"),)
