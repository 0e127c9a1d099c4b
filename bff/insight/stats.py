"""Small statistics for the insight reads (the two-proportion z-test lives with the experiments
report, bff/notices/experiments/report.py, and is reused from there)."""

from __future__ import annotations

import math
from collections.abc import Sequence

Z_80 = 1.2815515655446004  # the standard normal's 90th percentile: a two-sided 80% interval


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation between order statistics; values non-empty."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("quantile of no values")
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def poisson_interval_80(mean: float) -> tuple[int, int]:
    """An 80% interval for a Poisson count of the given mean (normal approximation with the
    square-root variance, rounded outward, never below 0)."""
    if mean <= 0:
        return 0, 0
    spread = Z_80 * math.sqrt(mean)
    return max(0, math.floor(mean - spread)), math.ceil(mean + spread)
