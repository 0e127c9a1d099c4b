"""Every tortoise model of the `models` app. Each domain has its own module; list it here."""

from bff.models.commands import CommandStatus, CommandType, OutboxCommand
from bff.models.consent import (
    ConsentCredit,
    ConsentLedger,
    CreditSource,
    OpsAlert,
    Preferences,
    SubscribeRequestLog,
    TopicPreference,
    WeChatStatus,
)
from bff.models.experiments import ExperimentAssignment
from bff.models.notices import Notice, NoticeOpen, NoticeStatus, StoppedTemplate
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
from bff.models.wechat import PushEvent, PushEventStatus

__all__ = [
    "CommandStatus",
    "CommandType",
    "ConsentCredit",
    "ConsentLedger",
    "CreditSource",
    "DecidedBy",
    "DeliverySlotOffer",
    "ExperimentAssignment",
    "Notice",
    "NoticeOpen",
    "NoticeStatus",
    "OpsAlert",
    "Order",
    "OrderException",
    "OrderExceptionLink",
    "OrderItem",
    "OrderNodeEvent",
    "OrderNodeExpectation",
    "OrderReceipt",
    "OrderStatus",
    "OutboxCommand",
    "PendingEvent",
    "Preferences",
    "PushEvent",
    "PushEventStatus",
    "Sku",
    "StoppedTemplate",
    "SubscribeRequestLog",
    "SupplyChainEvent",
    "TopicPreference",
    "User",
    "WeChatStatus",
    "WorkerHeartbeat",
]
