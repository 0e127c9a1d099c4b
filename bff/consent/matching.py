"""One accept is counted once, whether the mini-program reports it, WeChat pushes it, or both.

The rule (also in docs/architecture.md, "Consent: one accept is counted once"):

1. Every piece of evidence of an accept is a ``ConsentCredit`` row with a ``source_key`` that is
   unique: ``report:<requestId>:<templateId>`` for a client report item, ``push:<digest>`` for a
   popup-event item. Seeing the same key again changes nothing (idempotent).
2. A new credit looks for a *partner*: a credit of the **other** source, same user and template,
   still unmatched, whose time is within ``MATCH_WINDOW`` (10 minutes) of its own. The closest in
   time wins.
3. With a partner, the new credit is matched to it and grants nothing (the partner already
   granted the unit). Without one, it grants one unit.
4. So whichever arrives first grants; the second of a pair only pairs up. Unmatched credits each
   grant one unit: a report without a push, a push without a report.

All of this runs in one transaction that first locks the (user, template) ledger row
(``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises transactions on its one connection),
so two credits of the same pair can never both claim the same partner, nor both miss it.

Times: a report's time is when the server received it; a push's time is its ``CreateTime``.
Trade-off of the window: a push arriving more than 10 minutes after its report (or the reverse)
counts as a second accept. That over-counts by one at worst, which costs one 43101 answer (the
ledger is then zeroed); matching without a window would instead let an old unmatched report
swallow a later genuine accept and under-count, which loses a notice the user asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256

from tortoise.transactions import in_transaction

from bff.consent import ledger
from bff.models.consent import ConsentCredit, ConsentLedger, CreditSource

MATCH_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class AcceptOutcome:
    """What one piece of evidence did: granted a unit, paired with an earlier one, or was a repeat."""

    credit_id: int | None
    granted: bool
    matched_id: int | None = None
    duplicate: bool = False


def report_key(request_id: str, template_id: str) -> str:
    return f"report:{request_id}:{template_id}"


def push_key(openid: str, template_id: str, create_time: int, status: str, popup_scene: str) -> str:
    """WeChat retries a push with the same body: FromUserName + CreateTime + TemplateId identify it."""
    raw = "\x1f".join([openid, template_id, str(create_time), status, popup_scene])
    return "push:" + sha256(raw.encode("utf-8")).hexdigest()[:48]


def _other(source: CreditSource) -> CreditSource:
    return CreditSource.PUSH if source is CreditSource.REPORT else CreditSource.REPORT


async def record_accept(
    user_id: int,
    template_id: str,
    *,
    source: CreditSource,
    source_key: str,
    occurred_at: datetime,
    window: timedelta = MATCH_WINDOW,
    always_keep: bool | None = None,
) -> AcceptOutcome:
    """Count one accept of ``template_id`` by ``user_id`` unless it is already counted."""
    await ledger.ensure_row(user_id, template_id)
    async with in_transaction():
        # Serialise every credit of this (user, template) pair behind its ledger row.
        await ConsentLedger.filter(user_id=user_id, template_id=template_id).select_for_update().first()

        if await ConsentCredit.filter(source_key=source_key).exists():
            return AcceptOutcome(credit_id=None, granted=False, duplicate=True)

        candidates = await ConsentCredit.filter(
            user_id=user_id,
            template_id=template_id,
            source=_other(source),
            granted=True,
            matched_id__isnull=True,
            occurred_at__gte=occurred_at - window,
            occurred_at__lte=occurred_at + window,
        )
        partner = min(
            candidates, key=lambda c: (abs((c.occurred_at - occurred_at).total_seconds()), c.id), default=None
        )
        new = await ConsentCredit.create(
            user_id=user_id,
            template_id=template_id,
            source=source,
            source_key=source_key,
            occurred_at=occurred_at,
            granted=partner is None,
            matched_id=partner.id if partner is not None else None,
        )
        if partner is not None:
            await ConsentCredit.filter(id=partner.id, matched_id__isnull=True).update(matched_id=new.id)
            if always_keep is not None:
                await ledger.set_always_keep(user_id, template_id, always_keep)
            return AcceptOutcome(credit_id=new.id, granted=False, matched_id=partner.id)
        await ledger.credit(user_id, template_id, at=occurred_at, always_keep=always_keep)
        return AcceptOutcome(credit_id=new.id, granted=True)
