"""The message-push receiver's domain side (wechat-platform.md §4, §5): verify, parse, store.

``open_push`` turns one request (query parameters and body) into typed events, or raises
PushRejected with the HTTP status and a short reason:

* plaintext mode: ``signature`` = sha1(sorted token, timestamp, nonce) must match; it does not
  cover the body (WeChat's design), so the timestamp must also be recent (``MAX_CLOCK_SKEW_S``)
  to narrow replays of a captured URL. Accepted only while no ``WECHAT_AES_KEY`` is configured:
  with a key, WeChat pushes in secure mode, and a plaintext push is someone else's;
* secure mode (``encrypt_type=aes``): ``msg_signature`` over the ``Encrypt`` field must match,
  the ciphertext must decrypt with the current or the previous EncodingAESKey, and the appid
  inside must be ours. Without a configured ``WECHAT_AES_KEY`` secure pushes are refused.

``receive_push`` then remembers each signed (timestamp, nonce) in Redis for as long as the
timestamp is acceptable, with a digest of the (decrypted) event body: the same URL with the same
event again is WeChat's retry of an unanswered push (stored once, by the dedupe key), with
another event it is a captured URL carrying a forged body, refused. Redis makes this hold
across web processes.

401 = not from WeChat (signature, ciphertext, appid, stale timestamp); 400 = authentic but not a
body we can read. ``store_push`` inserts one row per event in one batch, ignoring rows whose
dedupe key is already stored (WeChat retries a push that was not answered within 5 s), and
returns the ids whose handling job still has to run.

``requeue_stuck_push_events`` (the cron job ``requeue_push_events``) queues the job again for
rows still RECEIVED long after they were stored: their job was cancelled (timeout, shutdown),
ran out of arq's tries, or was never queued (Redis down). The job id ``push:<row id>`` makes it
a no-op while the job exists, and the job itself skips a row that is no longer RECEIVED.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix

from bff import constants
from bff.models.wechat import PushEvent as PushEventRow
from bff.models.wechat import PushEventStatus
from bff.runtime.logsafe import mask
from bff.runtime.settings import Settings
from bff.wechat.crypto import ForeignAppIdError, PushCrypto, PushCryptoError, sha1_signature
from bff.wechat.events import (
    CHANGE_EVENT,
    POPUP_EVENT,
    SENT_EVENT,
    ChangeEvent,
    OtherEvent,
    PopupEvent,
    PushEvent,
    PushFormat,
    PushParseError,
    SentEvent,
    detect_format,
    parse_envelope,
    parse_events,
)

__all__ = [
    "MAX_CLOCK_SKEW_S",
    "PushRejected",
    "ReceivedPush",
    "answer_handshake",
    "dedupe_key",
    "enqueue_push_jobs",
    "event_from_row",
    "event_name",
    "open_push",
    "receive_push",
    "remember_nonce",
    "store_push",
]

log = logging.getLogger("lvyue.wechat.push")

# A signed URL older (or newer) than this is refused: WeChat signs each push when it sends it and
# retries within seconds, so only a replayed URL is that far from our clock.
MAX_CLOCK_SKEW_S = 600


class PushRejected(Exception):
    """The push is refused; ``status`` is the HTTP answer, ``reason`` a short public text."""

    def __init__(self, reason: str, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class ReceivedPush:
    events: list[PushEvent]
    body: bytes  # the plaintext event body (decrypted in secure mode)
    format: PushFormat
    secure: bool


# --- verification ---------------------------------------------------------------------------


def _param(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise PushRejected(f"missing {name}")
    return value


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def answer_handshake(params: Mapping[str, str], settings: Settings) -> str:
    """The ``echostr`` to answer a valid GET verification (§5.2); PushRejected otherwise."""
    signature = _param(params, "signature")
    timestamp = _param(params, "timestamp")
    nonce = _param(params, "nonce")
    echostr = params.get("echostr")
    if not echostr:
        raise PushRejected("missing echostr", status=400)
    if not _same(signature, sha1_signature(settings.wechat_push_token, timestamp, nonce)):
        raise PushRejected("bad signature")
    return echostr


def _check_timestamp(timestamp: str, now: float | None) -> None:
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise PushRejected("bad timestamp") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > MAX_CLOCK_SKEW_S:
        raise PushRejected("stale timestamp")


def _crypto(settings: Settings) -> PushCrypto:
    if settings.wechat_aes_key is None:
        raise PushRejected("secure mode is not configured (no WECHAT_AES_KEY)")
    return PushCrypto(
        token=settings.wechat_push_token,
        encoding_aes_key=settings.wechat_aes_key,
        appid=settings.wechat_appid,
        previous_aes_key=settings.wechat_previous_aes_key,
    )


def _decrypt_secure(params: Mapping[str, str], body: bytes, settings: Settings) -> bytes:
    msg_signature = _param(params, "msg_signature")
    timestamp = _param(params, "timestamp")
    nonce = _param(params, "nonce")
    crypto = _crypto(settings)
    try:
        envelope = parse_envelope(body, detect_format(body))
    except PushParseError as exc:
        raise PushRejected(f"malformed envelope: {exc}", status=400) from None
    encrypt = envelope.get("Encrypt")
    if not isinstance(encrypt, str) or not encrypt:
        raise PushRejected("secure-mode body has no Encrypt field", status=400)
    if not crypto.check_msg_signature(msg_signature, timestamp, nonce, encrypt):
        raise PushRejected("bad msg_signature")
    try:
        return crypto.decrypt(encrypt)
    except ForeignAppIdError:
        raise PushRejected("message is for another appid") from None
    except PushCryptoError:
        raise PushRejected("bad ciphertext") from None


def open_push(
    params: Mapping[str, str], body: bytes, settings: Settings, *, now: float | None = None
) -> ReceivedPush:
    """Verify a POST push and parse its events; raises PushRejected (401 / 400)."""
    secure = params.get("encrypt_type", "").lower() == "aes"
    if secure:
        plaintext = _decrypt_secure(params, body, settings)
    elif settings.wechat_aes_key is not None:
        raise PushRejected("plaintext push refused: secure mode is configured (WECHAT_AES_KEY)")
    else:
        signature = _param(params, "signature")
        timestamp = _param(params, "timestamp")
        nonce = _param(params, "nonce")
        if not _same(signature, sha1_signature(settings.wechat_push_token, timestamp, nonce)):
            raise PushRejected("bad signature")
        plaintext = body
    _check_timestamp(params["timestamp"], now)
    try:
        fmt = detect_format(plaintext)
        events = parse_events(plaintext)
    except PushParseError as exc:
        raise PushRejected(f"unreadable push: {exc}", status=400) from None
    return ReceivedPush(events=events, body=plaintext, format=fmt, secure=secure)


# --- storage --------------------------------------------------------------------------------


def event_name(event: PushEvent) -> str:
    if isinstance(event, PopupEvent):
        return POPUP_EVENT
    if isinstance(event, ChangeEvent):
        return CHANGE_EVENT
    if isinstance(event, SentEvent):
        return SENT_EVENT
    return event.event


def _details(event: PushEvent) -> dict[str, Any]:
    if isinstance(event, PopupEvent):
        return {"status": event.status, "popup_scene": event.popup_scene}
    if isinstance(event, ChangeEvent):
        return {"status": event.status}
    if isinstance(event, SentEvent):
        return {"error_code": event.error_code, "error_status": event.error_status}
    return {"fields": dict(event.fields)}


def dedupe_key(event: PushEvent) -> str:
    """FromUserName + CreateTime + Event + TemplateId (+ MsgID for sent events), per §4; other
    events use a digest of their fields instead of a template id."""
    parts = [event.openid, str(event.create_time), event_name(event)]
    if isinstance(event, PopupEvent | ChangeEvent):
        parts.append(event.template_id)
    elif isinstance(event, SentEvent):
        parts.extend((event.template_id, event.msgid))
    else:
        parts.append(json.dumps(dict(event.fields), sort_keys=True, ensure_ascii=False))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def event_from_row(row: PushEventRow) -> PushEvent:
    """The typed event a stored row was made from."""
    details: Mapping[str, Any] = row.details or {}
    if row.event == POPUP_EVENT:
        return PopupEvent(
            openid=row.openid,
            template_id=row.template_id or "",
            status=str(details.get("status", "")),
            popup_scene=str(details.get("popup_scene", "")),
            create_time=row.create_time,
        )
    if row.event == CHANGE_EVENT:
        return ChangeEvent(
            openid=row.openid,
            template_id=row.template_id or "",
            status=str(details.get("status", "")),
            create_time=row.create_time,
        )
    if row.event == SENT_EVENT:
        return SentEvent(
            openid=row.openid,
            template_id=row.template_id or "",
            msgid=row.msgid or "",
            error_code=int(details.get("error_code", 0)),
            error_status=str(details.get("error_status", "")),
            create_time=row.create_time,
        )
    stored_fields = details.get("fields")
    return OtherEvent(
        openid=row.openid,
        event=row.event,
        create_time=row.create_time,
        fields={str(k): str(v) for k, v in stored_fields.items()} if isinstance(stored_fields, dict) else {},
    )


def _row(event: PushEvent, push: ReceivedPush, raw: str) -> PushEventRow:
    return PushEventRow(
        dedupe_key=dedupe_key(event),
        event=event_name(event)[:64],
        openid=event.openid[:64],
        template_id=None if isinstance(event, OtherEvent) else event.template_id[:128],
        msgid=event.msgid if isinstance(event, SentEvent) else None,
        create_time=event.create_time,
        details=_details(event),
        body=raw,
        body_format=push.format.value,
        secure=push.secure,
        status=PushEventStatus.RECEIVED,
    )


async def store_push(push: ReceivedPush) -> list[int]:
    """Insert the push's events (one batch, duplicates ignored); ids of rows still to handle.

    A retry of an already stored push returns its rows again while they are RECEIVED, so a push
    whose job was never queued (the process died in between) gets its job on WeChat's retry.
    """
    raw = push.body.decode("utf-8", errors="replace")
    rows: dict[str, PushEventRow] = {}
    for event in push.events:
        row = _row(event, push, raw)
        rows.setdefault(row.dedupe_key, row)
    if not rows:
        return []
    await PushEventRow.bulk_create(list(rows.values()), ignore_conflicts=True)
    ids = await PushEventRow.filter(dedupe_key__in=list(rows), status=PushEventStatus.RECEIVED).values_list(
        "id", flat=True
    )
    return sorted(int(i) for i in ids)  # type: ignore[call-overload]


def push_job_id(push_event_id: int) -> str:
    return f"{constants.PUSH_JOB_ID_PREFIX}{push_event_id}"


async def enqueue_push_jobs(arq: ArqRedis, ids: Sequence[int]) -> int:
    """Queue ``handle_push_event`` per row; the job id makes a second enqueue a no-op."""
    queued = 0
    for push_event_id in ids:
        job = await arq.enqueue_job(
            constants.JOB_HANDLE_PUSH_EVENT, push_event_id, _job_id=push_job_id(push_event_id)
        )
        queued += job is not None
    return queued


async def requeue_stuck_push_events(
    arq: ArqRedis,
    *,
    now: datetime | None = None,
    after: timedelta = timedelta(seconds=constants.PUSH_REQUEUE_AFTER_S),
    max_age: timedelta = timedelta(seconds=constants.PUSH_REQUEUE_MAX_AGE_S),
    limit: int = constants.PUSH_REQUEUE_BATCH,
) -> int:
    """Queue ``handle_push_event`` again for rows RECEIVED between ``max_age`` and ``after`` ago
    whose job no longer exists; returns how many jobs were queued.

    A cancelled job leaves its result in Redis for the worker's ``keep_result`` and arq refuses
    the job id until then: with no job key left, that result is stale and dropped first.
    """
    now = now or datetime.now(UTC)
    ids = await (
        PushEventRow.filter(
            status=PushEventStatus.RECEIVED, received_at__lte=now - after, received_at__gt=now - max_age
        )
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    queued = 0
    for value in ids:
        push_event_id = int(value)  # type: ignore[call-overload]
        job_id = push_job_id(push_event_id)
        if await arq.exists(job_key_prefix + job_id):
            continue  # queued, deferred for a retry, or running
        await arq.delete(result_key_prefix + job_id)
        queued += await enqueue_push_jobs(arq, [push_event_id])
    if queued:
        log.warning("re-queued %d push event(s) left RECEIVED without a job", queued)
    return queued


def _nonce_key(timestamp: str, nonce: str) -> str:
    return f"{constants.PUSH_NONCE_KEY}:{timestamp}:{nonce}"


async def remember_nonce(
    redis: ArqRedis, params: Mapping[str, str], body: bytes, *, now: float | None = None
) -> None:
    """Record a verified push's (timestamp, nonce) until its timestamp is too old to be accepted;
    PushRejected when the pair was already used for a different ``body`` (the plaintext event:
    a retry may carry the same event encrypted afresh)."""
    timestamp, nonce = params["timestamp"], params["nonce"]
    current = time.time() if now is None else now
    # Acceptable until timestamp + MAX_CLOCK_SKEW_S (open_push checked it is within the window).
    ttl_s = max(1, int(timestamp) + MAX_CLOCK_SKEW_S - int(current) + 1)
    digest = hashlib.sha256(body).hexdigest()
    key = _nonce_key(timestamp, nonce)
    if await redis.set(key, digest, nx=True, ex=ttl_s):
        return
    seen = await redis.get(key)
    seen_digest = seen.decode("ascii") if isinstance(seen, bytes) else seen
    if seen_digest is not None and seen_digest != digest:
        raise PushRejected("nonce already used with another body")


async def receive_push(
    params: Mapping[str, str], body: bytes, settings: Settings, arq: ArqRedis, *, now: float | None = None
) -> list[int]:
    """Verify, store and queue one push; the ids of the rows whose job is queued (or running)."""
    push = open_push(params, body, settings, now=now)
    await remember_nonce(arq, params, push.body, now=now)
    ids = await store_push(push)
    await enqueue_push_jobs(arq, ids)
    first = push.events[0]
    log.info(
        "push %s from %s (%s%s): %d event(s), %d to handle",
        event_name(first),
        mask(first.openid),
        push.format.value,
        ", secure" if push.secure else "",
        len(push.events),
        len(ids),
    )
    return ids
