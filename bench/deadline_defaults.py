"""Benchmark: deadline defaults and command delivery at scale, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lvyue_bench6 \\
        PYTHONPATH=. .venv/bin/python bench/deadline_defaults.py [--orders 100000] [--send 2000]

What it does:
1. recreates the (bench) database and its tables from the models;
2. writes `--orders` open orders and one expired scoped exception linked to all of them
   (set-based SQL), plus as many expired delivery-slot offers as a tenth of the orders;
3. runs the cron job's work (`apply_deadline_defaults` with its defaults, then queuing the
   sends on Redis: REDIS_URL, default redis://127.0.0.1:6379/9, flushed) until nothing is
   left, and prints each run's count, rate and duration;
4. times a run with nothing left to do (what every minute costs afterwards);
5. delivers `--send` of the resulting commands to a local HTTP receiver (uvicorn, 127.0.0.1)
   with 20 concurrent senders, and prints commands per second.

It refuses to run unless DATABASE_URL is PostgreSQL and the database name contains "bench"
(the database is dropped and created again).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from arq.connections import ArqRedis
from tortoise import Tortoise

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bff.models import CommandStatus, OrderExceptionLink, OutboxCommand
from bff.orders.deadlines import apply_deadline_defaults
from bff.runtime.db import tortoise_config
from bff.runtime.redis import create_arq_pool
from bff.runtime.resources import new_http_client
from bff.supply_chain.outbox import deliver, enqueue_sends
from tests.supply_chain.receiver import CommandReceiver, serve_receiver

USERS = 10_000
SECRET = "bench-secret-0123456789"


def check_database_url(url: str | None) -> str:
    if not url:
        raise SystemExit("DATABASE_URL is not set; e.g. postgres://postgres@127.0.0.1:5432/lvyue_bench6")
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "asyncpg", "psycopg", "postgresql"):
        raise SystemExit(f"DATABASE_URL must be PostgreSQL, got {parts.scheme}://")
    if "bench" not in parts.path:
        raise SystemExit("the database would be dropped; use a database whose name contains 'bench'")
    return url


async def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.strip("/")
    conn = await asyncpg.connect(urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query="")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def fill(orders: int) -> float:
    conn = Tortoise.get_connection("default")
    started = time.perf_counter()
    await conn.execute_query(
        "INSERT INTO users (openid, nickname, member_tier, points, region, created_at) "
        "SELECT 'oBENCH6_' || lpad(n::text, 20, '0'), '', 'REGULAR', 0, '浙江省杭州市', now() "
        f"FROM generate_series(1, {USERS}) AS n"
    )
    await conn.execute_query(
        "INSERT INTO orders (order_no, user_id, status, placed_at, total_amount, region, warehouse, presale, "
        "created_at, updated_at) "
        f"SELECT 'BD' || lpad(n::text, 10, '0'), (SELECT min(id) FROM users) + (n % {USERS}), "
        "(ARRAY['PAID','IN_PRODUCTION','SHIPPED'])[1 + n % 3], now() - interval '3 days', 129.00, "
        "'浙江省杭州市', '杭州仓', false, now(), now() "
        f"FROM generate_series(1, {orders}) AS n"
    )
    await conn.execute_query(
        "INSERT INTO order_exceptions (exception_id, kind, reason, deadline, default_option, options, "
        "scope_warehouse, occurred_at, created_at) VALUES ('EX-BENCH6', 'DELAY', '基准', "
        "now() - interval '1 minute', 'WAIT', '[{\"code\": \"WAIT\", \"label\": \"继续等待\"}]', '杭州仓', "
        "now() - interval '1 day', now())"
    )
    await conn.execute_query(
        "INSERT INTO order_exception_links (order_id, exception_id, created_at) "
        "SELECT o.id, (SELECT id FROM order_exceptions), now() FROM orders o"
    )
    await conn.execute_query(
        "INSERT INTO delivery_slot_offers "
        "(order_id, deadline, default_slot_id, options, offered_at, updated_at) "
        "SELECT id, now() - interval '1 minute', 'SLOT-AM', "
        '\'[{"id": "SLOT-AM", "label": "上午", "startsAt": "2026-12-01T09:00:00+08:00", '
        '"endsAt": "2026-12-01T12:00:00+08:00"}]\', now() - interval \'1 day\', now() '
        "FROM orders WHERE id % 10 = 0"
    )
    await conn.execute_query("ANALYZE")
    return time.perf_counter() - started


async def apply_all(arq: ArqRedis) -> None:
    """What the cron job does each minute: apply a bounded share of the defaults, queue their sends."""
    total = runs = 0
    started = time.perf_counter()
    while True:
        run_started = time.perf_counter()
        applied = await apply_deadline_defaults()
        db_s = time.perf_counter() - run_started
        queued = await enqueue_sends(arq, applied.command_ids)
        seconds = time.perf_counter() - run_started
        runs += 1
        total += applied.total
        print(
            f"  run {runs}: {applied.slots:,} slots + {applied.exceptions:,} exception decisions in "
            f"{db_s:.2f} s ({applied.total / db_s:,.0f}/s), {queued:,} sends queued, {seconds:.2f} s in all"
        )
        if applied.total == 0:
            break
    print(
        f"defaults: {total:,} decisions (and commands) in {runs - 1} cron runs, "
        f"{time.perf_counter() - started:.1f} s"
    )
    await Tortoise.get_connection("default").execute_query("ANALYZE")  # as autovacuum would
    idle = []
    for _ in range(5):
        run_started = time.perf_counter()
        await apply_deadline_defaults()
        idle.append(time.perf_counter() - run_started)
    print(f"idle run (nothing due, {total:,} decided rows): median {sorted(idle)[2] * 1000:.1f} ms")
    undecided = await OrderExceptionLink.filter(chosen_option__isnull=True).count()
    print(f"undecided links left: {undecided}")


async def send(count: int, concurrency: int) -> None:
    ids = (
        await OutboxCommand.filter(status=CommandStatus.PENDING)
        .order_by("id")
        .limit(count)
        .values_list("command_id", flat=True)
    )
    queue: asyncio.Queue[object] = asyncio.Queue()
    for command_id in ids:
        queue.put_nowait(command_id)
    http = new_http_client()
    try:
        async with serve_receiver(CommandReceiver(SECRET)) as receiver:

            async def sender() -> None:
                while not queue.empty():
                    command_id = queue.get_nowait()
                    await deliver(http, url=receiver.url, secret=SECRET, command_id=command_id)  # type: ignore[arg-type]

            started = time.perf_counter()
            await asyncio.gather(*[sender() for _ in range(concurrency)])
            seconds = time.perf_counter() - started
    finally:
        await http.aclose()
    sent = await OutboxCommand.filter(status=CommandStatus.SENT).count()
    print(
        f"delivery: {sent:,} of {len(ids):,} commands SENT to a local receiver in {seconds:.2f} s "
        f"({sent / seconds:,.0f}/s, {concurrency} concurrent senders; claim + signed POST + record each)"
    )


async def run(orders: int, count: int) -> None:
    url = check_database_url(os.environ.get("DATABASE_URL"))
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/9"  # flushed: a db of its own
    print(f"database: {urlsplit(url).path.strip('/')} (recreated)")
    await recreate_database(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    await Tortoise.generate_schemas()
    try:
        fill_s = await fill(orders)
        print(
            f"data: {orders:,} open orders under one expired scoped exception, "
            f"{orders // 10:,} expired slot offers ({fill_s:.1f} s)"
        )
        arq = await create_arq_pool(redis_url)
        await arq.flushdb()
        try:
            await apply_all(arq)
        finally:
            await arq.flushdb()
            await arq.aclose()
        await send(count, 20)
    finally:
        await Tortoise.close_connections()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--send", type=int, default=2000)
    args = parser.parse_args()
    started = datetime.now(UTC)
    asyncio.run(run(args.orders, args.send))
    print(f"total: {(datetime.now(UTC) - started) / timedelta(seconds=1):.1f} s")


if __name__ == "__main__":
    main()
