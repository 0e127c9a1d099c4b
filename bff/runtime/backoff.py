"""Exponential backoff with equal jitter, shared by every retrying job."""

from __future__ import annotations

import random

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
