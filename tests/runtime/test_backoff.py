"""backoff_delay: equal jitter, so a retry is spread out but never comes right after its failure."""

from __future__ import annotations

import random

from bff.runtime.backoff import backoff_delay


def test_each_attempt_waits_between_half_and_all_of_its_doubled_ceiling() -> None:
    # given many draws per attempt, 2 s doubling, capped at 600 s
    rng = random.Random(7)
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (5, 32.0), (12, 600.0)]:
        # when
        delays = [backoff_delay(attempt, base=2.0, cap=600.0, rng=rng) for _ in range(500)]

        # then none is shorter than half the ceiling (no retry right after the failure), none
        # longer than the ceiling, and they are spread over the range
        assert min(delays) >= ceiling / 2
        assert max(delays) <= ceiling
        assert max(delays) - min(delays) > ceiling / 4


def test_the_floor_the_remote_asked_for_wins() -> None:
    assert backoff_delay(1, base=2.0, floor=60.0, rng=random.Random(1)) == 60.0
