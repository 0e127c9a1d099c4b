"""Benchmark: the mini-program's operations against bare Starlette, in one run, rounds interleaved.

    .venv/bin/python bench/web.py [--seconds 5] [--rounds 3] [--connections 32]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lvyue_bench_web REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/web.py

What it does:
1. makes a fresh database (SQLite under a temp dir, or the PostgreSQL database of DATABASE_URL,
   whose name must contain "bench": it is dropped and created), applies migrations, and loads a
   user with 22 orders through the real ingestion path;
2. starts two servers on free ports, each a uvicorn process with uvloop and httptools and no
   access log: the anchor, a bare Starlette app that parses a JSON POST and answers a small JSON
   object, and `bff web` in production mode;
3. closed loop: for each round, runs `wrk -t1 -cN` for `--seconds` against the anchor and each
   operation in turn (interleaved, so drift hits all alike) and prints requests/s, the share of
   the anchor's rate in the same round, and wrk's latency percentiles;
4. open loop: sends each operation at half of its measured saturation rate for `--seconds` at a
   fixed schedule (requests start on time whether or not earlier ones answered) and prints p50
   and p99 latency measured from the scheduled start, so queueing counts (no coordinated omission).
   The generator is one Python process: past a few thousand requests/s (the anchor's half rate)
   it is itself the bottleneck, so read the anchor's open-loop row as a floor, not a figure.

Needs `wrk` (Debian package `wrk`; `make bench` installs it when missing and it can).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BENCH_OPENID = "oBENCH_web_user_00000000001"
ORDER_COUNT = 22
SESSION_SECRET = secrets.token_hex(32)

ANCHOR_APP = """
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def graphql(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse({"data": {"echo": len(body.get("query", ""))}})


app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
"""

# The mini-program's own documents, by operation name, with the variables this benchmark sends.
OPERATIONS_FILE = ROOT / "schema" / "operations" / "miniprogram.graphql"
MEASURED = {
    "OrderDetail": {"orderNo": "LV-BENCH-0001"},
    "OrderList": {"first": 20},
    "SubscriptionCenter": {},
    "Lifecycle": {},
}


def operation_documents(path: Path) -> dict[str, str]:
    """Each operation of the operations file as a document of its own."""
    from graphql import OperationDefinitionNode, parse, print_ast

    document = parse(path.read_text(encoding="utf-8"))
    return {
        node.name.value: print_ast(node)
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode) and node.name
    }


@dataclass
class Closed:
    rps: float
    p50_ms: float
    p99_ms: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"bench: nothing answered on port {port} within {timeout:.0f} s")


def bench_env(workdir: Path) -> dict[str, str]:
    """Production settings for this run: fresh random secrets, DATABASE_URL / REDIS_URL as given, or
    a SQLite file and a private Redis server under the run's temp dir."""
    from bff.runtime.embedded_redis import start_embedded_redis

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LVYUE_ENV": "production",
        "SESSION_SECRET": SESSION_SECRET,
        "WECHAT_APPID": "wxbench" + secrets.token_hex(6),
        "WECHAT_SECRET": secrets.token_hex(16),
        "WECHAT_PUSH_TOKEN": secrets.token_hex(12),
        "WECHAT_AES_KEY": secrets.token_urlsafe(40).replace("-", "a").replace("_", "b")[:43],
        "SUPPLY_CHAIN_SECRET": secrets.token_hex(24),
        "WECHAT_API_BASE": "http://127.0.0.1:9",  # never called by these read operations
    }
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = f"sqlite://{workdir / 'bench.sqlite3'}"
    if not os.environ.get("REDIS_URL"):
        env["REDIS_URL"], _ = start_embedded_redis(workdir / "redis", persist=False)
    return env


def reset_postgres(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.strip("/")
    if "bench" not in name:
        raise SystemExit(f"bench: database {name!r} would be dropped; use a name containing 'bench'")
    import asyncpg

    async def recreate() -> None:
        admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query=""))
        connection = await asyncpg.connect(admin)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    asyncio.run(recreate())


def prepare_data(env: dict[str, str]) -> str:
    """Migrate, load the bench user's orders through ingestion; return a session token."""
    database_url = env["DATABASE_URL"]
    if urlsplit(database_url).scheme.startswith("postgres"):
        reset_postgres(database_url)
    subprocess.run([sys.executable, "-m", "bff.cli", "migrate"], env=env, check=True, cwd=ROOT)
    os.environ.update({k: v for k, v in env.items() if k not in os.environ or k == "DATABASE_URL"})

    from tortoise import Tortoise

    from bff.inbound.supply_chain import ingest_body
    from bff.models import User
    from bff.runtime.db import tortoise_config
    from bff.sessions import issue_session_token
    from bff.supply_chain import builders as b

    async def load() -> str:
        await Tortoise.init(config=tortoise_config(database_url))
        try:
            now = datetime.now(UTC)
            events: list[b.Event] = []
            for index in range(1, ORDER_COUNT + 1):
                order_no = f"LV-BENCH-{index:04d}"
                placed_at = now - timedelta(days=ORDER_COUNT - index, hours=5)
                events += [
                    b.placed(order_no, BENCH_OPENID, placed_at),
                    b.paid(order_no, placed_at + timedelta(minutes=3)),
                    b.node(order_no, "MATERIAL_IN", placed_at + timedelta(hours=2)),
                    b.node(order_no, "PRODUCTION_STARTED", placed_at + timedelta(hours=3)),
                    b.node(
                        order_no,
                        "QC_PASSED",
                        placed_at + timedelta(hours=4),
                        expected=[("OUTBOUND", now + timedelta(hours=10))],
                    ),
                ]
            for start in range(0, len(events), 50):
                await ingest_body(b.body(*events[start : start + 50]))
            user = await User.get(openid=BENCH_OPENID)
            token, _ = issue_session_token(SESSION_SECRET, user.id)
            return token
        finally:
            await Tortoise.close_connections()

    return asyncio.run(load())


@contextmanager
def server(args: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port)
        yield
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def uvicorn_args(app: str, port: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning", *extra,
    ]  # fmt: skip


def wrk_script(workdir: Path, name: str, body: dict[str, object], token: str | None) -> Path:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body, ensure_ascii=False))}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path = workdir / f"{re.sub(r'[^A-Za-z]+', '_', name)}.lua"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> Closed:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    if "Non-2xx" in out:
        raise SystemExit(f"bench: non-2xx answers from {url}:\n{out}")
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, flags=re.M))
    parsed = {k: _ms(*re.match(r"([\d.]+)(\w+)", v).groups()) for k, v in percentiles.items()}  # type: ignore[union-attr]
    return Closed(rps=rps, p50_ms=parsed["50"], p99_ms=parsed["99"])


class RawClient:
    """HTTP/1.1 keep-alive POSTs of one prebuilt request over plain asyncio streams.

    httpx costs milliseconds of CPU per request, so an httpx load generator on this 2-core machine
    measures itself; this one only writes bytes and reads a Content-Length body.
    """

    def __init__(self, url: str, body: bytes, token: str | None) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        headers = [
            f"POST {parts.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
        ]
        if token:
            headers.append(f"Authorization: Bearer {token}")
        self.request = ("\r\n".join(headers) + "\r\n\r\n").encode() + body
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self) -> None:
        reader, writer = self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)
        writer.write(self.request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        if status != 200:
            raise SystemExit(f"bench: HTTP {status} during the open-loop run")
        self.idle.append((reader, writer))

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def open_loop(
    url: str, body: dict[str, object], token: str | None, rate: float, seconds: int
) -> list[float]:
    """Latencies (ms) of requests started on a fixed schedule of `rate` per second."""
    client = RawClient(url, json.dumps(body).encode(), token)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    latencies: list[float] = []

    async def one(index: int) -> None:
        scheduled = start + index / rate
        await asyncio.sleep(max(0.0, scheduled - loop.time()))
        await client.post()
        latencies.append((loop.time() - scheduled) * 1000)

    try:
        await asyncio.gather(*(one(i) for i in range(max(1, int(rate * seconds)))))
    finally:
        client.close()
    return latencies


def check_answers(targets: dict[str, tuple[str, Path, dict[str, object]]], token: str) -> None:
    """One request per operation first: a benchmark of error answers would measure nothing."""
    import httpx

    for name, (url, _, body) in targets.items():
        headers = {"Authorization": f"Bearer {token}"} if "operationName" in body else {}
        answer = httpx.post(url, json=body, headers=headers, timeout=30).json()
        if answer.get("errors") or not answer.get("data"):
            raise SystemExit(f"bench: {name} did not answer with data: {json.dumps(answer)[:500]}")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def print_closed_loop(
    results: dict[str, list[Closed]], ratios: dict[str, list[float]], args: argparse.Namespace
) -> None:
    print(f"\nclosed loop: wrk -t1 -c{args.connections}, {args.rounds} rounds of {args.seconds} s, median")
    print(f"{'operation':<28} {'req/s':>9} {'share':>8} {'p50 ms':>8} {'p99 ms':>8}")
    for name, runs in results.items():
        rps = statistics.median(r.rps for r in runs)
        share = statistics.median(ratios[name]) * 100
        p50 = statistics.median(r.p50_ms for r in runs)
        p99 = statistics.median(r.p99_ms for r in runs)
        print(f"{name:<28} {rps:>9.0f} {share:>7.2f}% {p50:>8.1f} {p99:>8.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--operations", type=Path, default=OPERATIONS_FILE, help="the mini-program's documents"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("bench/web.py: wrk is missing (apt-get install wrk, or `make bench`)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="lvyue-bench-web-") as tmp:
        workdir = Path(tmp)
        env = bench_env(workdir)
        try:
            return measure(args, workdir, env)
        finally:
            if not os.environ.get("REDIS_URL"):
                from bff.runtime.embedded_redis import stop_embedded_redis

                stop_embedded_redis(workdir / "redis")


def measure(args: argparse.Namespace, workdir: Path, env: dict[str, str]) -> int:
    print(
        f"preparing: {ORDER_COUNT} orders for one user on {urlsplit(env['DATABASE_URL']).scheme}",
        flush=True,
    )
    token = prepare_data(env)
    (workdir / "anchor_app.py").write_text(ANCHOR_APP, encoding="utf-8")
    anchor_port, web_port = free_port(), free_port()
    anchor = uvicorn_args("anchor_app:app", anchor_port, "--app-dir", str(workdir))
    web = uvicorn_args("bff.web.app:create_app", web_port, "--factory")
    targets: dict[str, tuple[str, Path, dict[str, object]]] = {}
    anchor_body: dict[str, object] = {"query": "{ echo }", "variables": {}}
    targets["bare Starlette JSON POST"] = (
        f"http://127.0.0.1:{anchor_port}/graphql",
        wrk_script(workdir, "anchor", anchor_body, None),
        anchor_body,
    )
    documents = operation_documents(args.operations)
    for name, variables in MEASURED.items():
        body = {"query": documents[name], "variables": variables, "operationName": name}
        targets[name] = (
            f"http://127.0.0.1:{web_port}/graphql",
            wrk_script(workdir, name, body, token),
            body,
        )

    with (
        server(anchor, env, anchor_port, workdir / "anchor.log"),
        server(web, env, web_port, workdir / "web.log"),
    ):
        check_answers(targets, token)
        results: dict[str, list[Closed]] = {name: [] for name in targets}
        ratios: dict[str, list[float]] = {name: [] for name in targets}
        for round_no in range(1, args.rounds + 1):
            print(f"round {round_no}/{args.rounds}", flush=True)
            anchor_rps = 0.0
            for name, (url, script, _) in targets.items():
                result = run_wrk(url, script, args.seconds, args.connections)
                results[name].append(result)
                anchor_rps = anchor_rps or result.rps
                ratios[name].append(result.rps / anchor_rps)

        print_closed_loop(results, ratios, args)
        print(f"\nopen loop at half of the saturation rate, {args.seconds:g} s each")
        print(f"{'operation':<28} {'rate/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
        for name, (url, _, body) in targets.items():
            rate = statistics.median(r.rps for r in results[name]) / 2
            if rate < 1:
                print(f"{name:<28} {'-':>9} (saturation below 2 req/s)")
                continue
            authorization = token if "operationName" in body else None
            latencies = asyncio.run(open_loop(url, body, authorization, rate, args.seconds))
            p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
            print(f"{name:<28} {rate:>9.0f} {p50:>8.1f} {p99:>8.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
