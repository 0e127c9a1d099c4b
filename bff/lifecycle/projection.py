"""A delivered order's lines become owned products and restart their SKUs' replenishment cycles.

``project_delivery(order, delivered_at)`` runs inside the ingest transaction that applies the
DELIVERED node (bff/inbound/supply_chain.py), with the order row locked. Each (order, SKU) is
recorded once in ``lifecycle_purchases`` (unique); only a line recorded now changes the owned
product and the replenishment, so a replayed event, a second DELIVERED node or a late receipt
projects nothing twice. Rows per (user, SKU) are created with INSERT … ON CONFLICT DO NOTHING and
then locked (FOR UPDATE on PostgreSQL), so two orders of one user delivered at once both count.

A delivery older than the SKU's latest one (events arrive out of order) adds to what the user
owns but does not restart the cycle; a newer one ends the running cycle, records its interval as
evidence (``replenishment_intervals``) and starts the next with a fresh estimate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bff.lifecycle import estimator
from bff.lifecycle.rules import DEFAULT_RULES, LifecycleRules
from bff.models.lifecycle import (
    LifecyclePurchase,
    OwnedProduct,
    PriorSource,
    Replenishment,
    ReplenishmentInterval,
    ReplenishmentStatus,
)
from bff.models.orders import Order, OrderItem, Sku

log = logging.getLogger("lvyue.lifecycle")

# The user's own intervals the estimate reads (older ones weigh next to nothing: DECAY^20 < 1%).
USER_INTERVALS = 20


@dataclass(frozen=True)
class Line:
    sku_code: str
    name: str
    quantity: int


async def project_delivery(
    order: Order, delivered_at: datetime, *, rules: LifecycleRules = DEFAULT_RULES
) -> int:
    """Record the order's lines as delivered at ``delivered_at``; returns how many SKUs were new."""
    items = await OrderItem.filter(order_id=order.id).order_by("position")
    lines: dict[str, Line] = {}
    for item in items:
        known = lines.get(item.sku_code)
        quantity = item.quantity + (known.quantity if known else 0)
        lines[item.sku_code] = Line(item.sku_code, known.name if known else item.name, quantity)
    if not lines:
        return 0
    done = {
        str(row[0]) for row in await LifecyclePurchase.filter(order_no=order.order_no).values_list("sku_code")
    }
    new = [line for code, line in lines.items() if code not in done]
    if not new:
        return 0
    user_id: int = order.user_id  # type: ignore[attr-defined]
    await LifecyclePurchase.bulk_create(
        [
            LifecyclePurchase(
                user_id=user_id,
                order_no=order.order_no,
                sku_code=line.sku_code,
                quantity=line.quantity,
                placed_at=order.placed_at,
                delivered_at=delivered_at,
            )
            for line in new
        ]
    )
    skus = {sku.sku_code: sku for sku in await Sku.filter(sku_code__in=[line.sku_code for line in new])}
    for line in new:
        await _own(user_id, order, line, delivered_at)
        sku = skus.get(line.sku_code)
        if sku is not None and sku.consumable:
            await _restart_cycle(user_id, order, line, delivered_at, sku, rules)
    return len(new)


async def _own(user_id: int, order: Order, line: Line, delivered_at: datetime) -> None:
    await OwnedProduct.bulk_create(
        [
            OwnedProduct(
                user_id=user_id,
                sku_code=line.sku_code,
                name=line.name,
                quantity=0,
                purchases=0,
                first_delivered_at=delivered_at,
                last_delivered_at=delivered_at,
                last_order_no=order.order_no,
            )
        ],
        ignore_conflicts=True,
    )
    owned = await OwnedProduct.filter(user_id=user_id, sku_code=line.sku_code).select_for_update().get()
    changes: dict[str, object] = {
        "quantity": owned.quantity + line.quantity,
        "purchases": owned.purchases + 1,
        "first_delivered_at": min(owned.first_delivered_at, delivered_at),
    }
    if delivered_at >= owned.last_delivered_at:
        changes |= {"last_delivered_at": delivered_at, "last_order_no": order.order_no, "name": line.name}
    await OwnedProduct.filter(id=owned.id).update(**changes)


async def population_intervals(sku_code: str, *, excluding_user: int) -> list[float]:
    """Other users' newest observed days per unit of the SKU (the prior of SKUs without one)."""
    rows = (
        await ReplenishmentInterval.filter(sku_code=sku_code)
        .exclude(user_id=excluding_user)
        .order_by("-observed_at")
        .limit(estimator.POPULATION_SAMPLE)
        .values_list("days_per_unit")
    )
    return [float(row[0]) for row in rows]


async def user_intervals(user_id: int, sku_code: str) -> list[tuple[float, datetime]]:
    """The user's own observed (days per unit, observed at), oldest first."""
    rows = (
        await ReplenishmentInterval.filter(user_id=user_id, sku_code=sku_code)
        .order_by("-cycle_no")
        .limit(USER_INTERVALS)
        .values_list("days_per_unit", "observed_at")
    )
    return [(float(x), at) for x, at in reversed(rows)]


def user_cycle_of(row: Replenishment, intervals: list[tuple[float, datetime]]) -> estimator.UserCycle | None:
    if row.user_days_per_unit is None or row.user_cycle_set_at is None:
        return None
    since = sum(1 for _, at in intervals if at > row.user_cycle_set_at)
    return estimator.UserCycle(row.user_days_per_unit, since)


def remind_at_for(last_purchased_at: datetime, run_out_at: datetime, rules: LifecycleRules) -> datetime:
    return max(last_purchased_at, run_out_at - timedelta(days=rules.remind_lead_days))


async def _restart_cycle(
    user_id: int, order: Order, line: Line, delivered_at: datetime, sku: Sku, rules: LifecycleRules
) -> None:
    population: list[float] = []
    if sku.usage_days_per_unit is None:
        population = await population_intervals(line.sku_code, excluding_user=user_id)
    prior = estimator.prior_for(sku.usage_days_per_unit, population)
    placeholder_cycle = estimator.cycle_days(prior.days_per_unit, line.quantity)
    await Replenishment.bulk_create(
        [
            Replenishment(
                user_id=user_id,
                sku_code=line.sku_code,
                name=sku.name,
                cycle_no=0,
                round=0,
                last_order_no=order.order_no,
                last_placed_at=order.placed_at,
                last_purchased_at=delivered_at,
                last_quantity=line.quantity,
                days_per_unit=prior.days_per_unit,
                cycle_days=placeholder_cycle,
                prior_days_per_unit=prior.days_per_unit,
                prior_source=prior.source,
                predicted_run_out_at=delivered_at,
                remind_at=delivered_at,
                status=ReplenishmentStatus.ACTIVE,
            )
        ],
        ignore_conflicts=True,
    )
    row = await Replenishment.filter(user_id=user_id, sku_code=line.sku_code).select_for_update().get()
    if row.cycle_no > 0 and delivered_at <= row.last_purchased_at:
        return  # an older delivery, told late: the running cycle is newer
    if row.cycle_no > 0:
        days = (delivered_at - row.last_purchased_at).total_seconds() / 86400
        await ReplenishmentInterval.bulk_create(
            [
                ReplenishmentInterval(
                    user_id=user_id,
                    sku_code=line.sku_code,
                    cycle_no=row.cycle_no,
                    days=days,
                    quantity=row.last_quantity,
                    days_per_unit=days / max(1, row.last_quantity),
                    observed_at=delivered_at,
                )
            ],
            ignore_conflicts=True,
        )
    intervals = await user_intervals(user_id, line.sku_code)
    days_per_unit = estimator.estimate_days_per_unit(
        prior.days_per_unit, [x for x, _ in intervals], user_cycle_of(row, intervals)
    )
    cycle = estimator.cycle_days(days_per_unit, line.quantity)
    run_out = delivered_at + timedelta(days=cycle)
    await Replenishment.filter(id=row.id).update(
        name=sku.name,
        cycle_no=row.cycle_no + 1,
        round=0,
        last_order_no=order.order_no,
        last_placed_at=order.placed_at,
        last_purchased_at=delivered_at,
        last_quantity=line.quantity,
        days_per_unit=days_per_unit,
        cycle_days=cycle,
        prior_days_per_unit=prior.days_per_unit,
        prior_source=PriorSource(prior.source),
        observations=len(intervals),
        predicted_run_out_at=run_out,
        remind_at=remind_at_for(delivered_at, run_out, rules),
        status=ReplenishmentStatus.ACTIVE,
        reminded_at=None,
    )
