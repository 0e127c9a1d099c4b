"""The numbers the lifecycle follows, in one place (defaults; tests and the bench pass their own)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LifecycleRules:
    # An owned product is in PURCHASE for this many days after its delivery, then in USAGE.
    purchase_stage_days: int = 7
    # DORMANT: no order of the product placed and no notice opened for this many days.
    dormant_after_days: int = 180
    # The reminder goes out this many days before the predicted run-out. The useful window is the
    # week before run-out; aiming inside it tolerates estimates a few days off either way.
    remind_lead_days: int = 4
    # snoozeReplenishment(days) and setReplenishmentCycle(cycleDays) accept these ranges.
    snooze_days_min: int = 1
    snooze_days_max: int = 60
    cycle_days_min: int = 1
    cycle_days_max: int = 365
    # Maintenance: listed from this many days before it falls due, and (listed and notified) until
    # this many days after; an item overdue for longer is not announced any more.
    maintenance_lookahead_days: int = 14
    maintenance_grace_days: int = 30


DEFAULT_RULES = LifecycleRules()
