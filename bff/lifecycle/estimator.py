"""How many days one unit of a consumable lasts this user: the SKU's prior, shrunk toward evidence.

Pure functions (no database, no clock): the projection, the mutations and bench/replenishment.py
call the same code. The formula and the reasons for its constants are in docs/replenishment.md:

    d = (K·Dⁿ·p + Σ wᵢ·xᵢ + S·u) / (K·Dⁿ + Σ wᵢ + S)

p   the prior days per unit: the SKU's usageDaysPerUnit; without it the median of other users'
    observed days per unit for the SKU (at least POPULATION_MIN_SAMPLES of them); else DEFAULT_DAYS
xᵢ  the user's observed repurchase intervals per unit (days between two deliveries of the SKU,
    divided by the units of the first), clipped to [p/CLIP, p·CLIP], oldest first
wᵢ  D^(n−1−i), D = DECAY: the newest weighs 1, older ones fade (consumption drifts)
K   PRIOR_WEIGHT: the prior counts as this many observations made before the user's first one,
    fading with the others (Dⁿ, n = number of intervals): it dominates at first and vanishes slowly
u   the user's own cycle (setReplenishmentCycle) per unit; S = USER_WEIGHT·D^m, m being the
    intervals observed since it was given (absent: no term)
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bff.models.lifecycle import PriorSource

PRIOR_WEIGHT = 1.0
DECAY = 0.7
USER_WEIGHT = 3.0
CLIP = 4.0
DEFAULT_DAYS_PER_UNIT = 30.0
POPULATION_MIN_SAMPLES = 3
# Other users' intervals the population prior is the median of (the newest ones).
POPULATION_SAMPLE = 500


@dataclass(frozen=True)
class Prior:
    days_per_unit: float
    source: PriorSource


def prior_for(usage_days_per_unit: int | None, population: Sequence[float]) -> Prior:
    """The SKU's nominal days per unit, else the population's median, else the default."""
    if usage_days_per_unit is not None and usage_days_per_unit > 0:
        return Prior(float(usage_days_per_unit), PriorSource.SKU)
    usable = [x for x in population if x > 0]
    if len(usable) >= POPULATION_MIN_SAMPLES:
        return Prior(float(statistics.median(usable)), PriorSource.POPULATION)
    return Prior(DEFAULT_DAYS_PER_UNIT, PriorSource.DEFAULT)


@dataclass(frozen=True)
class UserCycle:
    """setReplenishmentCycle's answer: days per unit, and how many intervals were seen since."""

    days_per_unit: float
    intervals_since: int = 0


def estimate_days_per_unit(
    prior: float, intervals: Sequence[float], user_cycle: UserCycle | None = None
) -> float:
    """The weighted average above; ``intervals`` oldest first."""
    if prior <= 0:
        raise ValueError(f"prior must be positive, got {prior}")
    low, high = prior / CLIP, prior * CLIP
    n = len(intervals)
    prior_weight = PRIOR_WEIGHT * DECAY**n
    total = prior_weight * prior
    weight = prior_weight
    for i, observed in enumerate(intervals):
        w = DECAY ** (n - 1 - i)
        total += w * min(max(observed, low), high)
        weight += w
    if user_cycle is not None and user_cycle.days_per_unit > 0:
        s = USER_WEIGHT * DECAY**user_cycle.intervals_since
        total += s * user_cycle.days_per_unit
        weight += s
    return total / weight


def cycle_days(days_per_unit: float, quantity: int) -> int:
    """The cycle of a purchase: its units times days per unit, at least a day."""
    return max(1, round(days_per_unit * max(1, quantity)))
