"""Shipping information to WeChat (发货信息管理, wechat-platform.md §10): once per paid order.

WeChat Pay keeps a payment's money frozen until the merchant uploads how the goods were shipped,
and pushes the buyer a shipping message when it has. The supply chain tells us the carrier and
tracking number on the order's ``OUTBOUND`` node (or a later one), so:

1. ``mark_due`` (called by ingestion, inside its transaction) creates the order's one
   ``ShippingUpload`` row, PENDING, as soon as the order is paid (it has WeChat Pay's
   ``transaction_id``) and a node gave its carrier and tracking number, whichever came last.
   The row is unique per order: a replayed or repeated ``OUTBOUND`` finds it and changes nothing.
2. The ``dispatch_shipping_uploads`` cron queues ``upload_shipping_info`` (job id
   ``shipping:<order id>``) for due rows; ``upload`` is one run of that job.
3. ``upload`` claims the row with a lease (one worker at a time), builds WeChat's body
   (``order_number_type`` 2, by transaction id; express logistics, one package) and calls
   ``upload_shipping_info``. Success: UPLOADED, with the body kept. A retryable answer (10060001
   "payment not found", which is common for up to a minute after payment; busy; transport)
   waits with backoff; anything else is FAILED with WeChat's errcode and words.
4. Never twice: WeChat counts a second upload as the payment's one re-ship. Any attempt after
   the first (an earlier one may have reached WeChat: a timeout, a worker that died mid-call)
   asks ``get_order`` first and records UPLOADED if WeChat already shows the payment shipped.

Carriers come as names (``顺丰速运``); WeChat wants its company code (``SF``). A carrier not in
``EXPRESS_COMPANIES`` fails the upload with a clear reason rather than guessing. SF Express needs
a masked contact phone: the merchant's (``SHIPPING_CONSIGNOR_CONTACT``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Protocol

from arq.connections import ArqRedis
from tortoise.expressions import F, Q

from bff import constants
from bff.models.orders import Order, OrderItem, ShippingUpload, ShippingUploadStatus
from bff.models.users import User
from bff.runtime.backoff import backoff_delay
from bff.runtime.jobs import enqueue_unique
from bff.runtime.logsafe import mask
from bff.wechat.errors import Action, WeChatAPIError, WeChatTransportError

log = logging.getLogger("lvyue.shipping")

# Carrier names the supply chain uses → WeChat's express company codes (get_delivery_list).
EXPRESS_COMPANIES: Mapping[str, str] = {
    "顺丰速运": "SF",
    "顺丰": "SF",
    "京东物流": "JD",
    "京东快递": "JD",
    "中通快递": "ZTO",
    "圆通速递": "YTO",
    "申通快递": "STO",
    "韵达快递": "YD",
    "极兔速递": "JTSD",
    "邮政快递包裹": "YZPY",
    "EMS": "EMS",
    "德邦快递": "DBL",
}
CONTACT_REQUIRED = frozenset({"SF"})  # §10.1: SF Express needs a masked contact phone
MASKED_PHONE = re.compile(r"[0-9+\-]*\*+[0-9]{4}")
ITEM_DESC_MAX = 120
LOGISTICS_EXPRESS = 1
DELIVERY_UNIFIED = 1
ORDER_STATE_SHIPPED = 2  # get_order: 2 shipped, 3 receipt confirmed, 4 complete ...
CHINA = timezone(timedelta(hours=8))
_RETRYABLE = (Action.RETRY, Action.TRANSPORT, Action.OUTCOME_UNKNOWN, Action.UNKNOWN, Action.REFRESH_TOKEN)


class ShippingClient(Protocol):
    """What ``upload`` needs of bff.wechat.client.WeChatClient."""

    async def upload_shipping_info(self, payload: Mapping[str, Any]) -> None: ...

    async def shipping_order_state(self, transaction_id: str) -> int: ...


@dataclass(frozen=True)
class UploadPolicy:
    max_attempts: int = constants.SHIPPING_MAX_ATTEMPTS
    base_s: float = constants.SHIPPING_BACKOFF_BASE_S
    cap_s: float = constants.SHIPPING_BACKOFF_CAP_S
    lease_s: float = constants.SHIPPING_UPLOAD_LEASE_S


@dataclass(frozen=True)
class UploadReport:
    """One run: the row's status afterwards, why, and when to run again (None: do not)."""

    status: ShippingUploadStatus | None
    detail: str
    retry_in: float | None = None


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# ---------------------------------------------------------------- 1. due


def is_due(order: Order) -> bool:
    """Paid through WeChat Pay and shipped with a carrier and tracking number."""
    return bool(order.paid_at and order.transaction_id and order.carrier and order.tracking_no)


async def mark_due(order: Order, *, now: datetime | None = None) -> bool:
    """Create the order's upload row if the order is due and has none; True if created.

    Safe to call for every node and payment event (a replay, a second OUTBOUND): INSERT … ON
    CONFLICT DO NOTHING on the unique order id.
    """
    if not is_due(order):
        return False
    if await ShippingUpload.exists(order_id=order.id):
        return False
    moment = _now(now)
    await ShippingUpload.bulk_create(
        [ShippingUpload(order_id=order.id, next_attempt_at=moment, created_at=moment)],
        ignore_conflicts=True,
    )
    return True


# ---------------------------------------------------------------- 2. queueing


def upload_job_id(order_id: int) -> str:
    return f"{constants.SHIPPING_JOB_ID_PREFIX}{order_id}"


async def enqueue_upload(redis: ArqRedis, order_id: int) -> bool:
    """Queue ``upload_shipping_info`` for one order; False if its job is queued, deferred or running.

    A job that failed in arq leaves a result key (keep_result) that blocks the id; the row is
    still due, so a stale result is dropped first (a job that still exists is never touched).
    """
    return await enqueue_unique(
        redis, constants.JOB_UPLOAD_SHIPPING, order_id, job_id=upload_job_id(order_id), clear_finished=True
    )


async def due_order_ids(
    *, now: datetime | None = None, limit: int = constants.SHIPPING_DISPATCH_BATCH
) -> list[int]:
    """Orders whose upload a worker should be working on: PENDING and due, or UPLOADING past its lease."""
    rows = (
        await ShippingUpload.filter(
            Q(status=ShippingUploadStatus.PENDING) | Q(status=ShippingUploadStatus.UPLOADING),
            next_attempt_at__lte=_now(now),
        )
        .order_by("next_attempt_at", "id")
        .limit(limit)
        .values_list("order_id", flat=True)
    )
    return [int(str(order_id)) for order_id in rows]


async def enqueue_due_uploads(redis: ArqRedis, *, now: datetime | None = None) -> int:
    """The dispatcher: queue every due upload; returns how many jobs were new."""
    queued = 0
    for order_id in await due_order_ids(now=now):
        queued += await enqueue_upload(redis, order_id)
    return queued


# ---------------------------------------------------------------- 3. the upload


def item_description(items: Sequence[OrderItem]) -> str:
    """``有机燕麦片*2 / 杯子*1``, shortened to WeChat's 120 characters."""
    text = " / ".join(f"{item.name}*{item.quantity}" for item in items) or "商品"
    return text if len(text) <= ITEM_DESC_MAX else text[: ITEM_DESC_MAX - 1] + "…"


class ShippingDataError(ValueError):
    """The order cannot be described to WeChat as it stands (an unknown carrier, a missing phone)."""


def build_payload(
    order: Order,
    items: Sequence[OrderItem],
    payer_openid: str,
    *,
    upload_time: datetime,
    consignor_contact: str | None,
) -> dict[str, Any]:
    """WeChat's upload_shipping_info body for a paid order shipped as one express package."""
    if not order.transaction_id or not order.carrier or not order.tracking_no:
        raise ShippingDataError("the order has no WeChat Pay transaction, carrier or tracking number")
    company = EXPRESS_COMPANIES.get(order.carrier.strip())
    if company is None:
        raise ShippingDataError(f"carrier {order.carrier!r} has no WeChat express company code")
    package: dict[str, Any] = {
        "tracking_no": order.tracking_no,
        "express_company": company,
        "item_desc": item_description(items),
    }
    if company in CONTACT_REQUIRED:
        if not consignor_contact or not MASKED_PHONE.fullmatch(consignor_contact):
            raise ShippingDataError(
                f"{order.carrier} needs a masked contact phone like 138****1234:"
                " set SHIPPING_CONSIGNOR_CONTACT"
            )
        package["contact"] = {"consignor_contact": consignor_contact}
    local = upload_time.astimezone(CHINA)
    return {
        "order_key": {"order_number_type": 2, "transaction_id": order.transaction_id},
        "logistics_type": LOGISTICS_EXPRESS,
        "delivery_mode": DELIVERY_UNIFIED,
        "shipping_list": [package],
        "upload_time": local.isoformat(timespec="milliseconds"),
        "payer": {"openid": payer_openid},
    }


async def _claim(order_id: int, now: datetime, policy: UploadPolicy) -> ShippingUpload | None:
    """Take the due row for this run (conditional UPDATE: one worker wins), with a lease."""
    lease_end = now + timedelta(seconds=policy.lease_s)
    claimed = await ShippingUpload.filter(
        Q(status=ShippingUploadStatus.PENDING) | Q(status=ShippingUploadStatus.UPLOADING),
        order_id=order_id,
        next_attempt_at__lte=now,
    ).update(
        status=ShippingUploadStatus.UPLOADING,
        attempts=F("attempts") + 1,
        next_attempt_at=lease_end,
        updated_at=now,
    )
    if not claimed:
        return None
    return await ShippingUpload.get(order_id=order_id)


async def _settle(row: ShippingUpload, now: datetime, **changes: Any) -> None:
    await ShippingUpload.filter(
        id=row.id, status=ShippingUploadStatus.UPLOADING, attempts=row.attempts
    ).update(**changes, updated_at=now)


async def upload(
    client: ShippingClient,
    order_id: int,
    *,
    consignor_contact: str | None,
    policy: UploadPolicy | None = None,
    now: datetime | None = None,
) -> UploadReport:
    """One run of the upload job for ``order_id`` (see the module docstring)."""
    policy = policy or UploadPolicy()
    moment = _now(now)
    row = await _claim(order_id, moment, policy)
    if row is None:
        return UploadReport(status=None, detail="not due, already uploaded or held by another worker")
    order = await Order.get(id=order_id)
    # An earlier attempt may have reached WeChat (a timeout, a worker that died mid-call): ask first.
    if row.attempts > 1 and order.transaction_id:
        try:
            if await client.shipping_order_state(order.transaction_id) >= ORDER_STATE_SHIPPED:
                await _settle(
                    row, moment, status=ShippingUploadStatus.UPLOADED, uploaded_at=moment, detail=None
                )
                log.info("order %s: WeChat already shows it shipped; recorded", order.order_no)
                return UploadReport(ShippingUploadStatus.UPLOADED, "already shipped on WeChat's side")
        except (WeChatAPIError, WeChatTransportError) as exc:
            log.info("order %s: get_order before a retry failed (%s); uploading", order.order_no, exc)

    items = await OrderItem.filter(order_id=order_id).order_by("position")
    user = await User.get(id=order.user_id)  # type: ignore[attr-defined]
    try:
        payload = build_payload(
            order, items, user.openid, upload_time=moment, consignor_contact=consignor_contact
        )
    except ShippingDataError as exc:
        await _settle(row, moment, status=ShippingUploadStatus.FAILED, detail=str(exc))
        log.warning("order %s: shipping info cannot be uploaded: %s", order.order_no, exc)
        return UploadReport(ShippingUploadStatus.FAILED, str(exc))

    try:
        await client.upload_shipping_info(payload)
    except (WeChatAPIError, WeChatTransportError) as exc:
        return await _failed(row, order, payload, exc, moment, policy)
    await _settle(
        row,
        moment,
        status=ShippingUploadStatus.UPLOADED,
        uploaded_at=moment,
        payload=payload,
        errcode=None,
        detail=None,
    )
    log.info("order %s: shipping info uploaded for %s", order.order_no, mask(user.openid))
    return UploadReport(ShippingUploadStatus.UPLOADED, "uploaded")


async def _failed(
    row: ShippingUpload,
    order: Order,
    payload: Mapping[str, Any],
    exc: WeChatAPIError | WeChatTransportError,
    now: datetime,
    policy: UploadPolicy,
) -> UploadReport:
    errcode = exc.errcode if isinstance(exc, WeChatAPIError) else None
    detail = str(exc)
    if exc.action in _RETRYABLE and row.attempts < policy.max_attempts:
        floor = exc.delay_floor if isinstance(exc, WeChatAPIError) else 0.0
        delay = backoff_delay(row.attempts, base=policy.base_s, cap=policy.cap_s, floor=floor)
        await _settle(
            row,
            now,
            status=ShippingUploadStatus.PENDING,
            next_attempt_at=now + timedelta(seconds=delay),
            payload=dict(payload),
            errcode=errcode,
            detail=detail,
        )
        log.info("order %s: shipping upload retried in %.0f s (%s)", order.order_no, delay, exc)
        return UploadReport(ShippingUploadStatus.PENDING, detail, retry_in=delay)
    await _settle(
        row, now, status=ShippingUploadStatus.FAILED, payload=dict(payload), errcode=errcode, detail=detail
    )
    log.warning("order %s: shipping upload failed for good: %s", order.order_no, detail)
    return UploadReport(ShippingUploadStatus.FAILED, detail)
