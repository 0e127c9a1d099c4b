"""Benchmark: one scoped `order.exception` reaching 100,000 open orders, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lvyue_bench5 \\
        PYTHONPATH=. .venv/bin/python bench/scoped_exception.py [--orders 100000] [--others 20000]

What it does:
1. recreates the (bench) database and its tables from the models;
2. writes `--orders` open orders that match the scope (warehouse 杭州仓, SKU SKU-BENCH-1) and
   `--others` that do not, with set-based INSERT … SELECT generate_series (no Python loop);
3. sends the scoped exception through the real ASGI app (signature check, parse, ingest,
   planning handover) and times the request;
4. times the planning pass: the keyset walk over the affected orders in chunks, and the
   planning jobs themselves (`tasks.notices.plan_notices_for_event` as registered now, with
   any follow-up jobs it enqueues), run in this process from the arq queue.

It refuses to run unless DATABASE_URL is PostgreSQL and the database name contains "bench"
(the database is dropped and created again). Redis: REDIS_URL, default redis://127.0.0.1:6379/15,
which is flushed before and after; a db index below 10 is refused.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LVYUE_ENV", "test")

import asyncpg
import httpx
from arq.connections import ArqRedis
from tortoise import Tortoise

from bff.constants import DEFAULT_QUEUE, JOB_PLAN_EVENT
from bff.models import OrderException, OrderExceptionLink, SupplyChainEvent
from bff.runtime.db import tortoise_config
from bff.runtime.redis import create_arq_pool
from bff.runtime.resources import Resources, new_http_client
from bff.runtime.settings import Settings, load_settings
from bff.supply_chain import builders as b
from bff.supply_chain.scope import iter_affected_orders
from bff.supply_chain.signing import signed_headers

WAREHOUSE = "杭州仓"
SKU = "SKU-BENCH-1"
USERS = 20_000


class Refused(Exception):
    pass


def check_database_url(url: str | None) -> str:
    if not url:
        raise Refused(
            "DATABASE_URL is not set; point it at a PostgreSQL bench database, e.g. "
            "postgres://postgres@127.0.0.1:5432/lvyue_bench5"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "asyncpg", "psycopg", "postgresql"):
        raise Refused(
            f"DATABASE_URL must be PostgreSQL (this benchmark measures production), got {parts.scheme}://"
        )
    name = parts.path.strip("/")
    if "bench" not in name:
        raise Refused(f"database {name!r} would be dropped; use a database whose name contains 'bench'")
    return url


async def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.strip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query=""))
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def fill(orders: int, others: int) -> float:
    """Users, matching open orders and non-matching ones, all set-based; returns seconds."""
    conn = Tortoise.get_connection("default")
    started = time.perf_counter()
    await conn.execute_query(
        "INSERT INTO users (openid, nickname, member_tier, points, region, created_at) "
        "SELECT 'oBENCH_' || lpad(n::text, 20, '0'), '', 'REGULAR', 0, '浙江省杭州市', now() "
        f"FROM generate_series(1, {USERS}) AS n"
    )
    # Matching: open orders of 杭州仓 holding SKU-BENCH-1, spread over the open statuses.
    # Others: other warehouses or other SKUs, or already delivered.
    await conn.execute_query(
        "INSERT INTO orders (order_no, user_id, status, placed_at, total_amount, region, warehouse, presale, "
        "created_at, updated_at) "
        "SELECT 'BN' || lpad(n::text, 10, '0'), "
        f"(SELECT min(id) FROM users) + (n % {USERS}), "
        "(ARRAY['PAID','IN_PRODUCTION','SHIPPED','PENDING_PAYMENT'])[1 + n % 4], "
        "now() - (n || ' seconds')::interval, 129.00, '浙江省杭州市', "
        f"CASE WHEN n <= {orders} THEN '{WAREHOUSE}' WHEN n % 2 = 0 THEN '上海仓' ELSE '{WAREHOUSE}' END, "
        "false, now(), now() "
        f"FROM generate_series(1, {orders + others}) AS n"
    )
    await conn.execute_query(
        f"UPDATE orders SET status = 'DELIVERED' "
        f"WHERE order_no > 'BN{orders:010d}' AND warehouse = '{WAREHOUSE}'"
    )
    await conn.execute_query(
        "INSERT INTO order_items (order_id, position, sku_code, name, quantity, unit_price) "
        f"SELECT id, 0, CASE WHEN order_no <= 'BN{orders:010d}' THEN '{SKU}' ELSE 'SKU-OTHER' END, "
        "'基准商品', 1, 129.00 FROM orders"
    )
    await conn.execute_query("ANALYZE")
    return time.perf_counter() - started


async def run(orders: int, others: int, chunk: int) -> None:
    url = check_database_url(os.environ.get("DATABASE_URL"))
    redis_url = check_redis_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15")
    os.environ["REDIS_URL"] = redis_url
    settings = load_settings()

    print(f"database: {urlsplit(url).hostname}/{urlsplit(url).path.strip('/')} (recreated)")
    await recreate_database(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    await Tortoise.generate_schemas()
    fill_s = await fill(orders, others)
    print(f"data: {orders:,} matching open orders + {others:,} others, set-based insert in {fill_s:.1f} s")

    arq = await create_arq_pool(redis_url)
    await arq.flushdb()
    http = new_http_client()
    resources = Resources(settings=settings, arq=arq, http=http)
    from bff.web.app import create_app

    app = create_app(settings, resources=resources)
    now = datetime.now(UTC)
    event = b.exception(
        "EX-BENCH-1",
        now,
        now + timedelta(days=2),
        scope={"warehouse": WAREHOUSE, "skuCode": SKU},
        kind="LOGISTICS_JAM",
        reason="基准测试：杭州仓爆仓",
    )
    body = b.body(event)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client:
                started = time.perf_counter()
                response = await client.post(
                    "/hooks/supply-chain",
                    content=body,
                    headers=signed_headers(settings.supply_chain_secret, body),
                )
                request_s = time.perf_counter() - started
        print(f"webhook: {response.status_code} {response.text} in {request_s * 1000:.0f} ms")

        exception = await OrderException.get(exception_id="EX-BENCH-1")
        linked = await OrderExceptionLink.filter(exception_id=exception.id).count()
        print(f"links: {linked:,} orders linked to EX-BENCH-1 (expected {orders:,})")

        started = time.perf_counter()
        walked = chunks = 0
        async for batch in iter_affected_orders(exception.id, chunk=chunk):
            walked += len(batch)
            chunks += 1
        walk_s = time.perf_counter() - started
        print(
            f"planning walk: {walked:,} affected orders in {chunks} keyset chunks of {chunk}"
            f" in {walk_s:.2f} s"
        )

        row = await SupplyChainEvent.get(event_id=event["eventId"])
        started = time.perf_counter()
        runs = await drain_planning_jobs(arq, settings, http)
        plan_s = time.perf_counter() - started
        print(f"planning jobs: {len(runs)} run(s) for event row {row.id} in {plan_s:.2f} s")
        for job_id, seconds, outcome in runs:
            print(f"  {job_id}: {seconds:.2f} s → {outcome}")
    finally:
        await arq.flushdb()
        await http.aclose()
        await arq.aclose()
        await Tortoise.close_connections()


async def drain_planning_jobs(
    arq: ArqRedis, settings: Settings, http: httpx.AsyncClient
) -> list[tuple[str, float, str]]:
    """Run the queued planning jobs, and any follow-ups they enqueue, in this process."""
    from tasks.notices import plan_notices_for_event

    runs: list[tuple[str, float, str]] = []
    while True:
        jobs = [job for job in await arq.queued_jobs() if job.function == JOB_PLAN_EVENT]
        if not jobs:
            return runs
        for job in jobs:
            job_id = str(job.job_id)
            await arq.zrem(DEFAULT_QUEUE, job_id)
            await arq.delete(f"arq:job:{job_id}")
            ctx: dict[str, Any] = {
                "settings": settings,
                "http": http,
                "redis": arq,
                "worker_id": "bench",
                "started_at": datetime.now(UTC),
                "job_id": job_id,
                "job_try": 1,
                "enqueue_time": job.enqueue_time,
                "score": job.score,
            }
            started = time.perf_counter()
            outcome = await plan_notices_for_event(ctx, *job.args, **job.kwargs)
            runs.append((job_id, time.perf_counter() - started, str(outcome)))


def check_redis_url(url: str) -> str:
    """The bench flushes its Redis db: only a private index (10 or above) is accepted."""
    db = urlsplit(url).path.strip("/") or "0"
    if not db.isdigit() or int(db) < 10:
        raise Refused(f"REDIS_URL {url} would be flushed; use a private db index of 10 or more (default /15)")
    return url


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=100_000, help="matching open orders")
    parser.add_argument("--others", type=int, default=20_000, help="orders outside the scope")
    parser.add_argument("--chunk", type=int, default=1000, help="keyset chunk of the planning walk")
    args = parser.parse_args()
    try:
        asyncio.run(run(args.orders, args.others, args.chunk))
    except Refused as exc:
        print(f"bench/scoped_exception.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
