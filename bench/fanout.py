"""Benchmark: a scoped `order.exception` fanned out to 10k, 30k and 100k orders, planned and sent.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lvyue_bench_fanout REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/fanout.py [--sizes 10000 30000 100000] [--workers 2]

Per size (affected orders N), in this order:
1. recreates the bench database and its tables; writes N/2 users holding two units each of the
   exception template (a consent ledger row and its GRANT move), N open orders of 杭州仓 holding
   SKU-BENCH-1 (two per user) and N/5 orders outside the scope, all with set-based
   INSERT … SELECT generate_series;
2. flushes its Redis db, sends one signed scoped `order.exception` through the real ASGI app and
   times the planning: every `plan_notices_for_event` job (and its follow-ups) run in this
   process from the arq queue, as a worker would run them — every notice ends QUEUED with its
   send job handed over;
3. starts the WeChat sandbox (wxsandbox, in a child process, knowing the N/2 openids with two
   units each; daily send limit 10,000,000, no send latency, no faults, no pushes) and TWO real
   `bff worker` processes, and times until every notice is SENT, printing progress and sampling
   each worker's VmRSS (/proc/<pid>/status) every 2 s.

Then it prints per size: planning time, orders/s, send time, sends/s, RSS min/max, and the ratio
of each time per order to the first (smallest) size's — 1.00 everywhere is linear.

It refuses SQLite, a database name without "bench" (it is dropped and created again per size)
and a Redis db index below 10 (flushed before and after).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LVYUE_ENV", "test")

import httpx
from arq.connections import ArqRedis
from arq.constants import job_key_prefix
from arq.jobs import deserialize_job
from tortoise import Tortoise

from bench.scoped_exception import Refused, check_database_url, check_redis_url, recreate_database
from bff.catalog.templates_file import cached_templates_file
from bff.catalog.topics import Topic
from bff.constants import DEFAULT_QUEUE, PLAN_JOB_ID_PREFIX
from bff.runtime.db import tortoise_config
from bff.runtime.redis import create_arq_pool
from bff.runtime.resources import Resources, new_http_client
from bff.runtime.settings import Settings, load_settings
from bff.supply_chain import builders as b
from bff.supply_chain.signing import signed_headers

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
WAREHOUSE = "杭州仓"
SKU = "SKU-BENCH-1"
ORDERS_PER_USER = 2
SAMPLE_S = 2.0
PROGRESS_S = 10.0
STALL_S = 120.0  # no notice sent for this long: give up on the size


def openid(n: int) -> str:
    return f"oBENCH_{n:020d}"


def exception_template() -> str:
    template = cached_templates_file(load_settings().templates_file).for_topic(Topic.ORDER_EXCEPTION)
    assert template is not None, "no template carries ORDER_EXCEPTION"
    return template.template_id


# ------------------------------------------------------------------------------ the sandbox child


def serve_sandbox(port: int, users: int, template_id: str) -> None:
    """The WeChat sandbox knowing ``users`` bench openids, each with ORDERS_PER_USER units."""
    import uvicorn

    from wxsandbox.app import create_sandbox_app
    from wxsandbox.config import SandboxConfig
    from wxsandbox.state import Subscription

    config = SandboxConfig.from_env()
    app = create_sandbox_app(config)
    state = app.state.sandbox.state
    for n in range(1, users + 1):
        state.users[openid(n)] = None
        state.subscriptions[(openid(n), template_id)] = Subscription(remaining=ORDERS_PER_USER)
    print(f"sandbox: {users:,} users, daily send limit {config.daily_send_limit:,}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# ------------------------------------------------------------------------------------ the data


async def fill(orders: int, others: int, template_id: str) -> tuple[int, float]:
    """Users with units, matching open orders and others, all set-based; (users, seconds)."""
    users = orders // ORDERS_PER_USER
    conn = Tortoise.get_connection("default")
    started = time.perf_counter()
    await conn.execute_query(
        "INSERT INTO users (openid, nickname, member_tier, points, region, created_at) "
        "SELECT 'oBENCH_' || lpad(n::text, 20, '0'), '', 'REGULAR', 0, '浙江省杭州市', now() "
        f"FROM generate_series(1, {users}) AS n ORDER BY n"
    )
    await conn.execute_query(
        "INSERT INTO consent_ledger (user_id, template_id, granted, spent, wechat_status, always_keep, "
        f"banned, last_credit_at, updated_at) SELECT id, '{template_id}', {ORDERS_PER_USER}, 0, 'ACCEPT', "
        "false, false, now(), now() FROM users"
    )
    await conn.execute_query(
        "INSERT INTO consent_ledger_moves (user_id, template_id, kind, units, at) "
        f"SELECT id, '{template_id}', 'GRANT', {ORDERS_PER_USER}, now() - interval '1 hour' FROM users"
    )
    # Order n belongs to user n mod users: a user's two orders are `users` apart in link order, so
    # their sends do not meet on the per-openid lock.
    await conn.execute_query(
        "INSERT INTO orders (order_no, user_id, status, placed_at, total_amount, region, warehouse, presale, "
        "created_at, updated_at) "
        "SELECT 'BN' || lpad(n::text, 10, '0'), "
        f"(SELECT min(id) FROM users) + (n % {users}), "
        "(ARRAY['PAID','IN_PRODUCTION','SHIPPED'])[1 + n % 3], "
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
    return users, time.perf_counter() - started


async def status_counts() -> dict[str, int]:
    conn = Tortoise.get_connection("default")
    _, rows = await conn.execute_query("SELECT status, count(*) FROM notices GROUP BY status")
    return {str(row[0]): int(row[1]) for row in rows}


async def drain_planning_jobs(arq: ArqRedis, settings: Settings, http: httpx.AsyncClient) -> list[str]:
    """Run the queued planning jobs, and the follow-ups they enqueue, in this process, as a worker
    would. Only the planning job ids (``plan:…``) are read from the queue: the send jobs the
    planning hands over stay untouched for the workers."""
    from tasks.notices import plan_notices_for_event

    outcomes: list[str] = []
    while True:
        ids = [
            job_id.decode()
            for job_id in await arq.zrange(DEFAULT_QUEUE, 0, -1)
            if job_id.startswith(PLAN_JOB_ID_PREFIX.encode())
        ]
        if not ids:
            return outcomes
        for job_id in ids:
            raw = await arq.get(job_key_prefix + job_id)
            await arq.zrem(DEFAULT_QUEUE, job_id)
            await arq.delete(job_key_prefix + job_id)
            if raw is None:
                continue
            job = deserialize_job(raw)
            ctx: dict[str, Any] = {
                "settings": settings,
                "http": http,
                "redis": arq,
                "worker_id": "bench",
                "started_at": datetime.now(UTC),
                "job_id": job_id,
                "job_try": 1,
                "enqueue_time": job.enqueue_time,
                "score": None,
            }
            outcome = await plan_notices_for_event(ctx, *job.args, **job.kwargs)
            outcomes.append(outcome)


# ---------------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat)."""
    try:
        fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@contextlib.asynccontextmanager
async def child(args: list[str], env: dict[str, str], log: Path) -> AsyncIterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)  # noqa: ASYNC220
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


async def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")
            await asyncio.sleep(0.2)


# ---------------------------------------------------------------------------------- one size


@dataclass
class SizeFigures:
    orders: int
    users: int = 0
    webhook_s: float = 0.0
    plan_s: float = 0.0
    plan_jobs: int = 0
    queued: int = 0
    send_s: float | None = None
    sent: int = 0
    rss_kib: dict[int, list[int]] = field(default_factory=dict)
    # Both workers' CPU seconds and the notices sent, from the first sample with a send on (so
    # the workers' start-up is left out) to the end.
    cpu_from: tuple[float, int] | None = None
    cpu_to: tuple[float, int] | None = None
    send_window_s: float | None = None  # the send phase was cut after this long (--send-max-s)
    statuses: dict[str, int] = field(default_factory=dict)


async def run_size(
    orders: int, url: str, redis_url: str, workers: int, logs: Path, send_max_s: float | None
) -> SizeFigures:
    figures = SizeFigures(orders)
    settings = load_settings()
    template_id = exception_template()
    await recreate_database(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        await Tortoise.generate_schemas()
        figures.users, fill_s = await fill(orders, orders // 5, template_id)
        print(
            f"[{orders:,}] data: {figures.users:,} users with {ORDERS_PER_USER} units each, "
            f"{orders:,} matching open orders + {orders // 5:,} others, in {fill_s:.1f} s",
            flush=True,
        )
        arq = await create_arq_pool(redis_url)
        await arq.flushdb()
        http = new_http_client()
        try:
            from bff.web.app import create_app

            app = create_app(settings, resources=Resources(settings=settings, arq=arq, http=http))
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
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://bench", timeout=600
                ) as client:
                    started = time.perf_counter()
                    response = await client.post(
                        "/hooks/supply-chain",
                        content=body,
                        headers=signed_headers(settings.supply_chain_secret, body),
                    )
                    figures.webhook_s = time.perf_counter() - started
            assert response.status_code == 200, response.text
            print(f"[{orders:,}] webhook: {response.text} in {figures.webhook_s * 1000:.0f} ms", flush=True)

            started = time.perf_counter()
            runs = await drain_planning_jobs(arq, settings, http)
            figures.plan_s = time.perf_counter() - started
            figures.plan_jobs = len(runs)
            counts = await status_counts()
            figures.queued = counts.get("QUEUED", 0)
            print(
                f"[{orders:,}] planned in {figures.plan_s:.1f} s ({orders / figures.plan_s:,.0f} orders/s, "
                f"{len(runs)} planning job(s)): {counts}; send jobs queued: {await arq.zcard('arq:queue'):,}",
                flush=True,
            )
        finally:
            await http.aclose()

        await send_phase(figures, redis_url, url, workers, logs, send_max_s)
        await arq.flushdb()
        await arq.aclose()
    finally:
        await Tortoise.close_connections()
    return figures


async def send_phase(
    figures: SizeFigures, redis_url: str, url: str, workers: int, logs: Path, max_s: float | None
) -> None:
    port = free_port()
    api_base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "WECHAT_API_BASE": api_base,
        "SANDBOX_DAILY_SEND_LIMIT": "10000000",
        "SANDBOX_SEND_LATENCY_MS": "0",
    }
    env.pop("SANDBOX_PUSH_URL", None)
    env.pop("SANDBOX_STATE_FILE", None)
    sandbox_cmd = [
        sys.executable,
        str(SCRIPT),
        "--serve-sandbox",
        str(port),
        str(figures.users),
    ]
    worker_cmd = [sys.executable, "-m", "bff.cli", "worker"]
    orders = figures.orders
    async with child(sandbox_cmd, env, logs / f"sandbox-{orders}.log"):
        await wait_http(f"{api_base}/sandbox/stats", timeout_s=120)
        async with contextlib.AsyncExitStack() as stack:
            started = time.monotonic()
            procs = [
                await stack.enter_async_context(child(worker_cmd, env, logs / f"worker-{orders}-{i}.log"))
                for i in range(workers)
            ]
            figures.rss_kib = {p.pid: [] for p in procs}
            last_sent, last_change, last_progress = 0, time.monotonic(), 0.0
            while True:
                await asyncio.sleep(SAMPLE_S)
                for p in procs:
                    rss = rss_kib(p.pid)
                    if rss is not None:
                        figures.rss_kib[p.pid].append(rss)
                counts = await status_counts()
                sent = counts.get("SENT", 0)
                elapsed = time.monotonic() - started
                if sent != last_sent:
                    last_sent, last_change = sent, time.monotonic()
                if elapsed - last_progress >= PROGRESS_S:
                    last_progress = elapsed
                    rss_now = ", ".join(
                        f"{(figures.rss_kib[p.pid] or [0])[-1] / 1024:.0f} MiB" for p in procs
                    )
                    print(
                        f"[{orders:,}] {elapsed:6.0f} s: {sent:,} of {figures.queued:,} sent "
                        f"({sent / elapsed:,.0f}/s); workers' RSS {rss_now}",
                        flush=True,
                    )
                cpu = sum(c for c in (cpu_s(p.pid) for p in procs) if c is not None)
                if sent > 0:
                    figures.cpu_to = (cpu, sent)
                    if figures.cpu_from is None:
                        figures.cpu_from = (cpu, sent)
                if sent >= figures.queued:
                    figures.send_s = elapsed
                    break
                if max_s is not None and elapsed >= max_s:
                    figures.send_window_s = elapsed
                    print(f"[{orders:,}] send phase cut at {max_s:.0f} s (--send-max-s)", flush=True)
                    break
                dead = [p.pid for p in procs if p.poll() is not None]
                if dead or time.monotonic() - last_change > STALL_S:
                    print(f"[{orders:,}] stopped: workers exited {dead} or no progress; {counts}", flush=True)
                    break
            figures.sent = sent
            figures.statuses = counts


def report(results: list[SizeFigures], workers: int) -> None:
    print()
    print(f"scoped exception fan-out, PostgreSQL, {workers} workers, WeChat sandbox (no latency, no faults)")
    print(
        f"{'orders':>8} {'plan s':>7} {'orders/s':>9} {'plan s/10k':>10} {'ratio':>6}   "
        f"{'send s':>7} {'sends/s':>8} {'send s/10k':>10} {'ratio':>6}   {'worker RSS MiB min–max':>24}   "
        "worker CPU ms/send"
    )
    anchor = results[0]
    for f in results:
        plan_per = f.plan_s / f.orders * 10_000
        plan_ratio = plan_per / (anchor.plan_s / anchor.orders * 10_000)
        samples = [kib for series in f.rss_kib.values() for kib in series]
        rss = f"{min(samples) / 1024:.0f}–{max(samples) / 1024:.0f}" if samples else "-"
        per_worker = " / ".join(f"{min(s) / 1024:.0f}–{max(s) / 1024:.0f}" for s in f.rss_kib.values() if s)
        if f.send_s is not None and anchor.send_s is not None:
            send_per = f.send_s / f.orders * 10_000
            send_ratio = send_per / (anchor.send_s / anchor.orders * 10_000)
            send = f"{f.send_s:7.1f} {f.sent / f.send_s:8.0f} {send_per:10.1f} {send_ratio:6.2f}"
        elif f.send_window_s:
            send = f"{'cut':>7} {f.sent / f.send_window_s:8.0f} {'-':>10} {'-':>6}"
        else:
            send = f"{'-':>7} {'-':>8} {'-':>10} {'-':>6}  (sent {f.sent:,} of {f.queued:,}: {f.statuses})"
        cpu = "-"
        if f.cpu_from and f.cpu_to and f.cpu_to[1] > f.cpu_from[1]:
            cpu = f"{(f.cpu_to[0] - f.cpu_from[0]) / (f.cpu_to[1] - f.cpu_from[1]) * 1000:.1f}"
        print(
            f"{f.orders:>8,} {f.plan_s:7.1f} {f.orders / f.plan_s:9,.0f} "
            f"{plan_per:10.2f} {plan_ratio:6.2f}   "
            f"{send}   {rss:>10} ({per_worker})   {cpu:>6}"
        )
    print("ratio: seconds per 10k orders against the first size's, same run (1.00 = linear)")
    print("send s 'cut': the send phase was stopped by --send-max-s; sends/s is over that window")


async def run(sizes: list[int], workers: int, send_max_s: float | None) -> None:
    url = check_database_url(os.environ.get("DATABASE_URL"))
    redis_url = check_redis_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15")
    os.environ["REDIS_URL"] = redis_url
    logs = REPO / "data" / "bench-fanout"
    logs.mkdir(parents=True, exist_ok=True)
    print(
        f"database {urlsplit(url).path.strip('/')} (recreated per size), redis {redis_url}, sizes {sizes}, "
        f"{workers} workers; logs under {logs}",
        flush=True,
    )
    results = []
    for orders in sizes:
        results.append(await run_size(orders, url, redis_url, workers, logs, send_max_s))
        report(results, workers)


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-sandbox":
        serve_sandbox(int(sys.argv[2]), int(sys.argv[3]), exception_template())
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--send-max-s",
        type=float,
        default=None,
        help="stop each send phase after this long (default: all sent)",
    )
    args = parser.parse_args()
    try:
        asyncio.run(run(args.sizes, args.workers, args.send_max_s))
    except Refused as exc:
        print(f"bench/fanout.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
