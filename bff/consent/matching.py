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
so two credits of the same pair can never both claim the same partner, nor both miss it. The
templates of one report are counted together (``record_accepts``), their rows locked in
template order.

Times: a report's time is when the server received it; a push's time is its ``CreateTime``.
Trade-off of the window: a push arriving more than 10 minutes after its report (or the reverse)
counts as a second accept. That over-counts by one at worst, which costs one 43101 answer (the
ledger is then zeroed); matching without a window would instead let an old unmatched report
swallow a later genuine accept and under-count, which loses a notice the user asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


@dataclass(frozen=True)
class Accept:
    """One accept to count: of ``template_id``, identified by ``source_key``; ``always_keep`` is
    what the user chose to keep (None: not said)."""

    template_id: str
    source_key: str
    always_keep: bool | None = None


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
    (outcome,) = await record_accepts(
        user_id,
        [Accept(template_id, source_key, always_keep)],
        source=source,
        occurred_at=occurred_at,
        window=window,
    )
    return outcome


async def record_accepts(
    user_id: int,
    accepts: Sequence[Accept],
    *,
    source: CreditSource,
    occurred_at: datetime,
    window: timedelta = MATCH_WINDOW,
) -> list[AcceptOutcome]:
    """Count the accepts of several templates (one each) from one piece of evidence, as
    ``record_accept`` does for one, in a fixed number of statements however many templates: the
    ledger rows ensured, then one transaction that locks them (in template order), finds the keys
    already counted and the partners, inserts the credits and grants the units. Only a pairing
    with a partner costs one UPDATE of that partner (and of its ledger row's ``always_keep``).
    The outcomes come in the order of ``accepts``."""
    if not accepts:
        return []
    templates = sorted({a.template_id for a in accepts})
    if len(templates) != len(accepts):
        raise ValueError("one accept per template")
    await ledger.ensure_rows(user_id, templates)
    async with in_transaction():
        # Serialise every credit of these (user, template) pairs behind their ledger rows. (A
        # model query: tortoise drops FOR UPDATE from values() and values_list().)
        await (
            ConsentLedger.filter(user_id=user_id, template_id__in=templates)
            .order_by("template_id")
            .select_for_update()
        )

        keys = [a.source_key for a in accepts]
        counted = {
            str(key)
            for key in await ConsentCredit.filter(source_key__in=keys).values_list("source_key", flat=True)
        }
        fresh = [a for a in accepts if a.source_key not in counted]
        partner_of: dict[str, ConsentCredit | None] = {}
        if fresh:
            candidates = await ConsentCredit.filter(
                user_id=user_id,
                template_id__in=[a.template_id for a in fresh],
                source=_other(source),
                granted=True,
                matched_id__isnull=True,
                occurred_at__gte=occurred_at - window,
                occurred_at__lte=occurred_at + window,
            )
            for accept in fresh:
                partner_of[accept.template_id] = min(
                    (c for c in candidates if c.template_id == accept.template_id),
                    key=lambda c: (abs((c.occurred_at - occurred_at).total_seconds()), c.id),
                    default=None,
                )
            now = datetime.now(UTC)
            await ConsentCredit.bulk_create(
                [
                    ConsentCredit(
                        user_id=user_id,
                        template_id=a.template_id,
                        source=source,
                        source_key=a.source_key,
                        occurred_at=occurred_at,
                        granted=partner_of[a.template_id] is None,
                        matched_id=_id_of(partner_of[a.template_id]),
                        created_at=now,
                    )
                    for a in fresh
                ]
            )
        ids: dict[str, int] = {}
        if fresh:
            rows = await ConsentCredit.filter(source_key__in=[a.source_key for a in fresh]).values_list(
                "source_key", "id"
            )
            ids = {str(key): int(credit_id) for key, credit_id in rows}  # type: ignore[call-overload]

        outcomes: list[AcceptOutcome] = []
        grants: list[tuple[str, bool | None]] = []
        for accept in accepts:
            if accept.source_key in counted:
                outcomes.append(AcceptOutcome(credit_id=None, granted=False, duplicate=True))
                continue
            credit_id = ids[accept.source_key]
            partner = partner_of[accept.template_id]
            if partner is None:
                grants.append((accept.template_id, accept.always_keep))
                outcomes.append(AcceptOutcome(credit_id=credit_id, granted=True))
                continue
            await ConsentCredit.filter(id=partner.id, matched_id__isnull=True).update(matched_id=credit_id)
            if accept.always_keep is not None:
                await ledger.set_always_keep(user_id, accept.template_id, accept.always_keep)
            outcomes.append(AcceptOutcome(credit_id=credit_id, granted=False, matched_id=partner.id))
        if grants:
            await ledger.credit_rows(user_id, grants, at=occurred_at)
        return outcomes


def _id_of(credit: ConsentCredit | None) -> int | None:
    return credit.id if credit is not None else None
