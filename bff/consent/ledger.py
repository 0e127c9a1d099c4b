"""The consent budget per (user, template): grant, reserve, give back and void units.

Every change of a counter is ONE conditional UPDATE, never read-then-write, so concurrent
workers on PostgreSQL cannot oversell (stack-notes §3.3: a naive get-then-save inside a
transaction sold 20 units of 5 on PostgreSQL while SQLite hid it).

- ``reserve_unit`` takes a unit before a send: ``spent = spent + 1 WHERE granted - spent > 0
  AND NOT banned``; True when a unit was taken.
- ``release_unit`` gives it back when the send did not go out: ``spent = spent - 1 WHERE spent > 0``
  (and, given ``reserved_at``, only when the units were not voided since the reservation).
- ``zero_units`` voids what is left (43101, a change event): ``spent = granted``.
- ``credit`` grants units (called by bff.consent.matching, which decides whether an accept counts).

Remaining = granted - spent is therefore never negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import F, Q

from bff.models.consent import ConsentLedger, WeChatStatus


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
    """Create the (user, template) row if it is missing; safe under concurrent callers."""
    if await ConsentLedger.filter(user_id=user_id, template_id=template_id).exists():
        return
    # INSERT … ON CONFLICT DO NOTHING (PostgreSQL) / INSERT OR IGNORE (SQLite): a concurrent
    # creator wins quietly instead of raising IntegrityError (which would abort a PG transaction).
    await ConsentLedger.bulk_create(
        [ConsentLedger(user_id=user_id, template_id=template_id, updated_at=utcnow())], ignore_conflicts=True
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
    await ConsentLedger.filter(_row(user_id, template_id)).update(**changes)


async def reserve_unit(user_id: int, template_id: str) -> bool:
    """Take one unit for a send. True if a unit was reserved, False if none is left (or banned).

    One conditional UPDATE; under any number of concurrent callers exactly ``remaining`` succeed.
    """
    updated = await ConsentLedger.filter(
        _row(user_id, template_id), banned=False, granted__gt=F("spent")
    ).update(spent=F("spent") + 1, updated_at=utcnow())
    return updated == 1


async def release_unit(user_id: int, template_id: str, *, reserved_at: datetime | None = None) -> bool:
    """Give back a unit whose send did not go out (a retryable failure, a suppressed notice).

    With ``reserved_at`` (when ``reserve_unit`` succeeded) the unit is not given back if the units
    were voided since (43101 or a change event in between): WeChat said there is nothing left.
    True if a unit was given back.
    """
    query = ConsentLedger.filter(_row(user_id, template_id), spent__gt=0)
    if reserved_at is not None:
        query = query.filter(Q(zeroed_at__isnull=True) | Q(zeroed_at__lt=reserved_at))
    updated = await query.update(spent=F("spent") - 1, updated_at=utcnow())
    return updated == 1


async def zero_units(
    user_id: int, template_id: str, status: WeChatStatus | None = None, *, as_of: datetime | None = None
) -> bool:
    """Void every remaining unit (``spent = granted``) and optionally set WeChat's status.

    ``as_of`` is when WeChat said so (a change event's CreateTime, the time a 43101 send was
    reserved): units granted after it come from a newer accept and are kept. True if the row was
    changed.
    """
    now = utcnow()
    await ensure_row(user_id, template_id)
    query = ConsentLedger.filter(_row(user_id, template_id))
    if as_of is not None:
        query = query.filter(Q(last_credit_at__isnull=True) | Q(last_credit_at__lte=as_of))
    changes: dict[str, object] = {"spent": F("granted"), "zeroed_at": now, "updated_at": now}
    if status is not None:
        changes["wechat_status"] = status
    return await query.update(**changes) == 1


async def set_status(
    user_id: int, template_id: str, status: WeChatStatus, *, always_keep: bool | None = None
) -> None:
    """Record what WeChat said without touching the units (a popup ``reject`` keeps earlier units)."""
    await ensure_row(user_id, template_id)
    changes: dict[str, object] = {"wechat_status": status, "updated_at": utcnow()}
    if always_keep is not None:
        changes["always_keep"] = always_keep
    await ConsentLedger.filter(_row(user_id, template_id)).update(**changes)


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
    """Ledger entries of a user by template id, in one query; absent templates get empty entries."""
    query = ConsentLedger.filter(user_id=user_id)
    wanted = list(template_ids) if template_ids is not None else None
    if wanted is not None:
        query = query.filter(template_id__in=wanted)
    found = {row.template_id: LedgerEntry.of(row) for row in await query}
    if wanted is None:
        return found
    return {key: found.get(key, LedgerEntry(template_id=key)) for key in wanted}
