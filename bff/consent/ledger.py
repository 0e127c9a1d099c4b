"""The consent budget per (user, template): grant, reserve, give back and void units.

Every change of a counter is ONE conditional UPDATE, never read-then-write, so concurrent
workers on PostgreSQL cannot oversell (stack-notes §3.3: a naive get-then-save inside a
transaction sold 20 units of 5 on PostgreSQL while SQLite hid it).

- ``reserve_unit`` takes a unit before a send: ``spent = spent + 1 WHERE granted - spent > 0
  AND NOT banned``; True when a unit was taken.
- ``release_unit`` gives it back when the send did not go out: ``spent = spent - 1 WHERE spent > 0``
  (and, given ``reserved_at``, only when the units were not voided since the reservation).
- ``zero_units`` voids what WeChat voided (43101, a change event), as of when WeChat said so.
- ``credit`` grants units (called by bff.consent.matching, which decides whether an accept counts).

Remaining = granted - spent is therefore never negative.

Voids handled late. WeChat's own counter is zero at the moment of a void (a change event's
CreateTime, the start of a send answered 43101); what it holds afterwards came from accepts
after that moment, less the sends made since. A void can be handled after a newer accept (the
popup report is quick, the change push is not), so the ledger keeps dated moves
(``ConsentLedgerMove``: GRANT, SPEND, VOID, written in the transaction of the counter change)
and a void as of ``T`` replays the moves after ``T`` from zero, like WeChat's counter: a grant
adds, a spend takes one if one is left, a later void resets. Units granted before ``T`` are
voided, units of a newer accept survive unless a newer send used them, whichever order the
jobs ran in. The void locks the ledger row (``SELECT … FOR UPDATE``) and sets ``spent`` so
that what is left is that replay (never more than was left before).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from bff.models.consent import ConsentLedger, ConsentLedgerMove, LedgerMoveKind, WeChatStatus


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LedgerEntry:
    """A read-only view of one ledger row (or of the absent row: nothing granted, NOT_ASKED)."""

    template_id: str
    granted: int = 0
    spent: int = 0
    wechat_status: WeChatStatus = WeChatStatus.NOT_ASKED
    always_keep: bool = False
    banned: bool = False

    @property
    def remaining(self) -> int:
        return max(0, self.granted - self.spent)

    @property
    def refused_for_good(self) -> bool:
        """Asking again shows no popup and changes nothing: rejected with "always keep", or banned."""
        return self.banned or (self.always_keep and self.wechat_status is WeChatStatus.REJECT)

    @classmethod
    def of(cls, row: ConsentLedger) -> LedgerEntry:
        return cls(
            template_id=row.template_id,
            granted=row.granted,
            spent=row.spent,
            wechat_status=WeChatStatus(row.wechat_status),
            always_keep=row.always_keep,
            banned=row.banned,
        )


async def ensure_row(user_id: int, template_id: str) -> None:
    """Create the (user, template) row if it is missing; safe under concurrent callers.

    One statement whether the row exists or not (every caller writes the row next anyway):
    INSERT … ON CONFLICT DO NOTHING (PostgreSQL) / INSERT OR IGNORE (SQLite), so a concurrent
    creator wins quietly instead of raising IntegrityError (which would abort a PG transaction).
    """
    await ConsentLedger.bulk_create(
        [ConsentLedger(user_id=user_id, template_id=template_id, updated_at=utcnow())], ignore_conflicts=True
    )


async def ensure_rows(user_id: int, template_ids: Iterable[str]) -> None:
    """``ensure_row`` for several templates of one user, in one statement."""
    now = utcnow()
    await ConsentLedger.bulk_create(
        [ConsentLedger(user_id=user_id, template_id=t, updated_at=now) for t in sorted(set(template_ids))],
        ignore_conflicts=True,
    )


def _row(user_id: int, template_id: str) -> Q:
    return Q(user_id=user_id, template_id=template_id)


async def credit(
    user_id: int,
    template_id: str,
    units: int = 1,
    *,
    at: datetime | None = None,
    always_keep: bool | None = None,
) -> None:
    """Grant ``units`` of consent: the user accepted (counted once; see bff.consent.matching).

    WeChat accepting again also lifts an earlier ``ban`` of the template for this user.
    """
    if units < 1:
        raise ValueError(f"credit needs at least one unit, got {units}")
    now = at or utcnow()
    await ensure_row(user_id, template_id)
    changes: dict[str, object] = {
        "granted": F("granted") + units,
        "wechat_status": WeChatStatus.ACCEPT,
        "banned": False,
        "last_credit_at": now,
        "updated_at": utcnow(),
    }
    if always_keep is not None:
        changes["always_keep"] = always_keep
    async with in_transaction():
        await ConsentLedger.filter(_row(user_id, template_id)).update(**changes)
        await ConsentLedgerMove.create(
            user_id=user_id, template_id=template_id, kind=LedgerMoveKind.GRANT, units=units, at=now
        )


async def credit_rows(
    user_id: int, grants: Iterable[tuple[str, bool | None]], *, at: datetime | None = None
) -> None:
    """One unit for each (template, always_keep) of ``grants``, as ``credit`` grants it, on rows the
    caller ensured and locked in its transaction: one UPDATE per distinct ``always_keep`` and one
    INSERT of the GRANT moves, however many templates."""
    now = at or utcnow()
    by_keep: dict[bool | None, list[str]] = {}
    for template_id, always_keep in grants:
        by_keep.setdefault(always_keep, []).append(template_id)
    if not by_keep:
        return
    async with in_transaction():
        for always_keep, template_ids in by_keep.items():
            changes: dict[str, object] = {
                "granted": F("granted") + 1,
                "wechat_status": WeChatStatus.ACCEPT,
                "banned": False,
                "last_credit_at": now,
                "updated_at": utcnow(),
            }
            if always_keep is not None:
                changes["always_keep"] = always_keep
            rows = ConsentLedger.filter(user_id=user_id, template_id__in=sorted(template_ids))
            await rows.update(**changes)
        await ConsentLedgerMove.bulk_create(
            [
                ConsentLedgerMove(user_id=user_id, template_id=t, kind=LedgerMoveKind.GRANT, units=1, at=now)
                for template_id_list in by_keep.values()
                for t in template_id_list
            ]
        )


async def reserve_unit(user_id: int, template_id: str) -> bool:
    """Take one unit for a send. True if a unit was reserved, False if none is left (or banned).

    One conditional UPDATE; under any number of concurrent callers exactly ``remaining`` succeed.
    The dated SPEND move is written in the same transaction, after the UPDATE took the row lock.
    """
    now = utcnow()
    async with in_transaction():
        updated = await ConsentLedger.filter(
            _row(user_id, template_id), banned=False, granted__gt=F("spent")
        ).update(spent=F("spent") + 1, updated_at=now)
        if updated == 1:
            await ConsentLedgerMove.create(
                user_id=user_id, template_id=template_id, kind=LedgerMoveKind.SPEND, units=1, at=now
            )
    return updated == 1


async def release_unit(user_id: int, template_id: str, *, reserved_at: datetime | None = None) -> bool:
    """Give back a unit whose send did not go out (a retryable failure, a suppressed notice).

    With ``reserved_at`` (when ``reserve_unit`` succeeded) the unit is not given back if it was
    reserved before the latest void (43101 or a change event as of a later moment): WeChat said
    there is nothing left. After a void, what is left is the replay of the moves since it without
    this spend (a spend that took nothing in the replay gives nothing back). True if the
    number of units left went up.
    """
    now = utcnow()
    async with in_transaction():
        row = await ConsentLedger.filter(_row(user_id, template_id)).select_for_update().first()
        if row is None or row.spent <= 0:
            return False
        if reserved_at is not None and row.zeroed_at is not None and reserved_at <= row.zeroed_at:
            return False
        spends = ConsentLedgerMove.filter(user_id=user_id, template_id=template_id, kind=LedgerMoveKind.SPEND)
        if reserved_at is None:
            move = await spends.order_by("-at", "-id").first()
        else:  # the spend of this reservation: the one nearest in time (the clocks may differ)
            before = await spends.filter(at__lte=reserved_at).order_by("-at", "-id").first()
            after = await spends.filter(at__gt=reserved_at).order_by("at", "id").first()
            candidates = [m for m in (before, after) if m is not None]
            move = min(candidates, key=lambda m: abs((m.at - reserved_at).total_seconds()), default=None)
        if move is not None:
            await move.delete()
        if row.zeroed_at is None:
            spent = row.spent - 1
        else:
            since = await _moves_after(user_id, template_id, row.zeroed_at)
            left = min(row.remaining + 1, units_left_after_void(since))
            spent = max(0, row.granted - left)
        if spent >= row.spent:
            return False
        await ConsentLedger.filter(id=row.id).update(spent=spent, updated_at=now)
        return True


async def _moves_after(user_id: int, template_id: str, moment: datetime) -> list[ConsentLedgerMove]:
    return await ConsentLedgerMove.filter(user_id=user_id, template_id=template_id, at__gt=moment).order_by(
        "at", "id"
    )


def units_left_after_void(moves: Iterable[ConsentLedgerMove]) -> int:
    """WeChat's counter after a void, replaying the moves that came after it (oldest first)."""
    left = 0
    for move in moves:
        if move.kind is LedgerMoveKind.GRANT:
            left += move.units
        elif move.kind is LedgerMoveKind.SPEND:
            left = max(0, left - move.units)
        else:
            left = 0
    return left


async def zero_units(
    user_id: int, template_id: str, status: WeChatStatus | None = None, *, as_of: datetime | None = None
) -> bool:
    """Void what WeChat voided as of ``as_of`` (default: now) and optionally set WeChat's status.

    ``as_of`` is when WeChat said so (a change event's CreateTime, the start of a send answered
    43101). Units granted before it are voided; units of a newer accept are kept unless a newer
    send used them (see the module docstring). ``status`` is not set when a newer accept
    supersedes it. True if units were voided.
    """
    now = utcnow()
    moment = as_of or now
    await ensure_row(user_id, template_id)
    async with in_transaction():
        row = await ConsentLedger.filter(_row(user_id, template_id)).select_for_update().first()
        if row is None:  # pragma: no cover - ensure_row created it
            return False
        newer = await _moves_after(user_id, template_id, moment)
        await ConsentLedgerMove.create(
            user_id=user_id, template_id=template_id, kind=LedgerMoveKind.VOID, units=0, at=moment
        )
        left = min(row.remaining, units_left_after_void(newer))
        # zeroed_at: the moment of the latest void WeChat made (a late, older one leaves it).
        latest_void = moment if row.zeroed_at is None or moment > row.zeroed_at else row.zeroed_at
        changes: dict[str, object] = {
            "spent": row.granted - left,
            "zeroed_at": latest_void,
            "updated_at": now,
        }
        newer_accept = any(move.kind is LedgerMoveKind.GRANT for move in newer)
        if status is not None and not newer_accept:
            changes["wechat_status"] = status
        await ConsentLedger.filter(id=row.id).update(**changes)
        return left < row.remaining


async def set_status(
    user_id: int, template_id: str, status: WeChatStatus, *, always_keep: bool | None = None
) -> None:
    """Record what WeChat said without touching the units (a popup ``reject`` keeps earlier units)."""
    await ensure_row(user_id, template_id)
    changes: dict[str, object] = {"wechat_status": status, "updated_at": utcnow()}
    if always_keep is not None:
        changes["always_keep"] = always_keep
    await ConsentLedger.filter(_row(user_id, template_id)).update(**changes)


async def set_statuses(user_id: int, items: Iterable[tuple[str, bool | None]], status: WeChatStatus) -> None:
    """``set_status`` for several (template, always_keep) of one user: one INSERT of the missing
    rows and one UPDATE per distinct ``always_keep``, however many templates."""
    by_keep: dict[bool | None, list[str]] = {}
    for template_id, always_keep in items:
        by_keep.setdefault(always_keep, []).append(template_id)
    if not by_keep:
        return
    await ensure_rows(user_id, [t for templates in by_keep.values() for t in templates])
    for always_keep, template_ids in by_keep.items():
        changes: dict[str, object] = {"wechat_status": status, "updated_at": utcnow()}
        if always_keep is not None:
            changes["always_keep"] = always_keep
        await ConsentLedger.filter(user_id=user_id, template_id__in=sorted(template_ids)).update(**changes)


async def set_always_keep(user_id: int, template_id: str, always_keep: bool) -> None:
    await ensure_row(user_id, template_id)
    await ConsentLedger.filter(_row(user_id, template_id)).update(
        always_keep=always_keep, updated_at=utcnow()
    )


async def ban(user_id: int, template_id: str) -> None:
    """WeChat answered ``ban``: the template is unusable for this user (reserve_unit refuses it)."""
    await ensure_row(user_id, template_id)
    await ConsentLedger.filter(_row(user_id, template_id)).update(
        banned=True, wechat_status=WeChatStatus.BAN, updated_at=utcnow()
    )


async def entry(user_id: int, template_id: str) -> LedgerEntry:
    row = await ConsentLedger.get_or_none(user_id=user_id, template_id=template_id)
    return LedgerEntry.of(row) if row is not None else LedgerEntry(template_id=template_id)


async def remaining(user_id: int, template_id: str) -> int:
    """Units left for sends of this template to this user (0 when nothing was granted)."""
    return (await entry(user_id, template_id)).remaining


async def status(user_id: int, template_id: str) -> WeChatStatus:
    """What WeChat last said about this template for this user (NOT_ASKED when nothing yet)."""
    return (await entry(user_id, template_id)).wechat_status


async def entries(user_id: int, template_ids: Iterable[str] | None = None) -> Mapping[str, LedgerEntry]:
    """Ledger entries of a user by template id, in one query (values, no model instances); absent
    templates get empty entries."""
    query = ConsentLedger.filter(user_id=user_id)
    wanted = list(template_ids) if template_ids is not None else None
    if wanted is not None:
        query = query.filter(template_id__in=wanted)
    found = {
        str(row["template_id"]): LedgerEntry(
            template_id=str(row["template_id"]),
            granted=int(row["granted"]),
            spent=int(row["spent"]),
            wechat_status=WeChatStatus(row["wechat_status"]),
            always_keep=bool(row["always_keep"]),
            banned=bool(row["banned"]),
        )
        for row in await query.values(
            "template_id", "granted", "spent", "wechat_status", "always_keep", "banned"
        )
    }
    if wanted is None:
        return found
    return {key: found.get(key, LedgerEntry(template_id=key)) for key in wanted}
