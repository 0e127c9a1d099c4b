"""The offers scan on PostgreSQL: users per second for a first pass (plans) and a second (nothing new).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lvyue_h10_bench REDIS_URL=redis://127.0.0.1:6379/10 \\
        PYTHONPATH=. .venv/bin/python bench/offers_scan.py [--users 10000 40000]

For each size: recreates the (bench) database and its tables from the models, writes that many
members (set-based ``INSERT … SELECT generate_series``) whose points expire in 10 days, and runs
full passes of ``bff.offers.scan`` as of the member day: each member has two offers (MEMBER_DAY,
POINTS_EXPIRY), so the first pass plans two notices per member (nobody has consent units: every
notice is decided, SUPPRESSED:NO_UNITS); the second pass finds every dedupe key taken and plans
nothing. Prints users/s of each pass and the ratio of the sizes' times (linear: about the ratio of
the sizes). Refuses SQLite, a database whose name lacks "bench", and a Redis db index below 10
(it flushes that db).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import asyncpg
from tortoise import Tortoise, connections

from bff.catalog.templates_file import load_templates_file
from bff.notices.planner import NoticeContext
from bff.offers.scan import run_full_pass
from bff.runtime.db import tortoise_config
from bff.runtime.redis import create_arq_pool

SHANGHAI = ZoneInfo("Asia/Shanghai")
AS_OF = datetime(2026, 12, 18, 10, 0, tzinfo=SHANGHAI)  # the default member day, outside quiet hours


def check_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or "bench" not in parts.path:
        raise SystemExit(
            "DATABASE_URL must be a PostgreSQL database whose name contains 'bench' (it is dropped)"
        )
    redis_url = os.environ.get("REDIS_URL", "")
    index = urlsplit(redis_url).path.strip("/")
    if not redis_url or not index.isdigit() or int(index) < 10:
        raise SystemExit("REDIS_URL must name a db index of 10 or more (it is flushed)")
    return url, redis_url


async def recreate(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.strip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def one_size(url: str, redis_url: str, users: int) -> tuple[float, float]:
    await recreate(url)
    await Tortoise.init(config=tortoise_config(url))
    await Tortoise.generate_schemas()
    conn = connections.get("default")
    expire = (AS_OF + timedelta(days=10)).astimezone(UTC)
    await conn.execute_query(
        "INSERT INTO users (openid, nickname, member_tier, points, points_expire_at, member_updated_at,"
        " region, created_at) SELECT 'oBENCH' || lpad(n::text, 22, '0'), '', 'GOLD', 100 + n % 900, $1,"
        " $2, '', $2 FROM generate_series(1, $3) AS n",
        [expire, AS_OF.astimezone(UTC), users],
    )
    redis = await create_arq_pool(redis_url)
    await redis.flushdb()
    ctx = NoticeContext(templates=load_templates_file(), zone=SHANGHAI, arq=None)
    try:
        started = time.perf_counter()
        first = await run_full_pass(ctx, redis, as_of=AS_OF)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        second = await run_full_pass(ctx, redis, as_of=AS_OF)
        second_s = time.perf_counter() - started
    finally:
        await redis.aclose()
        await Tortoise.close_connections()
    assert (first.planned, second.planned) == (2 * users, 0), (first, second)
    print(
        f"{users:>8} members  first pass {first_s:6.1f} s ({users / first_s:7.0f} users/s, "
        f"{first.planned} planned)  second pass {second_s:6.1f} s ({users / second_s:7.0f} users/s, 0 new)"
    )
    return first_s, second_s


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10_000, 40_000])
    args = parser.parse_args()
    url, redis_url = check_urls()
    times = [await one_size(url, redis_url, n) for n in args.users]
    if len(times) > 1:
        size_ratio = args.users[-1] / args.users[0]
        print(
            f"sizes ×{size_ratio:.0f}: first pass ×{times[-1][0] / times[0][0]:.1f}, "
            f"second pass ×{times[-1][1] / times[0][1]:.1f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
