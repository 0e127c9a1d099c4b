"""What happened to a send after the call: WeChat's sent events, and sends whose outcome is unknown.

``record_sent_event(event, user)`` is called by the consent push handler for each
``subscribe_msg_sent_event`` (wechat-platform.md §4). It finds the notice the event is about:

1. by ``msgid`` (the send's answer carried it): the delivery result is recorded on that notice;
2. otherwise the event is for a send whose answer we never read — a read timeout, or a worker that
   died during the call. Candidates are the user's notices of the same template that reached
   WeChat without a msgid: SENDING with ``call_started_at``, or already settled as ASSUMED_SENT.
   The oldest is taken (sends to one openid are serialised, so an older unanswered call happened
   before a newer one) and becomes SENT with the event's msgid and reason RECONCILED. Should the
   guess be wrong — the send it took the event from answers later with that very msgid — the sender
   puts the guessed notice back to ASSUMED_SENT (bff/notices/sender.py).

``settle_unknown_outcomes`` ends the wait: a notice whose outcome has been unknown for longer than
the timeout (NOTICE_OUTCOME_TIMEOUT_S; a parameter so tests can shorten it) becomes SENT with
reason ASSUMED_SENT. Its unit stays spent: WeChat may have used it, and the ledger must never
promise a unit that is gone (docs/design.md, "Consent is exact"). It is never sent again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from tortoise.expressions import Q

from bff import constants
from bff.models.notices import Notice, NoticeStatus
from bff.models.users import User
from bff.notices.settlement import ASSUMED_SENT, RECONCILED, settle_sending
from bff.runtime.logsafe import mask
from bff.wechat.events import SentEvent

__all__ = ["SentEventMatch", "record_sent_event", "settle_unknown_outcomes"]

log = logging.getLogger("lvyue.notices.delivery")

_STATUS_MAX = 64
_ATTEMPTS = 3  # a concurrent settlement can take a candidate away; look again this often


class SentEventMatch(StrEnum):
    BY_MSGID = "BY_MSGID"  # the notice that WeChat's answer named
    RECONCILED = "RECONCILED"  # an unanswered send of this user and template
    UNMATCHED = "UNMATCHED"  # no notice of ours: not our send, or already matched


def delivery_status(event: SentEvent) -> str:
    """``success``, or ``<ErrorCode> <ErrorStatus>`` for an asynchronous delivery failure."""
    text = event.error_status if event.error_code == 0 else f"{event.error_code} {event.error_status}"
    return (text or str(event.error_code))[:_STATUS_MAX]


async def record_sent_event(event: SentEvent, user: User) -> SentEventMatch:
    """Record WeChat's delivery result of one send on its notice (idempotent: pushes repeat)."""
    delivered_at = datetime.fromtimestamp(event.create_time, UTC)
    status = delivery_status(event)
    for _ in range(_ATTEMPTS):
        if event.msgid:
            found = await Notice.filter(user_id=user.id, msgid=event.msgid).update(
                delivery_status=status, delivered_at=delivered_at
            )
            if found:
                return SentEventMatch.BY_MSGID
        candidate = (
            await Notice.filter(user_id=user.id, template_id=event.template_id, msgid__isnull=True)
            .filter(
                Q(status=NoticeStatus.SENDING, call_started_at__isnull=False)
                | Q(status=NoticeStatus.SENT, reason=ASSUMED_SENT)
            )
            .order_by("call_started_at", "id")
            .first()
        )
        if candidate is None or not event.msgid:
            log.info("sent event %s of %s matches no notice", event.msgid or "-", mask(event.openid))
            return SentEventMatch.UNMATCHED
        now = datetime.now(UTC)
        changes = {
            "msgid": event.msgid,
            "reason": RECONCILED,
            "delivery_status": status,
            "delivered_at": delivered_at,
            "updated_at": now,
        }
        if candidate.status is NoticeStatus.SENDING:
            moved = await settle_sending(
                candidate.id,
                {**changes, "status": NoticeStatus.SENT, "sent_at": now},
                give_back=False,
                extra_filters={"msgid__isnull": True, "call_started_at__isnull": False},
            )
        else:
            moved = bool(
                await Notice.filter(
                    id=candidate.id, status=NoticeStatus.SENT, reason=ASSUMED_SENT, msgid__isnull=True
                ).update(**changes)
            )
        if moved:
            log.info("sent event %s reconciled with notice %d", event.msgid, candidate.id)
            return SentEventMatch.RECONCILED
    return SentEventMatch.UNMATCHED


async def settle_unknown_outcomes(
    *,
    now: datetime | None = None,
    after: timedelta = timedelta(seconds=constants.NOTICE_OUTCOME_TIMEOUT_S),
    limit: int = constants.SWEEP_BATCH,
) -> int:
    """SENT (ASSUMED_SENT) for notices whose outcome has been unknown for ``after``; returns how many."""
    now = now or datetime.now(UTC)
    cutoff = now - after
    ids = (
        await Notice.filter(status=NoticeStatus.SENDING, outcome_unknown_at__lte=cutoff)
        .order_by("id")
        .limit(limit)
        .values_list("id", flat=True)
    )
    settled = 0
    for notice_id in ids:
        if await settle_sending(
            int(notice_id),  # type: ignore[call-overload]
            {"status": NoticeStatus.SENT, "reason": ASSUMED_SENT, "sent_at": now, "updated_at": now},
            give_back=False,
            extra_filters={"outcome_unknown_at__lte": cutoff},
        ):
            settled += 1
    if settled:
        log.warning("%d notice(s) with an unknown outcome settled as sent (assumed)", settled)
    return settled
