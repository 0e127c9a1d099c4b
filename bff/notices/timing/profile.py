"""Open-hour profiles: how likely a user is to open a notice in each local hour, and the best hour.

The opens themselves are recorded by ``recordNoticeOpen`` (bff/notices/engagement.py keeps one
``NoticeOpen`` per notice with its local hour in BUSINESS_TZ). This module is pure arithmetic on
those 24-bin histograms; ``bff.notices.timing.send_time`` loads them and turns a profile into a time.

The estimator (docs/best-time-and-experiments.md, "The open-hour profile"):

    smooth(c)(h) = ½·c(h) + ¼·c(h−1) + ¼·c(h+1)           (hours wrap around midnight)
    q(h)  = (smooth(c_pop)(h) + α) / (N + 24·α)             population profile, Laplace α
    p_u(h) = (smooth(c_u)(h) + k·q(h)) / (n_u + k)          the user's profile, shrunk toward q

with c_u the user's opens per hour (n_u of them), c_pop every user's (N of them), α =
``POPULATION_PSEUDO_OPENS`` and k = ``PRIOR_STRENGTH``: with no opens of their own a user gets
the population's profile; with n_u ≫ k their own. Smoothing spreads an open over its neighbour
hours, so two opens at 20:xx and 21:xx say "evening" rather than two isolated spikes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

HOURS = 24
# The weight of the population profile, in opens: a user with k opens of their own counts half.
PRIOR_STRENGTH = 4.0
# Laplace pseudo-opens per hour for the population profile (no hour is impossible).
POPULATION_PSEUDO_OPENS = 1.0
# Below this many opens in the whole population its profile says nothing: a user without opens of
# their own then has no profile (the configured fallback applies).
POPULATION_MIN_OPENS = 50


def _check(histogram: Sequence[int], what: str) -> None:
    if len(histogram) != HOURS:
        raise ValueError(f"{what} must have {HOURS} hourly counts, got {len(histogram)}")
    if any(count < 0 for count in histogram):
        raise ValueError(f"{what} has a negative count")


def smooth(histogram: Sequence[float]) -> list[float]:
    """Spread each hour's count over itself (½) and its two neighbours (¼ each), wrapping at midnight."""
    return [
        0.5 * histogram[h] + 0.25 * histogram[(h - 1) % HOURS] + 0.25 * histogram[(h + 1) % HOURS]
        for h in range(HOURS)
    ]


@dataclass(frozen=True)
class OpenHourProfile:
    """Estimated share of a user's opens in each local hour (sums to 1); ``informative`` is False
    when neither the user nor the population has opened enough to say anything."""

    shares: tuple[float, ...]
    user_opens: int
    informative: bool

    def best_hour(self, allowed: Callable[[int], bool] = lambda hour: True, *, after: int = 0) -> int | None:
        """The allowed hour with the highest share (ties: the first from hour ``after`` on), or
        None when no hour is allowed or the profile is not informative."""
        if not self.informative:
            return None
        candidates = [(after + step) % HOURS for step in range(HOURS)]
        best: int | None = None
        for hour in candidates:
            if allowed(hour) and (best is None or self.shares[hour] > self.shares[best] + 1e-12):
                best = hour
        return best


def population_shares(population: Sequence[int]) -> tuple[float, ...]:
    """q(h): the population's smoothed, Laplace-smoothed share of opens per hour."""
    _check(population, "the population histogram")
    smoothed = smooth(population)
    total = sum(population) + HOURS * POPULATION_PSEUDO_OPENS
    return tuple((smoothed[h] + POPULATION_PSEUDO_OPENS) / total for h in range(HOURS))


def estimate_profile(
    user: Sequence[int],
    population: Sequence[int],
    *,
    prior_strength: float = PRIOR_STRENGTH,
    population_min_opens: int = POPULATION_MIN_OPENS,
) -> OpenHourProfile:
    """p_u: the user's open-hour profile shrunk toward the population's (see the module docstring).

    When the population has fewer than ``population_min_opens`` opens its profile is replaced by
    a flat one (it would mostly repeat the few hours someone happened to open at).
    """
    _check(user, "the user's histogram")
    _check(population, "the population histogram")
    if prior_strength <= 0:
        raise ValueError(f"prior_strength must be positive, got {prior_strength}")
    population_known = sum(population) >= population_min_opens
    prior = population_shares(population) if population_known else tuple([1.0 / HOURS] * HOURS)
    opens = sum(user)
    smoothed = smooth(user)
    shares = tuple((smoothed[h] + prior_strength * prior[h]) / (opens + prior_strength) for h in range(HOURS))
    return OpenHourProfile(shares=shares, user_opens=opens, informative=opens > 0 or population_known)
