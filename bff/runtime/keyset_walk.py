"""Walk rows in key order in bounded batches, resumable after a crash (the scans of lifecycle and offers).

The cursor (the last key whose batch is done) lives in Redis: a run stops after `max_batches` or
`budget_s` and the next goes on from the cursor; a run that finds nothing after it clears the
cursor, so the next starts a new pass. A batch is done when its work has committed, so a crash
repeats at most that batch, which the scans make harmless with their dedupe keys.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from redis.asyncio import Redis

Row = TypeVar("Row")


class ScanCursor:
    """The last key a walk has finished, under `key` in Redis (absent: start from the beginning)."""

    def __init__(self, redis: Redis, key: str) -> None:
        self.redis = redis
        self.key = key

    async def load(self) -> int:
        value = await self.redis.get(self.key)
        return int(value) if value is not None else 0

    async def save(self, last_key: int) -> None:
        await self.redis.set(self.key, str(last_key))

    async def clear(self) -> None:
        await self.redis.delete(self.key)


@dataclass
class WalkProgress:
    batches: int = 0
    finished: bool = False  # this run reached the end: the next starts a new pass


async def walk_in_batches(
    cursor: ScanCursor,
    next_batch: Callable[[int], Awaitable[Sequence[Row]]],
    run_batch: Callable[[int, Sequence[Row]], Awaitable[int]],
    *,
    max_batches: int,
    budget_s: float,
) -> WalkProgress:
    """`next_batch(after)` reads the rows after a key; `run_batch(after, rows)` does their work and
    returns the last key it covered, which becomes the cursor."""
    progress = WalkProgress()
    after = await cursor.load()
    started = time.monotonic()
    while progress.batches < max_batches:
        rows = await next_batch(after)
        if not rows:
            await cursor.clear()
            progress.finished = True
            break
        after = await run_batch(after, rows)
        await cursor.save(after)
        progress.batches += 1
        if time.monotonic() - started > budget_s:
            break
    return progress
