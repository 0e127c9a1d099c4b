"""The user's answers to a replenishment: snooze, set the cycle, dismiss.

Each is one transaction that locks the (user, SKU) replenishment row (FOR UPDATE on PostgreSQL)
and writes it once. Refusals raise ``LifecycleError`` before anything is written:

    UNAUTHENTICATED     no signed-in user
    DAYS_OUT_OF_RANGE   snooze days outside [snooze_days_min, snooze_days_max]
    CYCLE_OUT_OF_RANGE  cycle days outside [cycle_days_min, cycle_days_max]
    UNKNOWN_SKU         no SKU with that code (sku.upsert never described it)
    NOT_OWNED           the user has no delivered consumable of that SKU to replenish

Every answer starts a new reminder round (``Replenishment.round``): a reminder planned for the
old round is stale and is not sent (bff/lifecycle/reminders.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.transactions import in_transaction

from bff.lifecycle.projection import remind_at_for
from bff.lifecycle.rules import DEFAULT_RULES, LifecycleRules
from bff.models.lifecycle import Replenishment, ReplenishmentStatus
from bff.models.orders import Sku


class LifecycleErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    DAYS_OUT_OF_RANGE = "DAYS_OUT_OF_RANGE"
    CYCLE_OUT_OF_RANGE = "CYCLE_OUT_OF_RANGE"
    UNKNOWN_SKU = "UNKNOWN_SKU"
    NOT_OWNED = "NOT_OWNED"


@dataclass
class LifecycleError(Exception):
    code: LifecycleErrorCode
    field: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _require_user(user_id: int | None) -> int:
    if user_id is None:
        raise LifecycleError(LifecycleErrorCode.UNAUTHENTICATED, None, "sign in first")
    return user_id


def _check_range(value: int, low: int, high: int, code: LifecycleErrorCode, field: str) -> None:
    if not low <= value <= high:
        raise LifecycleError(code, field, f"{field} must be between {low} and {high}, got {value}")


async def _locked_row(user_id: int, sku_code: str) -> Replenishment:
    """The viewer's replenishment of the SKU, locked; refusals for an unknown or unowned SKU."""
    row = await Replenishment.filter(user_id=user_id, sku_code=sku_code).select_for_update().first()
    if row is not None:
        return row
    if not await Sku.filter(sku_code=sku_code).exists():
        raise LifecycleError(LifecycleErrorCode.UNKNOWN_SKU, "skuCode", f"no product with code {sku_code!r}")
    raise LifecycleError(
        LifecycleErrorCode.NOT_OWNED, "skuCode", f"you have no delivered consumable {sku_code!r} to replenish"
    )


async def snooze(
    user_id: int | None, sku_code: str, days: int, *, now: datetime, rules: LifecycleRules = DEFAULT_RULES
) -> Replenishment:
    """Remind ``days`` from now instead (1–60 by default): SNOOZED until then, a new round.

    The run-out prediction moves no earlier than the new reminder (the user says they still have
    some); the estimate itself does not change: a snooze is not a repurchase interval.
    """
    viewer = _require_user(user_id)
    _check_range(
        days, rules.snooze_days_min, rules.snooze_days_max, LifecycleErrorCode.DAYS_OUT_OF_RANGE, "days"
    )
    async with in_transaction():
        row = await _locked_row(viewer, sku_code)
        remind_at = now + timedelta(days=days)
        await Replenishment.filter(id=row.id).update(
            remind_at=remind_at,
            predicted_run_out_at=max(row.predicted_run_out_at, remind_at),
            status=ReplenishmentStatus.SNOOZED,
            round=row.round + 1,
        )
    return await Replenishment.get(id=row.id)


async def set_cycle(
    user_id: int | None,
    sku_code: str,
    cycle_days: int,
    *,
    now: datetime,
    rules: LifecycleRules = DEFAULT_RULES,
) -> Replenishment:
    """The user says one purchase lasts ``cycle_days``: that is this cycle's length, and it is kept
    as strong evidence for later estimates (per unit of the last purchase)."""
    viewer = _require_user(user_id)
    _check_range(
        cycle_days,
        rules.cycle_days_min,
        rules.cycle_days_max,
        LifecycleErrorCode.CYCLE_OUT_OF_RANGE,
        "cycleDays",
    )
    async with in_transaction():
        row = await _locked_row(viewer, sku_code)
        run_out = row.last_purchased_at + timedelta(days=cycle_days)
        remind_at = remind_at_for(row.last_purchased_at, run_out, rules)
        await Replenishment.filter(id=row.id).update(
            cycle_days=cycle_days,
            user_days_per_unit=cycle_days / max(1, row.last_quantity),
            user_cycle_set_at=now,
            predicted_run_out_at=run_out,
            remind_at=remind_at,
            status=ReplenishmentStatus.ACTIVE,
            round=row.round + 1,
        )
    return await Replenishment.get(id=row.id)


async def dismiss(user_id: int | None, sku_code: str, *, now: datetime) -> Replenishment:
    """No reminders for this SKU until the next purchase of it (which starts a new cycle)."""
    viewer = _require_user(user_id)
    async with in_transaction():
        row = await _locked_row(viewer, sku_code)
        await Replenishment.filter(id=row.id).update(
            status=ReplenishmentStatus.DISMISSED, round=row.round + 1, updated_at=now
        )
    return await Replenishment.get(id=row.id)
