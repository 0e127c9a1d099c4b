"""Shipping information management (发货信息管理, §10): ``upload_shipping_info`` and ``get_order``.

Checks follow §10.1; WeChat's own error table for this API is unpublished, so a bad field is
47001, a unified delivery with other than one package 268485228, split delivery of non-express
goods 10060006, an unknown payment 10060001 (only with ``shipping_known_payments_only``), and an
upload for a payment that can no longer be shipped (receipt confirmed, or its one re-ship used)
10060004. Each payment keeps its ``order_state``.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any

from wxsandbox.errors import WxError
from wxsandbox.state import SandboxState, ShippingOrder

log = logging.getLogger("wxsandbox.shipping")

_OUT_TRADE_NO = re.compile(r"[0-9A-Za-z_\-*]{1,32}")
_MASKED_PHONE = re.compile(r"[0-9+\-]*\*+[0-9]{4}")
MAX_PACKAGES = 15
ITEM_DESC_MAX = 120
TRACKING_NO_MAX_BYTES = 128
AWAITING, SHIPPED, CONFIRMED = 1, 2, 3


def _bad(reason: str) -> WxError:
    log.info("upload_shipping_info refused with 47001: %s", reason)
    return WxError(47001)


def _json_object(raw_body: bytes) -> dict[str, Any]:
    if not raw_body.strip():
        raise WxError(44002)
    try:
        body = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _bad("body is not JSON") from None
    if not isinstance(body, dict):
        raise _bad("body is not a JSON object")
    return body


def _int_field(body: dict[str, Any], name: str, allowed: tuple[int, ...]) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value not in allowed:
        raise _bad(f"{name} must be one of {allowed}, got {value!r}")
    return value


def _text(container: dict[str, Any], name: str, where: str) -> str:
    value = container.get(name)
    if not isinstance(value, str) or not value:
        raise _bad(f"{where}{name} missing or empty")
    return value


def order_keys(
    transaction_id: str | None, mchid: str | None, out_trade_no: str | None
) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = []
    if transaction_id:
        keys.append(("transaction_id", transaction_id))
    if mchid and out_trade_no:
        keys.append(("out_trade_no", mchid, out_trade_no))
    return keys


def register_payment(
    state: SandboxState,
    *,
    transaction_id: str | None,
    mchid: str | None,
    out_trade_no: str | None,
    payer_openid: str | None,
) -> ShippingOrder:
    keys = order_keys(transaction_id, mchid, out_trade_no)
    if not keys:
        raise ValueError("a payment needs transaction_id, or mchid and out_trade_no")
    order = ShippingOrder(
        transaction_id=transaction_id, mchid=mchid, out_trade_no=out_trade_no, payer_openid=payer_openid
    )
    for key in keys:
        state.orders[key] = order
    return order


def upload_shipping_info(state: SandboxState, raw_body: bytes) -> ShippingOrder:
    """Record an upload; returns the payment it belongs to (``order_state`` 2 once all shipped)."""
    body = _json_object(raw_body)
    order_key = body.get("order_key")
    if not isinstance(order_key, dict):
        raise _bad("order_key missing or not an object")
    number_type = _int_field(order_key, "order_number_type", (1, 2))
    if number_type == 2:
        transaction_id: str | None = _text(order_key, "transaction_id", "order_key.")
        mchid = out_trade_no = None
    else:
        transaction_id = None
        mchid = _text(order_key, "mchid", "order_key.")
        out_trade_no = _text(order_key, "out_trade_no", "order_key.")
        if not _OUT_TRADE_NO.fullmatch(out_trade_no):
            raise _bad("order_key.out_trade_no has characters outside [0-9A-Za-z_-*]")
    logistics_type = _int_field(body, "logistics_type", (1, 2, 3, 4))
    delivery_mode = _int_field(body, "delivery_mode", (1, 2))
    is_all_delivered = body.get("is_all_delivered")
    if delivery_mode == 2 and not isinstance(is_all_delivered, bool):
        raise _bad("is_all_delivered must be true or false in split delivery")
    if is_all_delivered is not None and not isinstance(is_all_delivered, bool):
        raise _bad("is_all_delivered must be true or false")
    shipping_list = body.get("shipping_list")
    if not isinstance(shipping_list, list) or not 1 <= len(shipping_list) <= MAX_PACKAGES:
        raise _bad(f"shipping_list must hold 1 to {MAX_PACKAGES} packages")
    if delivery_mode == 1 and len(shipping_list) != 1:
        raise WxError(268485228)
    if delivery_mode == 2 and logistics_type != 1:
        raise WxError(10060006)
    for index, package in enumerate(shipping_list):
        _check_package(package, index, express=logistics_type == 1)
    upload_time = _upload_time(body.get("upload_time"))
    payer = body.get("payer")
    if not isinstance(payer, dict):
        raise _bad("payer missing or not an object")
    payer_openid = _text(payer, "openid", "payer.")

    keys = order_keys(transaction_id, mchid, out_trade_no)
    order = next((state.orders[key] for key in keys if key in state.orders), None)
    if order is None:
        if state.config.shipping_known_payments_only:
            raise WxError(10060001)
        order = register_payment(
            state,
            transaction_id=transaction_id,
            mchid=mchid,
            out_trade_no=out_trade_no,
            payer_openid=payer_openid,
        )
    if order.order_state >= CONFIRMED:
        raise WxError(10060004)
    if order.last_upload_time is not None and upload_time <= order.last_upload_time:
        raise _bad("upload_time must be later than the previous upload")
    modes = (logistics_type, delivery_mode)
    # More packages of a split delivery that is not complete yet are not a re-ship.
    continues_split = order.order_state == AWAITING and order.modes == modes and delivery_mode == 2
    if order.uploads and not continues_split:
        # A second upload for a shipped payment, or a changed mode, is the payment's one re-ship.
        if order.reshipped:
            raise WxError(10060004)
        order.reshipped = True
    order.modes = modes
    order.last_upload_time = upload_time
    order.payer_openid = payer_openid
    order.uploads.append(body)
    split_pending = delivery_mode == 2 and is_all_delivered is False
    order.order_state = AWAITING if split_pending else SHIPPED
    return order


SETTLEMENT_EVENT = "trade_manage_order_settlement"
# WeChat's estimate of when frozen funds settle after shipping (auto-confirmation horizon).
SETTLEMENT_AFTER_S = 10 * 86400


def settlement_fields(order: ShippingOrder, **extra: str | int) -> dict[str, str | int]:
    """Top-level fields of a ``trade_manage_order_settlement`` push for ``order``."""
    fields: dict[str, str | int] = {}
    if order.transaction_id:
        fields["transaction_id"] = order.transaction_id
    if order.mchid:
        fields["merchant_id"] = order.mchid
    if order.out_trade_no:
        fields["merchant_trade_no"] = order.out_trade_no
    fields.update(extra)
    return fields


def _check_package(package: object, index: int, *, express: bool) -> None:
    where = f"shipping_list[{index}]."
    if not isinstance(package, dict):
        raise _bad(f"shipping_list[{index}] is not an object")
    item_desc = _text(package, "item_desc", where)
    if len(item_desc) > ITEM_DESC_MAX:
        raise _bad(f"{where}item_desc is longer than {ITEM_DESC_MAX} characters")
    if not express:
        return
    tracking_no = _text(package, "tracking_no", where)
    if len(tracking_no.encode("utf-8")) > TRACKING_NO_MAX_BYTES:
        raise _bad(f"{where}tracking_no is longer than {TRACKING_NO_MAX_BYTES} bytes")
    company = _text(package, "express_company", where)
    contact = package.get("contact")
    if contact is not None and not isinstance(contact, dict):
        raise _bad(f"{where}contact is not an object")
    phones = [
        value
        for value in ((contact or {}).get("consignor_contact"), (contact or {}).get("receiver_contact"))
        if value is not None
    ]
    for phone in phones:
        if not isinstance(phone, str) or not _MASKED_PHONE.fullmatch(phone):
            raise _bad(f"{where}contact must be a masked phone with the last 4 digits, like 138****1234")
    if company == "SF" and not phones:
        raise _bad(f"{where}contact is required for SF Express")


def _upload_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise _bad("upload_time missing or not a string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _bad(f"upload_time {value!r} is not RFC 3339") from None
    if parsed.tzinfo is None or "T" not in value:
        raise _bad(f"upload_time {value!r} must carry a date, a time and an offset")
    return parsed


def get_order(state: SandboxState, raw_body: bytes) -> dict[str, Any]:
    body = _json_object(raw_body)
    transaction_id = body.get("transaction_id")
    merchant_id = body.get("merchant_id")
    merchant_trade_no = body.get("merchant_trade_no")
    keys = order_keys(
        transaction_id if isinstance(transaction_id, str) else None,
        merchant_id if isinstance(merchant_id, str) else None,
        merchant_trade_no if isinstance(merchant_trade_no, str) else None,
    )
    if not keys:
        raise _bad("give transaction_id, or merchant_id and merchant_trade_no")
    for key in keys:
        if key in state.orders:
            return state.orders[key].as_json()
    raise WxError(10060001)


def shipping_overview(state: SandboxState) -> list[dict[str, Any]]:
    """Every payment the sandbox knows, once each (a payment may sit under two keys), with its
    state and last upload: what ``GET /sandbox/shipping`` shows."""
    seen: set[int] = set()
    overview: list[dict[str, Any]] = []
    for order in state.orders.values():
        if id(order) in seen:
            continue
        seen.add(id(order))
        overview.append(order.as_json())
    return overview
