"""Benchmark: what one supply-chain webhook event costs, for docs/scaling.md.

    .venv/bin/python bench/capacity_anchors.py [--events 200] [--counted 20]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lvyue_bench_capacity \\
        .venv/bin/python bench/capacity_anchors.py

Per event kind (`order.placed`, `order.paid`, `order.node` OUTBOUND), one event per signed POST
through the real ASGI app (`bff.web.app:create_app`, lifespan running, httpx's ASGI transport, no
HTTP server), then the planning job each stored event hands over (`plan_notices_for_event` as the
worker registers it, with its `counted` metrics wrapper), called in this process. The users hold
units of the order templates and have no quiet hours, so a node event plans a notice, the policy
queues it and its send job goes to Redis (the send itself is the sender's, `bench/sender.py`).

Printed per kind: CPU of this process per event (`time.process_time`, a pass of `--events`
events with no counters), SQL statements (tortoise's `tortoise.db_client` logger, as
tests/querycount.py counts them) and Redis commands and round trips (redis-py's connection,
counted client-side so other clients of a shared server do not count) from a second pass of
`--counted` events. The anchors of the same run: a bare Starlette app answering a JSON POST
through the same transport (CPU per request), and a bare arq job run by a burst `Worker`
(Redis commands and CPU per job: what arq itself costs around any job).

Engines: SQLite in a temporary directory and a private embedded Redis by default (what `make
bench` runs). DATABASE_URL must be PostgreSQL with "bench" in the database name (it is dropped
and created); REDIS_URL's db index must be 10 or more (it is flushed before and after).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import logging
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LVYUE_ENV", "test")

_SQL_VERBS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")
ORDER_TEMPLATES = ("tmpl-order-progress-0001", "tmpl-order-shipping-0001", "tmpl-order-delivery-0001")


class Refused(Exception):
    pass


# ------------------------------------------------------------------------------------ counting


class Counts:
    """SQL statements (tortoise's statement log) and Redis commands / round trips (redis-py's
    connection) of this process while `on`."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.on = False
        counts = self

        class SqlHandler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                args = record.args
                text = str(args[0]) if isinstance(args, tuple) and args else str(record.msg)
                if counts.on and text.lstrip().upper().startswith(_SQL_VERBS):
                    counts.totals["sql"] += 1

        self._handler = SqlHandler(level=logging.DEBUG)
        from redis.asyncio.connection import AbstractConnection as Connection  # TCP and unix sockets

        send_packed = Connection.send_packed_command
        pack = Connection.pack_command

        async def counted_send(conn: Any, command: Any, check_health: bool = True) -> None:
            if counts.on:
                counts.totals["redis_round_trips"] += 1
            await send_packed(conn, command, check_health)

        def counted_pack(conn: Any, *args: Any) -> Any:
            if counts.on:
                counts.totals["redis_commands"] += 1
            return pack(conn, *args)

        Connection.send_packed_command = counted_send  # type: ignore[method-assign]
        Connection.pack_command = counted_pack  # type: ignore[method-assign]

    def start(self) -> None:
        """Counting on: the statement log goes to DEBUG (which costs CPU: never time a counted pass)."""
        logger = logging.getLogger("tortoise.db_client")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(self._handler)
        self.totals.clear()
        self.on = True

    def stop(self) -> Counter[str]:
        self.on = False
        logger = logging.getLogger("tortoise.db_client")
        logger.removeHandler(self._handler)
        logger.setLevel(logging.WARNING)
        logger.propagate = True
        return Counter(self.totals)


@dataclass
class Row:
    what: str
    cpu_ms: float
    sql: float
    redis_commands: float
    redis_round_trips: float


# ------------------------------------------------------------------------------------- engines


def check_database_url(url: str | None, workdir: Path) -> str:
    if not url:
        return f"sqlite://{workdir / 'capacity.sqlite3'}"
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        raise Refused(f"DATABASE_URL must be PostgreSQL (or unset for SQLite), got {parts.scheme}://")
    if "bench" not in parts.path.strip("/"):
        raise Refused(f"database {parts.path.strip('/')!r} would be dropped; use a name containing 'bench'")
    return url


def check_redis_url(url: str | None, workdir: Path) -> str:
    if not url:
        from bff.runtime.embedded_redis import start_embedded_redis, stop_embedded_redis

        started_url, started = start_embedded_redis(workdir / "redis", persist=False)
        if started:  # a daemon: it would outlive this script
            atexit.register(stop_embedded_redis, workdir / "redis")
        return started_url
    db = urlsplit(url).path.strip("/") or "0"
    if not db.isdigit() or int(db) < 10:
        raise Refused(f"REDIS_URL {url} would be flushed; use a private db index of 10 or more")
    return url


async def recreate_postgres(url: str) -> None:
    import asyncpg

    parts = urlsplit(url)
    name = parts.path.strip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query=""))
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


# ---------------------------------------------------------------------------------- the passes


async def cpu_per_call(n: int, call: Callable[[int], Awaitable[Any]], offset: int = 0) -> float:
    """ms of this process's CPU per call over `n` calls."""
    started = time.process_time()
    for i in range(n):
        await call(offset + i)
    return (time.process_time() - started) * 1000 / n


async def run(events: int, counted: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="lvyue-capacity-"))
    database_url = check_database_url(os.environ.get("DATABASE_URL"), workdir)
    redis_url = check_redis_url(os.environ.get("REDIS_URL"), workdir)
    os.environ.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SUPPLY_CHAIN_SECRET": secrets.token_hex(24),
            "WECHAT_API_BASE": "http://127.0.0.1:9",  # nothing is sent here
        }
    )
    import httpx
    from arq import Worker, func
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from tortoise import Tortoise

    from bff import constants
    from bff.consent import ledger
    from bff.consent.preferences import PreferencesUpdate, update_preferences
    from bff.models import SupplyChainEvent, User
    from bff.runtime.db import tortoise_config
    from bff.runtime.redis import create_arq_pool
    from bff.runtime.resources import Resources, new_http_client
    from bff.runtime.settings import load_settings
    from bff.supply_chain import builders as b
    from bff.supply_chain.signing import signed_headers
    from bff.web.app import create_app
    from tasks.worker import FUNCTIONS

    engine = "PostgreSQL" if database_url.startswith("postgres") else "SQLite"
    print(f"engines: {engine}, Redis {urlsplit(redis_url).scheme}; load average {os.getloadavg()[0]:.1f}")
    if engine == "PostgreSQL":
        await recreate_postgres(database_url)
    counts = Counts()
    settings = load_settings()
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    await Tortoise.generate_schemas()
    arq = await create_arq_pool(redis_url)
    await arq.flushdb()
    http = new_http_client()
    resources = Resources(settings=settings, arq=arq, http=http)
    app = create_app(settings, resources=resources)
    [plan_job] = [f for f in FUNCTIONS if getattr(f, "name", None) == constants.JOB_PLAN_EVENT]
    rows: list[Row] = []
    total = events + counted

    async def anchor_app(request: Request) -> JSONResponse:
        body = await request.json()
        return JSONResponse({"accepted": len(body.get("events", [])), "duplicates": 0})

    anchor = Starlette(routes=[Route("/hooks/supply-chain", anchor_app, methods=["POST"])])
    now = datetime.now(UTC)
    openid = "oBENCH_capacity_{:011d}".format
    order_no = "CAP-{:07d}".format

    try:
        async with app.router.lifespan_context(app):
            bff_client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
            anchor_client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=anchor), base_url="http://bench"
            )

            async def post(client: httpx.AsyncClient, event: dict[str, Any]) -> None:
                body = b.body(event)
                response = await client.post(
                    "/hooks/supply-chain",
                    content=body,
                    headers=signed_headers(settings.supply_chain_secret, body),
                )
                if response.status_code != 200:
                    raise SystemExit(f"bench: webhook answered {response.status_code} {response.text}")

            def placed(i: int) -> dict[str, Any]:
                return b.placed(order_no(i), openid(i), now - timedelta(hours=3))

            def paid(i: int) -> dict[str, Any]:
                return b.paid(order_no(i), now - timedelta(hours=2))

            def outbound(i: int) -> dict[str, Any]:
                return b.node(
                    order_no(i),
                    "OUTBOUND",
                    now - timedelta(minutes=5),
                    carrier="顺丰速运",
                    tracking_no=f"SF{i:010d}",
                    estimated_arrival=now + timedelta(days=2),
                )

            # the anchors: a bare Starlette POST, and a bare arq job
            await cpu_per_call(20, lambda i: post(anchor_client, placed(i)))  # warm-up
            anchor_cpu = await cpu_per_call(events, lambda i: post(anchor_client, placed(i)))
            rows.append(Row("anchor: bare Starlette JSON POST (same transport)", anchor_cpu, 0, 0, 0))
            rows.append(
                await bare_arq_jobs(counts, redis_url, events, counted, Worker, func, create_arq_pool)
            )

            async def webhook_pass(kind: str, make: Callable[[int], dict[str, Any]]) -> None:
                cpu = await cpu_per_call(events, lambda i: post(bff_client, make(i)))
                counts.start()
                for i in range(events, total):
                    await post(bff_client, make(i))
                c = counts.stop()
                rows.append(
                    Row(
                        f"webhook {kind} (request)",
                        cpu,
                        c["sql"] / counted,
                        c["redis_commands"] / counted,
                        c["redis_round_trips"] / counted,
                    )
                )

            async def planning_pass(kind: str) -> None:
                queued = [j for j in await arq.queued_jobs() if j.function == constants.JOB_PLAN_EVENT]
                if len(queued) != total:
                    raise SystemExit(f"bench: {len(queued)} planning jobs queued for {total} {kind} events")
                for job in queued:  # taken off the queue outside the counts (arq's part is the anchor's)
                    await arq.zrem(constants.DEFAULT_QUEUE, str(job.job_id))
                    await arq.delete(f"arq:job:{job.job_id}")
                queued.sort(key=lambda j: j.args[0])

                async def call(i: int) -> None:
                    ctx = {
                        "settings": settings,
                        "http": http,
                        "redis": arq,
                        "job_id": queued[i].job_id,
                        "job_try": 1,
                        "worker_id": "bench",
                        "started_at": datetime.now(UTC),
                    }
                    await plan_job.coroutine(ctx, *queued[i].args, **queued[i].kwargs)

                cpu = await cpu_per_call(events, call)
                counts.start()
                for i in range(events, total):
                    await call(i)
                c = counts.stop()
                rows.append(
                    Row(
                        f"planning job of {kind} (worker)",
                        cpu,
                        c["sql"] / counted,
                        c["redis_commands"] / counted,
                        c["redis_round_trips"] / counted,
                    )
                )

            await webhook_pass("order.placed", placed)
            # the users hold units of the order templates and have no quiet hours
            for user in await User.filter(openid__startswith="oBENCH_capacity_"):
                for template in ORDER_TEMPLATES:
                    await ledger.credit(user.id, template, 2)
                await update_preferences(user.id, PreferencesUpdate(quiet_hours=None))
            await webhook_pass("order.paid", paid)
            await planning_pass("order.paid")
            await webhook_pass("order.node OUTBOUND", outbound)
            await planning_pass("order.node OUTBOUND")
            sends = [j for j in await arq.queued_jobs() if j.function == constants.JOB_SEND_NOTICE]
            stored = await SupplyChainEvent.all().count()
            await bff_client.aclose()
            await anchor_client.aclose()
    finally:
        await arq.flushdb()
        await arq.aclose()
        await http.aclose()
        await Tortoise.close_connections()

    print(
        f"events stored: {stored}; send jobs queued by the planning: {len(sends)} "
        f"(of {2 * total} paid + node events)"
    )
    print(f"CPU over {events} events per kind (no counters); counts over {counted} more (counters on)\n")
    print(f"| {'what':<52} | CPU ms | × anchor | SQL | Redis cmds | Redis round trips |")
    print(f"|{'-' * 54}|--------|----------|-----|------------|-------------------|")
    for row in rows:
        print(
            f"| {row.what:<52} | {row.cpu_ms:6.2f} | {row.cpu_ms / anchor_cpu:8.1f} | {row.sql:3.1f} "
            f"| {row.redis_commands:10.1f} | {row.redis_round_trips:17.1f} |"
        )


async def bare_arq_jobs(
    counts: Counts, redis_url: str, events: int, counted: int, worker_cls: Any, func: Any, create_pool: Any
) -> Row:
    """A burst arq Worker running no-op jobs: arq's own Redis commands and CPU per job."""

    async def noop(ctx: dict[str, Any], i: int) -> None:
        return None

    pool = await create_pool(redis_url)

    for i in range(events + counted):  # enqueued outside the measures: the enqueue is the caller's
        await pool.enqueue_job("bench_noop", i, _job_id=f"bench-noop-{i}")
    worker = worker_cls(
        functions=[func(noop, name="bench_noop")],
        redis_pool=await create_pool(redis_url),
        burst=True,
        poll_delay=0,
        handle_signals=False,
        keep_result=0,
        max_jobs=20,
        max_burst_jobs=events,
    )
    started = time.process_time()
    try:
        await worker.main()
    finally:
        cpu = (time.process_time() - started) * 1000 / events
        await worker.close()
    worker = worker_cls(
        functions=[func(noop, name="bench_noop")],
        redis_pool=await create_pool(redis_url),
        burst=True,
        poll_delay=0,
        handle_signals=False,
        keep_result=0,
        max_jobs=20,
    )
    counts.start()
    try:
        await worker.main()
    finally:
        c = counts.stop()
        await worker.close()
        await pool.aclose()
    return Row(
        "anchor: bare arq job (burst worker, max_jobs 20)",
        cpu,
        0,
        c["redis_commands"] / counted,
        c["redis_round_trips"] / counted,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200, help="events per kind in the timed pass")
    parser.add_argument("--counted", type=int, default=20, help="events per kind in the counted pass")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    try:
        asyncio.run(run(args.events, args.counted))
    except Refused as exc:
        print(f"bench/capacity_anchors.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
