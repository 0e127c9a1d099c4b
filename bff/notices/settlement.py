"""Settling a SENDING notice: the one state transition the sender, the sweeper and delivery share.

Every change of a SENDING notice is a conditional UPDATE on its row (``WHERE status = 'SENDING'``
…) in the same transaction as its ledger change, so a sweeper and a late worker can never both
give a unit back or both settle a notice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from tortoise.transactions import in_transaction

from bff.consent import ledger as consent_ledger
from bff.models.consent import WeChatStatus
from bff.models.notices import Notice, NoticeStatus

__all__ = ["ASSUMED_SENT", "OUTCOME_UNKNOWN", "RECONCILED", "UnitLedger", "settle_sending"]

# Reasons of sends whose answer was never read (stable UPPER_SNAKE strings kept on the notice).
OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
ASSUMED_SENT = "ASSUMED_SENT"  # SENT because WeChat may have used the unit (outcome unknown, timed out)
RECONCILED = "RECONCILED"  # SENT because a sent event of this user and template arrived (msgid guessed)


class UnitLedger(Protocol):
    """What sending needs of bff.consent.ledger (the module itself satisfies it)."""

    async def reserve_unit(self, user_id: int, template_id: str) -> bool: ...

    async def release_unit(
        self, user_id: int, template_id: str, *, reserved_at: datetime | None = None
    ) -> bool: ...

    async def zero_units(
        self,
        user_id: int,
        template_id: str,
        status: WeChatStatus | None = None,
        *,
        as_of: datetime | None = None,
    ) -> bool: ...


async def settle_sending(
    notice_id: int,
    changes: Mapping[str, Any],
    *,
    give_back: bool,
    ledger: UnitLedger = consent_ledger,
    extra_filters: Mapping[str, Any] | None = None,
) -> bool:
    """Move a SENDING notice on with ``changes``, giving its unit back when ``give_back`` and it holds
    one. One transaction; conditional on the row still being SENDING (and ``extra_filters``), so of
    two callers racing for the same notice exactly one moves it. True when this caller did."""
    filters = {"id": notice_id, "status": NoticeStatus.SENDING, **(extra_filters or {})}
    async with in_transaction():
        # Lock the row before deciding: a worker's reservation (its own transaction) has either
        # committed by now or waits for this one, so the unit_reserved read here is the one moved.
        # Without the lock, a reservation committing between a read and the UPDATE re-queued the
        # notice still marked as holding a unit that nobody gave back (PostgreSQL; the next send
        # then reserved a second one).
        row = await Notice.filter(**filters).select_for_update().first()
        if row is None:
            return False
        holds_unit = give_back and row.unit_reserved
        fields = {**changes, "unit_reserved": False, "unit_reserved_at": None} if holds_unit else changes
        moved = await Notice.filter(**filters).update(**fields)
        if moved and holds_unit:
            await ledger.release_unit(row.user_id, row.template_id, reserved_at=row.unit_reserved_at)
        return moved == 1
