"""Benchmark: what /metrics costs with a long queue, and what a send's metrics add to its job.

    REDIS_URL=redis://127.0.0.1:6379/8 PYTHONPATH=. .venv/bin/python bench/metrics_scrape.py [--rounds 3]

1. ``render_metrics`` (the Redis part of a scrape: one pipeline of HGETALLs, ZCARD, ZCOUNT and
   cursor GETs, then one ZRANGE of at most METRICS_QUEUE_FAMILY_LIMIT job ids for the families)
   with an empty queue (the anchor) and with 1,000 / 10,000 / 100,000 waiting job ids. Printed:
   milliseconds per scrape and the ratio to the anchor.
2. ``record_job`` of a send job without a tally (the anchor: what every job paid before) and with
   the send's tally (its outcome count and two latency observations in the same pipeline), 2,000
   each, alternating. Printed: microseconds per job and the ratio.

It needs a Redis db whose `arq:queue` is empty (it refuses otherwise), adds job ids to it and
deletes the queue at the end; it adds to the metrics hashes (counts of the bench's sends).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bff import constants
from bff.runtime.metrics import (
    PLANNED_TO_SENT_SECONDS,
    WECHAT_SEND_SECONDS,
    JobOutcome,
    Tally,
    record_job,
    render_metrics,
)
from bff.runtime.redis import create_arq_pool

QUEUE = constants.DEFAULT_QUEUE
BENCH_PREFIX = "send:bench-"


async def scrape_ms(redis: object, scrapes: int = 20) -> float:
    started = time.perf_counter()
    for _ in range(scrapes):
        await render_metrics(redis)  # type: ignore[arg-type]
    return (time.perf_counter() - started) / scrapes * 1000


async def fill(redis: object, upto: int, have: int) -> None:
    now_ms = int(time.time() * 1000)
    for start in range(have, upto, 5000):
        members = {f"{BENCH_PREFIX}{i}": now_ms + i for i in range(start, min(upto, start + 5000))}
        await redis.zadd(QUEUE, members)  # type: ignore[attr-defined]


async def send_tally_us(redis: object, jobs: int = 2000) -> tuple[float, float]:
    plain = with_tally = 0.0
    for _ in range(jobs):
        started = time.perf_counter()
        await record_job(redis, "bench_send", JobOutcome.SUCCESS, 0.01)  # type: ignore[arg-type]
        plain += time.perf_counter() - started
        tally = Tally()
        tally.count(constants.METRICS_SENDS_KEY, "sent|0")
        tally.observe(WECHAT_SEND_SECONDS, 0.12)
        tally.observe(PLANNED_TO_SENT_SECONDS, 3.5)
        started = time.perf_counter()
        await record_job(redis, "bench_send", JobOutcome.SUCCESS, 0.01, tally)  # type: ignore[arg-type]
        with_tally += time.perf_counter() - started
    return plain / jobs * 1e6, with_tally / jobs * 1e6


async def main(rounds: int) -> None:
    redis = await create_arq_pool(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"))
    if await redis.zcard(QUEUE):
        raise SystemExit(f"{QUEUE} is not empty in this Redis db; use an idle db")
    try:
        for round_no in range(1, rounds + 1):
            await redis.delete(QUEUE)
            anchor = await scrape_ms(redis)
            figures = [f"empty {anchor:.2f} ms"]
            have = 0
            for size in (1_000, 10_000, 100_000):
                await fill(redis, size, have)
                have = size
                ms = await scrape_ms(redis)
                figures.append(f"{size:,} jobs {ms:.2f} ms ({ms / anchor:.2f}x)")
            await redis.delete(QUEUE)
            plain, tallied = await send_tally_us(redis)
            print(f"round {round_no}: scrape: " + ", ".join(figures))
            print(
                f"round {round_no}: record_job: plain {plain:.0f} us, with a send's tally "
                f"{tallied:.0f} us ({tallied / plain:.2f}x)"
            )
    finally:
        await redis.delete(QUEUE)
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args().rounds))
