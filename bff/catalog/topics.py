"""The notice topics a user can subscribe to, and what the notice engine knows about each.

A topic is *what* a notice is about (an order reached a node, an exception needs a decision,
a consumable is about to run out). The WeChat template that carries it is configured
separately (``bff.catalog.templates_file``); several topics may share one template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Topic(StrEnum):
    ORDER_PAID = "ORDER_PAID"
    NODE_MATERIAL_IN = "NODE_MATERIAL_IN"
    NODE_PRODUCTION_STARTED = "NODE_PRODUCTION_STARTED"
    NODE_QC_PASSED = "NODE_QC_PASSED"
    NODE_OUTBOUND = "NODE_OUTBOUND"
    NODE_TRUNK_TRANSIT = "NODE_TRUNK_TRANSIT"
    NODE_COURIER_ACCEPTED = "NODE_COURIER_ACCEPTED"
    NODE_OUT_FOR_DELIVERY = "NODE_OUT_FOR_DELIVERY"
    NODE_DELIVERED = "NODE_DELIVERED"
    DELIVERY_SLOT = "DELIVERY_SLOT"
    ORDER_EXCEPTION = "ORDER_EXCEPTION"
    PRESALE_PROGRESS = "PRESALE_PROGRESS"
    RECEIPT_CONFIRM = "RECEIPT_CONFIRM"
    REPLENISHMENT = "REPLENISHMENT"
    MAINTENANCE = "MAINTENANCE"
    RENEWAL_OFFER = "RENEWAL_OFFER"
    WIN_BACK = "WIN_BACK"
    MEMBER_BENEFIT = "MEMBER_BENEFIT"


class TopicCategory(StrEnum):
    ORDER_PROGRESS = "ORDER_PROGRESS"
    ORDER_ACTION = "ORDER_ACTION"
    LIFECYCLE = "LIFECYCLE"
    MEMBER = "MEMBER"


@dataclass(frozen=True)
class TopicInfo:
    key: Topic
    title: str
    description: str
    category: TopicCategory
    # False only where switching the topic off in-app would hide a decision the user must make.
    opt_out_allowed: bool
    # Higher = more important; the notice engine spends scarce consent on higher priorities first.
    priority: int
    # The user's weekly limit applies (marketing-like topics), not to order progress they asked for.
    weekly_limited: bool
    # Sent even inside quiet hours.
    urgent: bool


def _info(
    key: Topic,
    title: str,
    description: str,
    category: TopicCategory,
    priority: int,
    *,
    opt_out_allowed: bool = True,
    urgent: bool = False,
) -> TopicInfo:
    return TopicInfo(
        key=key,
        title=title,
        description=description,
        category=category,
        opt_out_allowed=opt_out_allowed,
        priority=priority,
        weekly_limited=category in (TopicCategory.LIFECYCLE, TopicCategory.MEMBER),
        urgent=urgent,
    )


_P = TopicCategory.ORDER_PROGRESS
_A = TopicCategory.ORDER_ACTION
_L = TopicCategory.LIFECYCLE
_M = TopicCategory.MEMBER

_ALL: tuple[TopicInfo, ...] = (
    _info(Topic.ORDER_PAID, "支付成功", "订单支付成功后通知您。", _P, 45),
    _info(Topic.NODE_MATERIAL_IN, "物料入库", "定制商品的物料到达工厂时通知您。", _P, 30),
    _info(Topic.NODE_PRODUCTION_STARTED, "开始生产", "您的商品开始生产时通知您。", _P, 30),
    _info(Topic.NODE_QC_PASSED, "质检通过", "您的商品通过质检时通知您。", _P, 30),
    _info(Topic.NODE_OUTBOUND, "已出库", "商品从仓库发出时通知您。", _P, 60),
    _info(Topic.NODE_TRUNK_TRANSIT, "干线运输中", "商品进入干线运输时通知您。", _P, 50),
    _info(Topic.NODE_COURIER_ACCEPTED, "快递已揽收", "快递公司揽收包裹时通知您。", _P, 55),
    _info(Topic.NODE_OUT_FOR_DELIVERY, "派送中", "快递员开始派送时通知您。", _P, 80, urgent=True),
    _info(Topic.NODE_DELIVERED, "已签收", "包裹签收后通知您。", _P, 80),
    _info(Topic.DELIVERY_SLOT, "选择送货时段", "需要您选择送货时段时通知您。", _A, 90, urgent=True),
    _info(
        Topic.ORDER_EXCEPTION,
        "订单异常",
        "订单延误、缺货或物流异常需要您决定时通知您。",
        _A,
        100,
        opt_out_allowed=False,
        urgent=True,
    ),
    _info(Topic.PRESALE_PROGRESS, "预售进度", "预售商品的生产进度有更新时通知您。", _P, 40),
    _info(Topic.RECEIPT_CONFIRM, "确认收货", "包裹送达后提醒您确认收货并评价。", _A, 70),
    _info(Topic.REPLENISHMENT, "补货提醒", "您常用的消耗品快用完时提醒您补货。", _L, 20),
    _info(Topic.MAINTENANCE, "保养提醒", "您的商品到了保养时间时提醒您。", _L, 15),
    _info(Topic.RENEWAL_OFFER, "换新优惠", "您的商品适合升级或以旧换新时通知您。", _L, 8),
    _info(Topic.WIN_BACK, "回归福利", "您有一段时间没来时送上专属福利。", _L, 5),
    _info(Topic.MEMBER_BENEFIT, "会员权益", "会员日、生日礼和积分即将过期时通知您。", _M, 10),
)

TOPICS: Mapping[Topic, TopicInfo] = MappingProxyType({info.key: info for info in _ALL})


def topic_info(key: Topic | str) -> TopicInfo:
    """The facts about one topic; ValueError (not KeyError) for a key that is not a topic."""
    try:
        return TOPICS[Topic(key)]
    except ValueError:
        raise ValueError(f"unknown topic {key!r}") from None


# The supply-chain nodes of an order, in the order they happen (stock orders skip the first three).
NODE_ORDER: tuple[str, ...] = (
    "MATERIAL_IN",
    "PRODUCTION_STARTED",
    "QC_PASSED",
    "OUTBOUND",
    "TRUNK_TRANSIT",
    "COURIER_ACCEPTED",
    "OUT_FOR_DELIVERY",
    "DELIVERED",
)

NODE_TITLES: Mapping[str, str] = MappingProxyType(
    {
        "MATERIAL_IN": "物料入库",
        "PRODUCTION_STARTED": "开始生产",
        "QC_PASSED": "质检通过",
        "OUTBOUND": "已出库",
        "TRUNK_TRANSIT": "干线运输中",
        "COURIER_ACCEPTED": "快递已揽收",
        "OUT_FOR_DELIVERY": "派送中",
        "DELIVERED": "已签收",
    }
)

# Values for WeChat `phrase` keywords: Chinese only, at most 5 characters.
NODE_PHRASES: Mapping[str, str] = MappingProxyType(
    {
        "MATERIAL_IN": "备料中",
        "PRODUCTION_STARTED": "生产中",
        "QC_PASSED": "质检通过",
        "OUTBOUND": "已出库",
        "TRUNK_TRANSIT": "运输中",
        "COURIER_ACCEPTED": "已揽收",
        "OUT_FOR_DELIVERY": "派送中",
        "DELIVERED": "已签收",
    }
)


def node_topic(node: str) -> Topic:
    """The topic of a supply-chain node (``OUTBOUND`` → ``Topic.NODE_OUTBOUND``)."""
    if node not in NODE_ORDER:
        raise ValueError(f"unknown node {node!r}; expected one of {', '.join(NODE_ORDER)}")
    return Topic(f"NODE_{node}")


def node_phrase(node: str) -> str:
    """The short Chinese status phrase of a node, fit for a `phrase` keyword."""
    if node not in NODE_PHRASES:
        raise ValueError(f"unknown node {node!r}; expected one of {', '.join(NODE_ORDER)}")
    return NODE_PHRASES[node]
