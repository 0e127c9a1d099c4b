"""Supply-chain events as the supply chain writes them (JSON objects of the contract).

For the demo seed, the replay script, the benchmark and the tests: they all feed the webhook
(or `ingest`) the same bodies the real sender would, rather than writing order rows directly.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

Event = dict[str, Any]

DEFAULT_ITEMS: tuple[tuple[str, str, int, str], ...] = (("SKU-TEA-001", "龙井茶礼盒", 1, "129.00"),)


def new_event_id() -> str:
    return f"evt-{uuid.uuid4().hex}"


def _time(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("supply-chain times carry an offset")
    return value.isoformat()


def _base(event_type: str, occurred_at: datetime, event_id: str | None) -> Event:
    return {"eventId": event_id or new_event_id(), "type": event_type, "occurredAt": _time(occurred_at)}


def placed(
    order_no: str,
    openid: str,
    placed_at: datetime,
    *,
    items: Sequence[tuple[str, str, int, str]] = DEFAULT_ITEMS,
    presale: bool = False,
    region: str = "浙江省杭州市",
    warehouse: str = "杭州仓",
    event_id: str | None = None,
) -> Event:
    """`order.placed`; items are (skuCode, name, quantity, unitPrice)."""
    total = sum((Decimal(price) * quantity for _, _, quantity, price in items), Decimal("0.00"))
    return _base("order.placed", placed_at, event_id) | {
        "order": {
            "orderNo": order_no,
            "openid": openid,
            "placedAt": _time(placed_at),
            "totalAmount": f"{total:.2f}",
            "region": region,
            "warehouse": warehouse,
            "presale": presale,
            "items": [
                {"skuCode": sku, "name": name, "quantity": quantity, "unitPrice": price}
                for sku, name, quantity, price in items
            ],
        }
    }


def paid(order_no: str, paid_at: datetime, *, event_id: str | None = None) -> Event:
    return _base("order.paid", paid_at, event_id) | {
        "orderNo": order_no,
        "paidAt": _time(paid_at),
        "transactionId": f"42000{zlib.crc32(order_no.encode()):012d}",
    }


def node(
    order_no: str,
    kind: str,
    occurred_at: datetime,
    *,
    location: str = "杭州仓",
    note: str = "",
    carrier: str | None = None,
    tracking_no: str | None = None,
    estimated_arrival: datetime | None = None,
    expected: Iterable[tuple[str, datetime]] = (),
    event_id: str | None = None,
) -> Event:
    """`order.node`; `expected` is (node, expectedAt) for nodes still ahead."""
    event = _base("order.node", occurred_at, event_id) | {
        "orderNo": order_no,
        "node": kind,
        "location": location,
        "note": note,
    }
    if carrier is not None:
        event["carrier"] = carrier
    if tracking_no is not None:
        event["trackingNo"] = tracking_no
    if estimated_arrival is not None:
        event["estimatedArrival"] = _time(estimated_arrival)
    ahead = [{"node": n, "expectedAt": _time(at)} for n, at in expected]
    if ahead:
        event["expected"] = ahead
    return event


def presale_progress(
    order_no: str,
    occurred_at: datetime,
    stage: str,
    percent: int,
    expected_ship_date: date | None,
    *,
    event_id: str | None = None,
) -> Event:
    return _base("order.presale_progress", occurred_at, event_id) | {
        "orderNo": order_no,
        "stage": stage,
        "progressPercent": percent,
        "expectedShipDate": expected_ship_date.isoformat() if expected_ship_date else None,
    }


def delivery_slots(
    order_no: str,
    occurred_at: datetime,
    deadline: datetime,
    slots: Sequence[tuple[str, str, datetime, datetime]],
    *,
    default_slot_id: str | None = None,
    event_id: str | None = None,
) -> Event:
    """`order.delivery_slots`; slots are (id, label, startsAt, endsAt); default: the first."""
    return _base("order.delivery_slots", occurred_at, event_id) | {
        "orderNo": order_no,
        "deadline": _time(deadline),
        "defaultSlotId": default_slot_id or slots[0][0],
        "slots": [
            {"id": slot_id, "label": label, "startsAt": _time(start), "endsAt": _time(end)}
            for slot_id, label, start, end in slots
        ],
    }


DEFAULT_OPTIONS: tuple[tuple[str, str], ...] = (
    ("WAIT", "继续等待"),
    ("CHANGE_WAREHOUSE", "更换发货仓"),
    ("COUPON", "领取补偿券"),
    ("CANCEL", "取消订单"),
)


def exception(
    exception_id: str,
    occurred_at: datetime,
    deadline: datetime,
    *,
    order_nos: Sequence[str] | None = None,
    scope: Mapping[str, str] | None = None,
    kind: str = "DELAY",
    reason: str = "仓库爆仓，发货将延迟",
    options: Sequence[tuple[str, str]] = DEFAULT_OPTIONS,
    default_option: str = "WAIT",
    event_id: str | None = None,
) -> Event:
    """`order.exception` for `order_nos` or a `scope` ({"warehouse"|"skuCode"|"region": value})."""
    event = _base("order.exception", occurred_at, event_id) | {
        "exceptionId": exception_id,
        "kind": kind,
        "reason": reason,
        "deadline": _time(deadline),
        "defaultOption": default_option,
        "options": [{"code": code, "label": label} for code, label in options],
    }
    if order_nos is not None:
        event["orderNos"] = list(order_nos)
    if scope is not None:
        event["scope"] = dict(scope)
    return event


def cancelled(
    order_no: str, occurred_at: datetime, reason: str = "用户申请取消", *, event_id: str | None = None
) -> Event:
    return _base("order.cancelled", occurred_at, event_id) | {"orderNo": order_no, "reason": reason}


def sku_upsert(
    sku_code: str,
    occurred_at: datetime,
    *,
    name: str = "龙井茶礼盒",
    category: str = "茶叶",
    consumable: bool = True,
    usage_days_per_unit: int | None = 30,
    maintenance: Sequence[tuple[int, str]] = (),
    renewal_after_days: int | None = None,
    event_id: str | None = None,
) -> Event:
    return _base("sku.upsert", occurred_at, event_id) | {
        "sku": {
            "skuCode": sku_code,
            "name": name,
            "category": category,
            "consumable": consumable,
            "usageDaysPerUnit": usage_days_per_unit,
            "maintenance": [{"afterDays": days, "title": title} for days, title in maintenance],
            "renewalAfterDays": renewal_after_days,
        }
    }


def member_upsert(
    openid: str,
    occurred_at: datetime,
    *,
    member_tier: str = "GOLD",
    points: int = 0,
    points_expire_at: datetime | None = None,
    birthday: str | None = None,
    region: str | None = None,
    event_id: str | None = None,
) -> Event:
    return _base("member.upsert", occurred_at, event_id) | {
        "member": {
            "openid": openid,
            "memberTier": member_tier,
            "points": points,
            "pointsExpireAt": _time(points_expire_at) if points_expire_at else None,
            "birthday": birthday,
            "region": region,
        }
    }


def body(*events: Event) -> bytes:
    """A webhook body holding `events`."""
    return json.dumps({"events": list(events)}, ensure_ascii=False).encode("utf-8")
