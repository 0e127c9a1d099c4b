"""Every tortoise model of the `models` app. Each domain has its own module; list it here."""

from bff.models.commands import CommandStatus, CommandType, OutboxCommand
from bff.models.consent import (
    ConsentCredit,
    ConsentLedger,
    ConsentLedgerMove,
    CreditSource,
    LedgerMoveKind,
    OpsAlert,
    Preferences,
    SubscribeRequestLog,
    TopicPreference,
    WeChatStatus,
)
from bff.models.experiments import ExperimentAssignment
from bff.models.lifecycle import (
    LifecyclePurchase,
    OwnedProduct,
    PriorSource,
    Replenishment,
    ReplenishmentInterval,
    ReplenishmentStatus,
)
from bff.models.notices import Notice, NoticeOpen, NoticeStatus, StoppedTemplate
from bff.models.ops import OpsAudit
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
    ShippingUpload,
    ShippingUploadStatus,
    Sku,
    SupplyChainEvent,
)
from bff.models.system import WorkerHeartbeat
from bff.models.users import User
from bff.models.wechat import PushEvent, PushEventStatus

__all__ = [
    "CommandStatus",
    "CommandType",
    "ConsentCredit",
    "ConsentLedger",
    "ConsentLedgerMove",
    "CreditSource",
    "DecidedBy",
    "DeliverySlotOffer",
    "ExperimentAssignment",
    "LedgerMoveKind",
    "LifecyclePurchase",
    "Notice",
    "NoticeOpen",
    "NoticeStatus",
    "OpsAlert",
    "OpsAudit",
    "Order",
    "OrderException",
    "OrderExceptionLink",
    "OrderItem",
    "OrderNodeEvent",
    "OrderNodeExpectation",
    "OrderReceipt",
    "OrderStatus",
    "OutboxCommand",
    "OwnedProduct",
    "PendingEvent",
    "Preferences",
    "PriorSource",
    "PushEvent",
    "PushEventStatus",
    "Replenishment",
    "ReplenishmentInterval",
    "ReplenishmentStatus",
    "ShippingUpload",
    "ShippingUploadStatus",
    "Sku",
    "StoppedTemplate",
    "SubscribeRequestLog",
    "SupplyChainEvent",
    "TopicPreference",
    "User",
    "WeChatStatus",
    "WorkerHeartbeat",
]
