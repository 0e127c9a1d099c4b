"""Exponential backoff with equal jitter, shared by every retrying job."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from bff.constants import BACKOFF_BASE_S, BACKOFF_CAP_S


def backoff_delay(
    attempt: int,
    *,
    base: float = BACKOFF_BASE_S,
    cap: float = BACKOFF_CAP_S,
    floor: float = 0.0,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before try `attempt + 1` (attempt counts from 1).

    Equal jitter: uniform in [c/2, c] with c = base * 2**(attempt-1), capped. The jitter spreads
    retries of many jobs that failed together; the lower half is kept (rather than full jitter's
    [0, c]) so that a retry never comes right after the failure it answers and the wait still
    grows with every attempt. `floor` is a minimum the remote asked for (e.g. 60 s for 45011).
    """
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    jittered = (rng or random).uniform(ceiling / 2, ceiling)
    return max(floor, jittered)


@dataclass(frozen=True)
class RetryPolicy:
    """How a retrying job waits: at most ``max_attempts`` tries, ``backoff_delay`` between them
    from ``base_s`` up to ``cap_s``, and a wait the remote asked for (Retry-After, an errcode's
    floor) honoured up to ``floor_max_s``. Notice sends and outbox commands each have one."""

    max_attempts: int
    base_s: float
    cap_s: float
    floor_max_s: float = math.inf
    rng: random.Random | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not 0 < self.base_s <= self.cap_s:
            raise ValueError(f"backoff must satisfy 0 < base_s <= cap_s, got {self.base_s} and {self.cap_s}")

    def delay(self, attempt: int, floor: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait after try ``attempt`` (from 1); ``floor`` is the remote's minimum."""
        bounded = min(floor, self.floor_max_s) if floor else 0.0
        return backoff_delay(attempt, base=self.base_s, cap=self.cap_s, floor=bounded, rng=rng or self.rng)
