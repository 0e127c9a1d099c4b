"""Benchmark: the lifecycle scans over 100k, 300k and 1,000,000 owned products on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lvyue_h8_bench REDIS_URL=redis://127.0.0.1:6379/8 \\
        PYTHONPATH=. .venv/bin/python bench/lifecycle_scan.py [--sizes 100000,300000,1000000]

For each size: recreates the (bench) database from the models; writes the owned products with
set-based INSERT … SELECT generate_series (4 products per user, every SKU with a maintenance item
at 90 days, deliveries spread over ten years, so about 0.8% of the items fell due within the
30-day grace period), and as many replenishments (about 0.1% of them due); then times

- a full pass of the maintenance scan (``run_full_pass``: every owned product is read, users in
  key order in batches of 500, the due items planned through the notice engine: inserted,
  decided by the policy — the users have no consent units, so NO_UNITS — no WeChat call);
- the same pass again (steady state: every due item is planned already, nothing new);
- a full pass of the replenishment scan (the due rows through the (status, remind_at) index).

Prints rows/s and pass times, and the time per 100k rows at each size (linear growth keeps it
flat). It refuses a database whose name lacks "bench" (it is dropped) and flushes only the Redis
db of REDIS_URL (default redis://127.0.0.1:6379/15).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LVYUE_ENV", "test")

import asyncpg
from tortoise import Tortoise

from bff.lifecycle.scans import MAINTENANCE, REPLENISHMENT, ScanReport, run_full_pass
from bff.notices.planner import NoticeContext
from bff.runtime.db import tortoise_config
from bff.runtime.redis import create_arq_pool
from bff.runtime.settings import load_settings

PRODUCTS_PER_USER = 4
AS_OF = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # 10:00 Beijing: outside default quiet hours


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "asyncpg") or "bench" not in parts.path:
        raise SystemExit(
            "DATABASE_URL must be a PostgreSQL database whose name contains 'bench' (it is dropped)"
        )
    return url


async def recreate(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.strip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query=""))
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def fill(url: str, products: int) -> float:
    """Users, SKUs, owned products and replenishments, set-based; returns seconds."""
    users = products // PRODUCTS_PER_USER
    dsn = urlunsplit(urlsplit(url)._replace(scheme="postgresql"))
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        await conn.execute(
            "INSERT INTO users (id, openid, nickname, member_tier, points, region, created_at) "
            "SELECT g, 'oBENCH' || lpad(g::text, 22, '0'), '', 'REGULAR', 0, '', now() "
            "FROM generate_series(1, $1) g",
            users,
        )
        await conn.execute(
            "INSERT INTO skus (sku_code, name, category, consumable, usage_days_per_unit, maintenance, "
            "renewal_after_days, source_occurred_at, updated_at) "
            "SELECT 'SKU-B' || s, '商品' || s, '测试', true, 30, "
            '\'[{"afterDays": 90, "title": "保养"}]\', NULL, now(), now() FROM generate_series(0, $1 - 1) s',
            PRODUCTS_PER_USER,
        )
        # deliveries spread over ten years (a fixed pseudo-random age per row)
        await conn.execute(
            "INSERT INTO owned_products (user_id, sku_code, name, quantity, purchases, first_delivered_at, "
            "last_delivered_at, last_order_no, updated_at) "
            "SELECT u, 'SKU-B' || s, '商品' || s, 1, 1, d, d, 'SO' || u || '-' || s, now() FROM ("
            "  SELECT u, s, $2::timestamptz - make_interval(days => ((u * 7919 + s * 104729) % 3650)) AS d"
            "  FROM generate_series(1, $1) u, generate_series(0, $3 - 1) s) t",
            users,
            AS_OF,
            PRODUCTS_PER_USER,
        )
        # replenishments: reminders spread over 1000 days around now, ~0.1% due and waiting
        await conn.execute(
            "INSERT INTO replenishments (user_id, sku_code, name, cycle_no, round, last_order_no, "
            "last_placed_at, last_purchased_at, last_quantity, days_per_unit, cycle_days, "
            "prior_days_per_unit, prior_source, observations, predicted_run_out_at, remind_at, status, "
            "updated_at) "
            "SELECT u, 'SKU-B' || s, '商品' || s, 1, 0, 'SO' || u || '-' || s, r - interval '40 days', "
            "r - interval '38 days', 1, 30, 30, 30, 'SKU', 0, r + interval '4 days', r, "
            "CASE WHEN r <= $2::timestamptz AND (u + s) % 100 <> 0 THEN 'REMINDED' ELSE 'ACTIVE' END, "
            "now() FROM ("
            "  SELECT u, s, $2::timestamptz + make_interval(days => ((u * 31 + s * 17) % 1000) - 10) AS r"
            "  FROM generate_series(1, $1) u, generate_series(0, $3 - 1) s) t",
            users,
            AS_OF,
            PRODUCTS_PER_USER,
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return time.perf_counter() - started


def line(name: str, report: ScanReport, seconds: float) -> str:
    rate = report.rows / seconds if seconds else 0.0
    return (
        f"  {name:34}{report.rows:>10,} rows {report.users:>9,} users {seconds:>7.1f} s "
        f"{rate:>10,.0f} rows/s {report.planned:>7,} planned {report.batches:>5} batches"
    )


async def measure(url: str, products: int) -> tuple[float, float, float]:
    await recreate(url)
    settings = load_settings()
    await Tortoise.init(config=tortoise_config(url))
    await Tortoise.generate_schemas()
    arq = await create_arq_pool(settings.redis_url or "redis://127.0.0.1:6379/15")
    try:
        await arq.flushdb()
        filled = await fill(url, products)
        ctx = NoticeContext.from_settings(settings, arq=None)  # plan and decide; no send jobs
        print(
            f"\n{products:,} owned products ({products // PRODUCTS_PER_USER:,} users), "
            f"written in {filled:.1f} s"
        )
        timings = []
        for name, scan in (
            ("maintenance: first pass", MAINTENANCE),
            ("maintenance: again (steady state)", MAINTENANCE),
            ("replenishment: due rows", REPLENISHMENT),
        ):
            started = time.perf_counter()
            report = await run_full_pass(scan, ctx, arq, as_of=AS_OF)
            seconds = time.perf_counter() - started
            timings.append(seconds)
            print(line(name, report, seconds))
        await arq.flushdb()
        return timings[0], timings[1], timings[2]
    finally:
        await arq.aclose()
        await Tortoise.close_connections()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000,1000000")
    args = parser.parse_args()
    url = database_url()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {size: await measure(url, size) for size in sizes}
    anchor = sizes[0]
    print("\nseconds per 100k owned products (flat = linear growth), and ratio to the smallest size")
    print(f"  {'size':>10}{'first pass':>14}{'steady':>10}{'ratio first':>13}{'ratio steady':>14}")
    for size, (first, steady, _) in results.items():
        per_first = first / size * 100_000
        per_steady = steady / size * 100_000
        anchor_first = results[anchor][0] / anchor * 100_000
        anchor_steady = results[anchor][1] / anchor * 100_000
        print(
            f"  {size:>10,}{per_first:>14.2f}{per_steady:>10.2f}"
            f"{per_first / anchor_first:>13.2f}{per_steady / anchor_steady:>14.2f}"
        )


if __name__ == "__main__":
    asyncio.run(main())
