"""Commands to the supply chain: their bodies, and one signed delivery attempt.

docs/supply-chain.md, "Out: commands": `POST SUPPLY_CHAIN_CALLBACK_URL` with the same HMAC
signing as the webhook, `Idempotency-Key: <commandId>` and a body `{"commandId", "type", ...}`.
2xx means delivered; 408, 429, 5xx and network errors are worth another attempt; any other answer
ends the command as failed. The outbox (`bff.supply_chain.outbox`) decides what to do with that.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from uuid import UUID

import httpx

from bff.constants import COMMAND_HTTP_TIMEOUT_S
from bff.models.commands import CommandType
from bff.models.orders import DecidedBy
from bff.supply_chain.signing import signed_headers

IDEMPOTENCY_HEADER = "Idempotency-Key"
RETRYABLE_STATUS = frozenset({408, 429})
DETAIL_MAX_CHARS = 300  # of the receiver's answer kept in last_error

# The fields of each command type, in the order they are written (commandId and type first).
FIELDS: dict[CommandType, tuple[str, ...]] = {
    CommandType.EXCEPTION_RESOLVED: (
        "commandId",
        "type",
        "exceptionId",
        "orderNo",
        "option",
        "decidedBy",
        "decidedAt",
    ),
    CommandType.DELIVERY_SLOT_CHOSEN: ("commandId", "type", "orderNo", "slotId", "decidedBy", "decidedAt"),
    CommandType.RECEIPT_CONFIRMED: ("commandId", "type", "orderNo", "confirmedAt", "rating"),
}


def format_time(moment: datetime) -> str:
    """ISO 8601 with an explicit offset (UTC), millisecond precision."""
    if moment.tzinfo is None:
        raise ValueError("command times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def exception_resolved(
    *,
    command_id: UUID,
    exception_id: str,
    order_no: str,
    option: str,
    decided_by: DecidedBy,
    decided_at: datetime,
) -> dict[str, object]:
    return {
        "commandId": str(command_id),
        "type": CommandType.EXCEPTION_RESOLVED.value,
        "exceptionId": exception_id,
        "orderNo": order_no,
        "option": option,
        "decidedBy": decided_by.value,
        "decidedAt": format_time(decided_at),
    }


def delivery_slot_chosen(
    *, command_id: UUID, order_no: str, slot_id: str, decided_by: DecidedBy, decided_at: datetime
) -> dict[str, object]:
    return {
        "commandId": str(command_id),
        "type": CommandType.DELIVERY_SLOT_CHOSEN.value,
        "orderNo": order_no,
        "slotId": slot_id,
        "decidedBy": decided_by.value,
        "decidedAt": format_time(decided_at),
    }


def receipt_confirmed(
    *, command_id: UUID, order_no: str, confirmed_at: datetime, rating: int | None
) -> dict[str, object]:
    return {
        "commandId": str(command_id),
        "type": CommandType.RECEIPT_CONFIRMED.value,
        "orderNo": order_no,
        "confirmedAt": format_time(confirmed_at),
        "rating": rating,
    }


def encode_body(payload: Mapping[str, object]) -> bytes:
    """The exact bytes sent (and signed): the contract's fields in a fixed order, compact UTF-8.

    The stored payload may come back from the database with its keys reordered (PostgreSQL
    JSONB), so the order is imposed here; every attempt of a command sends the same bytes.
    """
    command_type = CommandType(str(payload["type"]))
    fields = FIELDS[command_type]
    missing = [name for name in fields if name not in payload]
    if missing:
        raise ValueError(f"{command_type.value} command lacks {', '.join(missing)}")
    ordered = {name: payload[name] for name in fields}
    return json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Outcome(StrEnum):
    SENT = "SENT"  # 2xx: the receiver has it
    RETRY = "RETRY"  # 408, 429, 5xx, network error: try again later with the same commandId
    FAILED = "FAILED"  # any other answer: the receiver refuses it; operators must look


def classify_status(status_code: int) -> Outcome:
    if 200 <= status_code < 300:
        return Outcome.SENT
    if status_code in RETRYABLE_STATUS or 500 <= status_code < 600:
        return Outcome.RETRY
    return Outcome.FAILED  # other 4xx, and 1xx/3xx (a redirect is a misconfigured URL)


@dataclass(frozen=True)
class Delivery:
    """What one attempt gave."""

    outcome: Outcome
    status_code: int | None  # None for network errors
    detail: str  # short, for logs and last_error
    retry_after_s: float | None = None  # the receiver's Retry-After, when it gave one


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _describe_answer(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    head = f"{response.status_code} {response.reason_phrase}".strip()
    return f"{head}: {text[:DETAIL_MAX_CHARS]}" if text else head


async def post_command(
    http: httpx.AsyncClient,
    *,
    url: str,
    secret: str,
    payload: Mapping[str, object],
    now: float | None = None,
    timeout_s: float = COMMAND_HTTP_TIMEOUT_S,
) -> Delivery:
    """Send one command once and classify the answer. Never raises for HTTP or network trouble."""
    body = encode_body(payload)
    headers = signed_headers(secret, body, now=now)
    headers[IDEMPOTENCY_HEADER] = str(payload["commandId"])
    try:
        # httpx bounds each phase; this bounds the whole exchange, inside the job's timeout.
        async with asyncio.timeout(timeout_s):
            response = await http.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:  # connect/read/write timeouts, refused, reset, protocol errors
        reason = str(exc).strip() or "no detail"
        return Delivery(Outcome.RETRY, None, f"{type(exc).__name__}: {reason}"[:DETAIL_MAX_CHARS])
    except TimeoutError:
        return Delivery(Outcome.RETRY, None, f"no answer within {timeout_s:g} s")
    outcome = classify_status(response.status_code)
    retry_after = parse_retry_after(response.headers.get("Retry-After")) if outcome is Outcome.RETRY else None
    return Delivery(outcome, response.status_code, _describe_answer(response), retry_after)
