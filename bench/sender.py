"""Benchmark: notices per second of the project's worker against a bare arq job doing one httpx POST.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lvyue_bench_sender REDIS_URL=redis://127.0.0.1:6379/14 \\
        PYTHONPATH=. .venv/bin/python bench/sender.py [--notices 600] [--rounds 2]

What it does, in ONE run (real processes, real arq, real PostgreSQL and Redis):
1. recreates the (bench) database from the models, flushes its Redis db, and starts the WeChat
   sandbox (``python -m wxsandbox``, what tests/e2e/test_worker_crash.py starts) on a free port;
   seeds ``--notices`` users known to the sandbox and to the BFF, each with consent units on both
   sides (the sandbox's quota, the BFF's ledger);
2. per round, interleaved:
   (a) the anchor: a bare arq worker process (this file, ``--child anchor``) whose job does one
       httpx POST of a subscribeMessage.send body to the sandbox's send URL (one access token
       fetched at its start, one httpx client); ``--notices`` jobs enqueued, jobs/s measured;
   (b) one ``bff worker`` process (``python -m bff.cli worker``): ``--notices`` QUEUED notices (one
       per user, the units in the ledger) inserted and their send jobs enqueued through the
       sender's path (``bff.notices.jobs.enqueue_send``); notices/s from the first enqueue to the
       last card in the sandbox's inbox (every notice checked SENT afterwards);
   (c) two ``bff worker`` processes, the same way;
   each with the CPU (user + system) the worker process(es) used per send, from /proc;
3. one counting pass of each (``--count`` notices): the same processes started through this
   file's ``--child`` wrapper, which counts the SQL statements (tortoise's ``tortoise.db_client``
   logger, as tests/querycount.py does), the SQL transactions (asyncpg BEGIN) and the Redis round
   trips and commands (redis-py's connection) of the worker process, and lists them per send.

It refuses a DATABASE_URL that is not PostgreSQL or whose database name lacks "bench" (it is
dropped and created again), and a Redis db index below 10 (it is flushed before and after).
Defaults: postgres://postgres@127.0.0.1:5432/lvyue_bench_sender and redis://127.0.0.1:6379/14.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_FILE = Path(__file__).resolve()
REPO = BENCH_FILE.parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("LVYUE_ENV", "test")

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/lvyue_bench_sender"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
TEMPLATE_ID = "tmpl-order-shipping-0001"
VALUES = {
    "node_phrase": "已出库",
    "occurred_at": "2026年11月20日 09:30",
    "note": "杭州仓已发出",
    "location": "杭州仓",
    "carrier": "顺丰速运",
    "tracking_no": "SF1234567890",
}
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class Refused(Exception):
    pass


def check_database_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "asyncpg", "postgresql"):
        raise Refused(
            f"DATABASE_URL must be PostgreSQL (this benchmark runs several processes), got {parts.scheme}://"
        )
    name = parts.path.strip("/")
    if "bench" not in name:
        raise Refused(f"database {name!r} would be dropped; use a database whose name contains 'bench'")
    return url


def check_redis_url(url: str) -> str:
    db = urlsplit(url).path.strip("/") or "0"
    if not db.isdigit() or int(db) < 10:
        raise Refused(f"REDIS_URL {url} would be flushed; use a private db index of 10 or more (default /14)")
    return url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child we started; stopped (SIGTERM, then SIGKILL) and waited for however we leave."""
    with log.open("ab") as out:
        child = subprocess.Popen(args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait(timeout=10)


def send_body() -> dict[str, Any]:
    """The subscribeMessage.send body the project's sender writes for the bench notice (less touser)."""
    from bff.catalog.templates_file import cached_templates_file
    from bff.catalog.templates_render import render_data, render_page
    from bff.notices.open_tokens import issue_open_token
    from bff.runtime.settings import load_settings
    from bff.wechat.keywords import prepare_data

    settings = load_settings()
    template = cached_templates_file(settings.templates_file).by_id(TEMPLATE_ID)
    assert template is not None, TEMPLATE_ID
    values = {**VALUES, "order_no": "SOB000000001", "open_token": issue_open_token("bench", 1)}
    data = prepare_data(template.rules(), render_data(template, values))
    body: dict[str, Any] = {
        "template_id": TEMPLATE_ID,
        "data": {code: {"value": value} for code, value in data.items()},
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    }
    page = render_page(template, values)
    if page:
        body["page"] = page
    return body


# ------------------------------------------------------------------------------ child processes


def _install_counters(out: Path) -> None:
    """Count, in this process, SQL statements and transactions and Redis round trips and commands;
    written as JSON to ``out`` when the process ends."""
    import atexit
    import logging

    import asyncpg.transaction
    from redis.asyncio.connection import Connection

    sql: Counter[str] = Counter()
    redis_cmds: Counter[str] = Counter()
    totals: Counter[str] = Counter()

    class SqlCounter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            args = record.args
            text = str(args[0]) if isinstance(args, tuple) and args else str(record.msg)
            if text.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE", "WITH")):
                totals["sql"] += 1
                sql[" ".join(text.split())[:150]] += 1

    def attach_sql() -> None:
        logger = logging.getLogger("tortoise.db_client")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        if not any(isinstance(h, SqlCounter) for h in logger.handlers):
            logger.addHandler(SqlCounter())

    import bff.cli

    configure = bff.cli.configure_logging

    def configure_then_count(name: str, level: int = logging.INFO) -> None:
        configure(name, level)
        attach_sql()

    bff.cli.configure_logging = configure_then_count  # type: ignore[assignment]
    attach_sql()

    start = asyncpg.transaction.Transaction.start

    async def counted_start(self: Any) -> None:
        totals["sql_transactions"] += 1
        await start(self)

    asyncpg.transaction.Transaction.start = counted_start  # type: ignore[method-assign]

    send_packed = Connection.send_packed_command
    pack = Connection.pack_command

    async def counted_send(self: Any, command: Any, check_health: bool = True) -> None:
        totals["redis_round_trips"] += 1
        await send_packed(self, command, check_health)

    def counted_pack(self: Any, *args: Any) -> Any:
        name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
        redis_cmds[name.upper()] += 1
        totals["redis_commands"] += 1
        return pack(self, *args)

    Connection.send_packed_command = counted_send  # type: ignore[method-assign]
    Connection.pack_command = counted_pack  # type: ignore[method-assign]

    def dump() -> None:
        out.write_text(json.dumps({"totals": totals, "sql": sql, "redis": redis_cmds}))

    atexit.register(dump)


def child_project(count_to: str | None) -> None:
    """``bff worker`` itself, optionally with the counters (or a cProfile, BENCH_PROFILE=<file>)."""
    if count_to:
        _install_counters(Path(count_to))
    from bff.cli import main

    # Levers measured without editing tasks/worker.py (--worker-max-jobs, --worker-poll-delay).
    from tasks.worker import WorkerSettings

    if os.environ.get("BENCH_MAX_JOBS"):
        WorkerSettings.max_jobs = int(os.environ["BENCH_MAX_JOBS"])
    if os.environ.get("BENCH_POLL_DELAY"):
        WorkerSettings.poll_delay = float(os.environ["BENCH_POLL_DELAY"])  # type: ignore[attr-defined]

    profile_to = os.environ.get("BENCH_PROFILE")
    if not profile_to:
        main(["worker"])
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        main(["worker"])
    finally:
        profiler.disable()
        profiler.dump_stats(profile_to)


def child_anchor(count_to: str | None, max_jobs: int) -> None:
    """The anchor: a bare arq worker whose job does one httpx POST to the sandbox's send URL."""
    if count_to:
        _install_counters(Path(count_to))
    import httpx
    from arq.connections import RedisSettings
    from arq.worker import Worker, func

    api_base = os.environ["WECHAT_API_BASE"]
    appid = os.environ["WECHAT_APPID"]
    secret = os.environ["WECHAT_SECRET"]
    # The body the project's sender writes for this template and values (computed by the parent).
    shape = json.loads(os.environ["BENCH_SEND_BODY"])

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["http"] = httpx.AsyncClient(timeout=10)
        answer = await ctx["http"].post(
            f"{api_base}/cgi-bin/stable_token",
            json={"grant_type": "client_credential", "appid": appid, "secret": secret},
        )
        ctx["token"] = answer.json()["access_token"]
        print("anchor ready", flush=True)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await ctx["http"].aclose()

    async def post(ctx: dict[str, Any], openid: str) -> None:
        body = {**shape, "touser": openid}
        response = await ctx["http"].post(
            f"{api_base}/cgi-bin/message/subscribe/send",
            params={"access_token": ctx["token"]},
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        response.raise_for_status()

    worker = Worker(
        functions=[func(post, name="post", keep_result=0)],
        on_startup=startup,
        on_shutdown=shutdown,
        redis_settings=RedisSettings.from_dsn(os.environ["REDIS_URL"]),
        max_jobs=max_jobs,
        handle_signals=True,
    )
    worker.run()


# ------------------------------------------------------------------------------ the bench


class Bench:
    def __init__(self, args: argparse.Namespace, database_url: str, redis_url: str) -> None:
        self.args = args
        self.database_url = database_url
        self.redis_url = redis_url
        self.port = free_port()
        self.api_base = f"http://127.0.0.1:{self.port}"
        self.logs = Path(tempfile.mkdtemp(prefix="lvyue-bench-sender-"))
        self.openids: list[str] = []
        self.user_ids: list[int] = []
        self.batch = 0
        from wxsandbox import defaults

        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "LVYUE_ENV": os.environ.get("LVYUE_ENV", "test"),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "WECHAT_API_BASE": self.api_base,
            "WECHAT_APPID": defaults.APPID,
            "WECHAT_SECRET": defaults.SECRET,
            "SESSION_SECRET": "bench-session-secret-0123456789abcdef",
            "SANDBOX_SEND_LATENCY_MS": "0",
        }
        self.env.pop("SANDBOX_PUSH_URL", None)
        self.env["BENCH_SEND_BODY"] = json.dumps(send_body(), ensure_ascii=False)
        if args.worker_max_jobs:
            self.env["BENCH_MAX_JOBS"] = str(args.worker_max_jobs)
        if args.worker_poll_delay:
            self.env["BENCH_POLL_DELAY"] = str(args.worker_poll_delay)

    # -- setup ------------------------------------------------------------------------------------

    async def recreate_database(self) -> None:
        import asyncpg

        parts = urlsplit(self.database_url)
        name = parts.path.strip("/")
        admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query=""))
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def seed(self, sandbox: Any, users: int, units: int) -> None:
        from tortoise import Tortoise

        from bff.consent.ledger import utcnow
        from bff.models import ConsentLedger, User
        from bff.models.consent import WeChatStatus

        self.openids = [f"oBENCHSEND{n:06d}_000000000000000" for n in range(users)]
        await User.bulk_create([User(openid=o) for o in self.openids], batch_size=1000)
        by_openid = dict(await User.filter(openid__startswith="oBENCHSEND").values_list("openid", "id"))
        self.user_ids = [int(by_openid[o]) for o in self.openids]
        now = utcnow()
        await ConsentLedger.bulk_create(
            [
                ConsentLedger(
                    user_id=uid,
                    template_id=TEMPLATE_ID,
                    granted=units,
                    wechat_status=WeChatStatus.ACCEPT,
                    last_credit_at=now,
                    updated_at=now,
                )
                for uid in self.user_ids
            ],
            batch_size=1000,
        )

        # Each user's order, SHIPPED with its outbound node: the withdrawal check before a send reads
        # the order and its nodes, receipt, slot offer and exceptions, as for a real order notice.
        conn = Tortoise.get_connection("default")
        await conn.execute_query(
            "INSERT INTO orders (order_no, user_id, status, placed_at, total_amount, region, warehouse, "
            "presale, created_at, updated_at) "
            "SELECT 'SOB' || lpad(u.id::text, 9, '0'), u.id, 'SHIPPED', now() - interval '2 days', 129.00, "
            "'浙江省杭州市', '杭州仓', false, now(), now() FROM users u WHERE u.openid LIKE 'oBENCHSEND%'"
        )
        await conn.execute_query(
            "INSERT INTO order_node_events (order_id, node, occurred_at, location, note) "
            "SELECT o.id, n.node, now() - interval '1 day', '杭州仓', '' FROM orders o "
            "CROSS JOIN (VALUES ('QC_PASSED'), ('OUTBOUND')) AS n(node)"
        )

        async def wechat_side(openid: str) -> None:
            assert (await sandbox.post("/sandbox/login-code", json={"openid": openid})).status_code == 200
            for _ in range(units):
                body = {"openid": openid, "answers": {TEMPLATE_ID: "accept"}, "push": False}
                assert (await sandbox.post("/sandbox/subscribe", json=body)).status_code == 200

        for start in range(0, users, 50):
            await asyncio.gather(*(wechat_side(o) for o in self.openids[start : start + 50]))

    # -- measuring ---------------------------------------------------------------------------------

    async def inbox(self, sandbox: Any) -> int:
        return int((await sandbox.get("/sandbox/stats")).json()["inbox"])

    async def wait_ready(self, logs: list[Path], marker: str, procs: list[subprocess.Popen[bytes]]) -> None:
        deadline = time.monotonic() + 60
        while True:
            for proc, log in zip(procs, logs, strict=True):
                if proc.poll() is not None:
                    raise RuntimeError(f"{log} ended early:\n{log.read_text()[-3000:]}")
            if all(marker in log.read_text(errors="replace") for log in logs):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers not ready: {logs}")
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)  # the startup cron jobs (heartbeat, sweep, dispatchers) run first

    async def run_batch(
        self, kind: str, workers: int, n: int, arq: Any, sandbox: Any, count: bool, wrapped: bool = False
    ) -> dict[str, Any]:
        """Start ``workers`` processes of ``kind``, send ``n``, stop them; the figures."""
        from bff.catalog.nodes import node_rank
        from bff.models import Notice, NoticeStatus
        from bff.notices.jobs import enqueue_send

        self.batch += 1
        batch = self.batch
        me = [sys.executable, str(BENCH_FILE)]
        procs_args = []
        counts = []
        for i in range(workers):
            count_file = self.logs / f"count-{batch}-{i}.json"
            if kind == "anchor":
                counting = ["--count-to", str(count_file)] if count else []
                procs_args.append(
                    [*me, "--child", "anchor", "--max-jobs", str(self.args.max_jobs), *counting]
                )
            elif count:
                procs_args.append([*me, "--child", "project", "--count-to", str(count_file)])
            elif wrapped or self.args.worker_max_jobs or self.args.worker_poll_delay:
                procs_args.append([*me, "--child", "project"])
            else:
                procs_args.append([sys.executable, "-m", "bff.cli", "worker"])
            counts.append(count_file)
        logs = [self.logs / f"{kind}-{batch}-{i}.log" for i in range(workers)]
        marker = "anchor ready" if kind == "anchor" else "started (appid"
        openids = self.openids[:n]
        with contextlib_exit_stack() as stack:
            procs = [
                stack.enter_context(process(a, self.env, log))
                for a, log in zip(procs_args, logs, strict=True)
            ]
            await self.wait_ready(logs, marker, procs)
            if kind != "anchor":
                now = datetime.now(UTC)
                await Notice.bulk_create(
                    [
                        Notice(
                            user_id=uid,
                            order_no=f"SOB{uid:09d}",
                            topic="NODE_OUTBOUND",
                            template_id=TEMPLATE_ID,
                            dedupe_key=f"bench:{batch}:{uid}",
                            priority=50,
                            node_rank=node_rank("OUTBOUND"),
                            status=NoticeStatus.QUEUED,
                            values={**VALUES, "order_no": f"SOB{uid:09d}"},
                            occurred_at=now,
                            expires_at=now + timedelta(days=1),
                        )
                        for uid in self.user_ids[:n]
                    ],
                    batch_size=1000,
                )
                ids = [
                    int(i)
                    for i in await Notice.filter(dedupe_key__startswith=f"bench:{batch}:").values_list(
                        "id", flat=True
                    )
                ]
            base = await self.inbox(sandbox)
            cpu0 = [cpu_seconds(p.pid) for p in procs]
            started = time.perf_counter()
            if kind == "anchor":
                for openid in openids:
                    await arq.enqueue_job("post", openid)
            else:
                for notice_id in ids:
                    await enqueue_send(arq, notice_id)
            enqueued = time.perf_counter() - started
            deadline = started + 600
            while await self.inbox(sandbox) < base + n:
                if time.perf_counter() > deadline:
                    raise RuntimeError(f"{kind}: only {await self.inbox(sandbox) - base} of {n} delivered")
                await asyncio.sleep(0.02)
            elapsed = time.perf_counter() - started
            cpu = sum(cpu_seconds(p.pid) for p in procs) - sum(cpu0)
            if kind != "anchor":
                sent = await Notice.filter(id__in=ids, status=NoticeStatus.SENT).count()
                for _ in range(100):
                    if sent == n:
                        break
                    await asyncio.sleep(0.05)
                    sent = await Notice.filter(id__in=ids, status=NoticeStatus.SENT).count()
                if sent != n:
                    raise RuntimeError(f"{kind}: {sent} of {n} notices SENT")
        figures: dict[str, Any] = {
            "rate": n / elapsed,
            "seconds": elapsed,
            "enqueue_s": enqueued,
            "cpu_ms_per_send": cpu * 1000 / n,
        }
        if count:
            merged: dict[str, Counter[str]] = {"totals": Counter(), "sql": Counter(), "redis": Counter()}
            for path in counts:
                data = json.loads(path.read_text())
                for key in merged:
                    merged[key].update(data[key])
            figures["counts"] = merged
        return figures

    async def run(self) -> None:
        import httpx
        from tortoise import Tortoise

        from bff.runtime.db import tortoise_config
        from bff.runtime.redis import create_arq_pool

        args = self.args
        name = urlsplit(self.database_url).path.strip("/")
        print(f"database: {name} (recreated), redis {self.redis_url} (flushed)")
        await self.recreate_database()
        await Tortoise.init(config=tortoise_config(self.database_url), _enable_global_fallback=True)
        await Tortoise.generate_schemas()
        arq = await create_arq_pool(self.redis_url)
        await arq.flushdb()
        batches_per_user = args.rounds * 3 + 2
        try:
            with process(
                [sys.executable, "-m", "wxsandbox", "--host", "127.0.0.1", "--port", str(self.port)],
                self.env,
                self.logs / "sandbox.log",
            ):
                async with httpx.AsyncClient(base_url=self.api_base, timeout=30) as sandbox:
                    for _ in range(200):
                        try:
                            if (await sandbox.get("/sandbox/stats")).status_code == 200:
                                break
                        except httpx.TransportError:
                            await asyncio.sleep(0.1)
                    seeded = time.perf_counter()
                    await self.seed(sandbox, args.notices, batches_per_user)
                    print(
                        f"seeded {args.notices} users with {batches_per_user} units each "
                        f"in {time.perf_counter() - seeded:.1f} s; logs in {self.logs}"
                    )
                    if args.profile:
                        await self.profile(arq, sandbox)
                    else:
                        await self.measure(arq, sandbox)
        finally:
            await arq.flushdb()
            await arq.aclose()
            await Tortoise.close_connections()

    async def profile(self, arq: Any, sandbox: Any) -> None:
        """One bff worker under cProfile (``--profile FILE``): where its CPU per send goes."""
        import pstats

        self.env["BENCH_PROFILE"] = self.args.profile
        try:
            figures = await self.run_batch(
                "project", 1, self.args.notices, arq, sandbox, count=False, wrapped=True
            )
        finally:
            del self.env["BENCH_PROFILE"]
        print(f"profiled: {figures['rate']:.1f} /s, {figures['cpu_ms_per_send']:.2f} ms CPU per send")
        pstats.Stats(self.args.profile).sort_stats("cumulative").print_stats(60)

    async def measure(self, arq: Any, sandbox: Any) -> None:
        args = self.args
        n = args.notices
        results: dict[str, list[dict[str, Any]]] = {"anchor": [], "one": [], "two": []}
        for r in range(args.rounds):
            for label, kind, workers in (
                ("anchor", "anchor", 1),
                ("one", "project", 1),
                ("two", "project", 2),
            ):
                figures = await self.run_batch(kind, workers, n, arq, sandbox, count=False)
                results[label].append(figures)
                print(
                    f"round {r + 1} {label:>6}: {figures['rate']:7.1f} /s  "
                    f"({n} in {figures['seconds']:.2f} s, enqueue {figures['enqueue_s']:.2f} s), "
                    f"worker CPU {figures['cpu_ms_per_send']:.2f} ms per send",
                    flush=True,
                )
        med = {k: median(f["rate"] for f in v) for k, v in results.items()}
        cpu = {k: median(f["cpu_ms_per_send"] for f in v) for k, v in results.items()}
        per_round_ab = [o["rate"] / a["rate"] for a, o in zip(results["anchor"], results["one"], strict=True)]
        per_round_cb = [t["rate"] / o["rate"] for o, t in zip(results["one"], results["two"], strict=True)]
        print()
        print(
            f"anchor (bare arq job, one httpx POST): {med['anchor']:.1f} jobs/s, "
            f"{cpu['anchor']:.2f} ms CPU per job"
        )
        print(f"bff worker x1: {med['one']:.1f} notices/s, {cpu['one']:.2f} ms CPU per send")
        print(f"bff worker x2: {med['two']:.1f} notices/s, {cpu['two']:.2f} ms CPU per send (both processes)")
        print(
            f"ratio one worker / anchor (b/a): {median(per_round_ab):.2f} "
            f"(rounds {', '.join(f'{x:.2f}' for x in per_round_ab)}); goal >= 0.60"
        )
        print(
            f"ratio two workers / one (c/b): {median(per_round_cb):.2f} "
            f"(rounds {', '.join(f'{x:.2f}' for x in per_round_cb)}); goal ~2"
        )
        print(f"CPU per send, worker / anchor: {cpu['one'] / cpu['anchor']:.2f}")

        m = args.count
        print(f"\nround trips per send (counting pass, {m} sends each, counters on so not timed):")
        for label, kind in (("anchor", "anchor"), ("bff worker", "project")):
            figures = await self.run_batch(kind, 1, m, arq, sandbox, count=True)
            totals = figures["counts"]["totals"]
            print(
                f"  {label}: SQL statements {totals['sql'] / m:.2f}, SQL transactions "
                f"{totals['sql_transactions'] / m:.2f}, "
                f"Redis round trips {totals['redis_round_trips'] / m:.2f}, "
                f"Redis commands {totals['redis_commands'] / m:.2f}"
            )
            if args.verbose or kind == "project":
                for text, k in figures["counts"]["sql"].most_common():
                    if k >= m // 2:
                        print(f"    sql {k / m:5.2f}  {text}")
                print(
                    "    redis "
                    + ", ".join(
                        f"{name} {k / m:.2f}"
                        for name, k in figures["counts"]["redis"].most_common()
                        if k >= m // 10
                    )
                )


@contextmanager
def contextlib_exit_stack() -> Iterator[Any]:
    import contextlib

    with contextlib.ExitStack() as stack:
        yield stack


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--notices", type=int, default=600, help="sends per measurement (one per user)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="interleaved rounds of anchor, 1 worker, 2 workers"
    )
    parser.add_argument("--count", type=int, default=200, help="sends of the counting pass")
    parser.add_argument(
        "--max-jobs", type=int, default=20, help="the anchor worker's max_jobs (bff worker's own)"
    )
    parser.add_argument("--worker-max-jobs", type=int, help="bff worker's max_jobs for this run (a lever)")
    parser.add_argument("--worker-poll-delay", type=float, help="bff worker's arq poll_delay (a lever)")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--profile", help="instead: profile one bff worker (cProfile) into this file")
    parser.add_argument("--child", choices=("anchor", "project"), help=argparse.SUPPRESS)
    parser.add_argument("--count-to", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "anchor":
        child_anchor(args.count_to, args.max_jobs)
        return 0
    if args.child == "project":
        child_project(args.count_to)
        return 0
    try:
        database_url = check_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        redis_url = check_redis_url(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)
        if args.count > args.notices:
            raise Refused("--count must not exceed --notices")
        asyncio.run(Bench(args, database_url, redis_url).run())
    except Refused as exc:
        print(f"bench/sender.py: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
