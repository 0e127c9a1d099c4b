"""Every tortoise model of the `models` app. Each domain has its own module; list it here."""

from bff.models.notices import Notice, NoticeOpen, NoticeStatus
from bff.models.orders import (
    DecidedBy,
    DeliverySlotOffer,
    Order,
    OrderException,
    OrderExceptionLink,
    OrderItem,
    OrderNodeEvent,
    OrderNodeExpectation,
    OrderReceipt,
    OrderStatus,
    PendingEvent,
    Sku,
    SupplyChainEvent,
)
from bff.models.system import WorkerHeartbeat
from bff.models.users import User

__all__ = [
    "DecidedBy",
    "DeliverySlotOffer",
    "Notice",
    "NoticeOpen",
    "NoticeStatus",
    "Order",
    "OrderException",
    "OrderExceptionLink",
    "OrderItem",
    "OrderNodeEvent",
    "OrderNodeExpectation",
    "OrderReceipt",
    "OrderStatus",
    "PendingEvent",
    "Sku",
    "SupplyChainEvent",
    "User",
    "WorkerHeartbeat",
]
