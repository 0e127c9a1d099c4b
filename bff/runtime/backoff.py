"""Exponential backoff with full jitter, shared by every retrying job."""

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

    Full jitter (uniform in [0, base * 2**(attempt-1)], capped) spreads retries of many jobs
    that failed together; `floor` is a minimum the remote asked for (e.g. 60 s for 45011).
    """
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    jittered = (rng or random).uniform(ceiling / 2, ceiling)
    return max(floor, jittered)
