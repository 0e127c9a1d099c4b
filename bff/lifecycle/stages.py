"""Stages, maintenance and reminder status: pure functions of stored facts and a moment.

The lifecycle tab (queries.py) and the scans (scans.py) call these same functions, so what a user
sees and what a scan acts on never disagree.

    PURCHASE  delivered less than `purchase_stage_days` ago
    USAGE     after that
    RENEWAL   `renewalAfterDays` (of the SKU) after the latest delivery
    DORMANT   no order of the product placed, and no notice opened, for `dormant_after_days`
              (counted from the latest of those and the delivery; wins over the rest)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bff.lifecycle.rules import DEFAULT_RULES, LifecycleRules
from bff.models.lifecycle import ReplenishmentStatus


class Stage(StrEnum):
    """runtime.md owned product `stage`."""

    PURCHASE = "PURCHASE"
    USAGE = "USAGE"
    RENEWAL = "RENEWAL"
    DORMANT = "DORMANT"


def last_activity(*moments: datetime | None) -> datetime | None:
    """The latest of the signs of life around a product (its orders placed, notices opened, deliveries)."""
    known = [m for m in moments if m is not None]
    return max(known) if known else None


def stage_of(
    *,
    delivered_at: datetime,
    renewal_after_days: int | None,
    last_active_at: datetime | None,
    now: datetime,
    rules: LifecycleRules = DEFAULT_RULES,
) -> Stage:
    active = last_activity(last_active_at, delivered_at)
    assert active is not None
    if now - active >= timedelta(days=rules.dormant_after_days):
        return Stage.DORMANT
    if renewal_after_days is not None and now >= delivered_at + timedelta(days=renewal_after_days):
        return Stage.RENEWAL
    if now < delivered_at + timedelta(days=rules.purchase_stage_days):
        return Stage.PURCHASE
    return Stage.USAGE


# ------------------------------------------------------------------------------------ maintenance


def delivery_stamp(delivered_at: datetime) -> str:
    """A delivery time in a maintenance key (UTC, to the second)."""
    return delivered_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S")


@dataclass(frozen=True)
class MaintenanceItem:
    """One `maintenance` entry of a SKU, for one owned product, counted from its latest delivery."""

    user_id: int
    sku_code: str
    name: str
    title: str
    after_days: int
    delivered_at: datetime

    @property
    def due_at(self) -> datetime:
        return self.delivered_at + timedelta(days=self.after_days)

    @property
    def dedupe_key(self) -> str:
        """One notice per item and delivery, ever (the SKU last: it may hold any character)."""
        delivered = delivery_stamp(self.delivered_at)
        return f"maintenance:{self.user_id}:{delivered}:{self.after_days}:{self.sku_code}"


def maintenance_items(
    *,
    user_id: int,
    sku_code: str,
    name: str,
    delivered_at: datetime,
    maintenance: Sequence[Mapping[str, object]],
) -> list[MaintenanceItem]:
    items = []
    for entry in maintenance:
        after_days, title = entry.get("afterDays"), entry.get("title")
        if isinstance(after_days, int) and after_days >= 0 and isinstance(title, str):
            items.append(MaintenanceItem(user_id, sku_code, name, title, after_days, delivered_at))
    return sorted(items, key=lambda item: (item.after_days, item.title))


def is_listed(item: MaintenanceItem, now: datetime, rules: LifecycleRules = DEFAULT_RULES) -> bool:
    """Shown in the tab: due within the look-ahead, or overdue within the grace period."""
    return (
        item.due_at - timedelta(days=rules.maintenance_lookahead_days)
        <= now
        < item.due_at + timedelta(days=rules.maintenance_grace_days)
    )


def is_notifiable(item: MaintenanceItem, as_of: datetime, rules: LifecycleRules = DEFAULT_RULES) -> bool:
    """A MAINTENANCE notice is planned once it has fallen due (and not long ago)."""
    return item.due_at <= as_of < item.due_at + timedelta(days=rules.maintenance_grace_days)


def due_note(item: MaintenanceItem, now: datetime) -> str:
    if item.due_at <= now:
        return "已到保养时间"
    days = math.ceil((item.due_at - now).total_seconds() / 86400)
    return f"{days}天后到期"


# ---------------------------------------------------------------------------------- replenishment


def replenishment_status(
    stored: ReplenishmentStatus, remind_at: datetime, now: datetime
) -> ReplenishmentStatus:
    """ACTIVE or SNOOZED until the reminder day, DUE from then (before the scan has run too);
    DUE, REMINDED and DISMISSED as stored."""
    if stored in (ReplenishmentStatus.ACTIVE, ReplenishmentStatus.SNOOZED) and remind_at <= now:
        return ReplenishmentStatus.DUE
    return stored


def reminder_key(user_id: int, cycle_no: int, round_no: int, sku_code: str) -> str:
    """The dedupe key of a replenishment reminder: one per user × SKU × cycle × round."""
    return f"replenishment:{user_id}:{cycle_no}:{round_no}:{sku_code}"


def parse_reminder_key(key: str) -> tuple[int, int, int, str] | None:
    """(user id, cycle, round, SKU) of a reminder key; None for any other key."""
    parts = key.split(":", 4)
    if len(parts) != 5 or parts[0] != "replenishment":
        return None
    try:
        return int(parts[1]), int(parts[2]), int(parts[3]), parts[4]
    except ValueError:
        return None


def parse_maintenance_key(key: str) -> tuple[int, str, int, str] | None:
    """(user id, delivery stamp, after days, SKU) of a maintenance key; None for any other key."""
    parts = key.split(":", 4)
    if len(parts) != 5 or parts[0] != "maintenance":
        return None
    try:
        return int(parts[1]), parts[2], int(parts[3]), parts[4]
    except ValueError:
        return None
