"""The Procfile's processes, for real: two web and two worker processes on one database and Redis."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from tortoise.context import TortoiseContext

from bff.models import WorkerHeartbeat
from bff.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# bff.runtime.logs' one format: UTC time, level, process name and pid, logger.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ (?P<process>[a-z]+)\[\d+\] [\w.]+: ")
OPENID = "oUSER_secret_openid_000042"


def log_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if line.strip()]


def processes_named(log: Path) -> set[str]:
    """The process names of a log's lines; fails on a line in another format."""
    names = set()
    for line in log_lines(log):
        match = LOG_LINE.match(line)
        assert match, f"not in the one log format: {line!r}"
        names.add(match["process"])
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def spawn(settings: Settings) -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def start(
    processes: list[subprocess.Popen[bytes]], *args: str, log: Path, **env_vars: str
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env_vars}
    process = subprocess.Popen(
        [sys.executable, "-m", "bff.cli", *args],
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    processes.append(process)
    return process


async def wait_until(predicate: Callable[[], Awaitable[bool]], within_s: float = 30.0) -> None:
    try:
        async with asyncio.timeout(within_s):
            while True:
                if await predicate():
                    return
                await asyncio.sleep(0.2)  # polling other processes: there is no event to wait on
    except TimeoutError:
        raise AssertionError("condition not met in time") from None


async def test_two_web_and_two_worker_processes_share_one_database_and_redis(
    db: TortoiseContext, spawn: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    # given two web processes and two workers, as the Procfile would run them
    ports = [free_port(), free_port()]
    webs = [
        start(spawn, "web", "--host", "127.0.0.1", "--port", str(p), log=tmp_path / f"web{p}.log")
        for p in ports
    ]
    workers = [start(spawn, "worker", log=tmp_path / f"worker{i}.log") for i in range(2)]

    # when they have started
    async with httpx.AsyncClient(timeout=2.0) as http:

        async def all_ready() -> bool:
            try:
                answers = [await http.get(f"http://127.0.0.1:{p}/readyz") for p in ports]
            except httpx.TransportError:
                return False
            return all(a.status_code == 200 for a in answers)

        await wait_until(all_ready)

        # then both web processes answer GraphQL
        for port in ports:
            answer = await http.post(f"http://127.0.0.1:{port}/graphql", json={"query": "{ __typename }"})
            assert answer.json() == {"data": {"__typename": "Query"}}

    # and the heartbeat job ran (run at startup by whichever worker took it)
    async def beat_recorded() -> bool:
        return await WorkerHeartbeat.exists()

    await wait_until(beat_recorded)

    # and every web process's /metrics shows the heartbeat run by a worker process
    async with httpx.AsyncClient(timeout=2.0) as http:
        for port in ports:
            scraped = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            assert 'lvyue_jobs_total{job="heartbeat",outcome="success"}' in scraped, scraped

    # and a WeChat push URL carrying an openid is logged with the openid masked
    async with httpx.AsyncClient(timeout=2.0) as http:
        await http.get(
            f"http://127.0.0.1:{ports[0]}/wechat/push?signature=x&timestamp=1&nonce=2&openid={OPENID}"
        )

    # when the workers get SIGTERM (a deploy), they exit cleanly
    for process in workers:
        process.send_signal(signal.SIGTERM)
    codes = [process.wait(timeout=20) for process in workers]
    assert codes == [0, 0], [(tmp_path / f"worker{i}.log").read_text() for i in range(2)]
    for log in await asyncio.to_thread(lambda: list(tmp_path.glob("*.log"))):
        assert "Traceback" not in log.read_text(), log.read_text()
    assert all(web.poll() is None for web in webs)

    # and every line of every process is in the one format, naming the process
    assert all(processes_named(tmp_path / f"web{p}.log") == {"web"} for p in ports)
    assert all(processes_named(tmp_path / f"worker{i}.log") == {"worker"} for i in range(2))
    web_log = (tmp_path / f"web{ports[0]}.log").read_text()
    # and the push URL's query (signature, nonce, openid) never reaches the access log
    assert '"GET /wechat/push HTTP/1.1"' in web_log
    assert "signature=" not in web_log and "openid=" not in web_log
    assert OPENID not in web_log


def test_the_sandbox_logs_in_the_same_format(spawn: list[subprocess.Popen[bytes]], tmp_path: Path) -> None:
    # given the sandbox as `bff dev` runs it
    port = free_port()
    sandbox = start(spawn, "sandbox", "--port", str(port), log=tmp_path / "sandbox.log")

    # when it has served a request and stopped
    answered = False
    for _ in range(100):
        try:
            answered = httpx.get(f"http://127.0.0.1:{port}/sandbox/quota", timeout=1.0).status_code < 500
            break
        except httpx.TransportError:
            time.sleep(0.1)
    sandbox.send_signal(signal.SIGTERM)
    sandbox.wait(timeout=20)

    # then its lines carry its name in the one format
    assert answered
    assert processes_named(tmp_path / "sandbox.log") == {"sandbox"}
    assert any("WeChat API on" in line for line in log_lines(tmp_path / "sandbox.log"))


def json_lines(log: Path) -> list[dict[str, object]]:
    """Every line of a log as a JSON object; fails on a line that is not one."""
    entries = []
    for line in log_lines(log):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
        assert isinstance(entry, dict), line
        entries.append(entry)
    return entries


async def test_with_log_format_json_web_and_worker_write_one_json_object_per_line_without_openids(
    db: TortoiseContext, spawn: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    # given a web process and a worker started with LOG_FORMAT=json
    port = free_port()
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    start(spawn, "web", "--host", "127.0.0.1", "--port", str(port), log=web_log, LOG_FORMAT="json")
    worker = start(spawn, "worker", log=worker_log, LOG_FORMAT="json")
    base = f"http://127.0.0.1:{port}"

    # when they have served requests carrying an openid: WeChat's push URL, and a GraphQL
    # query naming it (the caller's mistake is logged with GraphQL's message, which quotes it)
    async with httpx.AsyncClient(timeout=2.0) as http:

        async def ready() -> bool:
            try:
                return (await http.get(f"{base}/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(ready)
        await http.get(f"{base}/wechat/push?signature=x&timestamp=1&nonce=2&openid={OPENID}")
        answer = await http.post(f"{base}/graphql", json={"query": "{ " + OPENID + " }"})
        assert OPENID in answer.text  # the caller is told what it asked for

    async def beat_recorded() -> bool:
        return await WorkerHeartbeat.exists()

    await wait_until(beat_recorded)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=20) == 0

    # then every line of both is one JSON object with the time, level, process and logger
    web_entries, worker_entries = json_lines(web_log), json_lines(worker_log)
    for entries, process in ((web_entries, "web"), (worker_entries, "worker")):
        assert entries
        for entry in entries:
            assert {"ts", "level", "process", "pid", "logger", "message"} <= set(entry), entry
            assert entry["process"] == process
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", str(entry["ts"])), entry
    # and the web's access lines and GraphQL's error line are among them
    loggers = {entry["logger"] for entry in web_entries}
    assert {"uvicorn.access", "lvyue.graphql"} <= loggers, loggers
    assert any("arq" in str(entry["logger"]) for entry in worker_entries)
    # and the openid never appears in full, only masked
    text = web_log.read_text()
    assert OPENID not in text
    assert "oUSE\u2026(26)" in text or "oUSE…(26)" in text


def test_with_log_format_json_the_sandbox_writes_json_lines(
    spawn: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    # given the sandbox as `bff dev` runs it, with LOG_FORMAT=json
    port = free_port()
    sandbox = start(spawn, "sandbox", "--port", str(port), log=tmp_path / "sandbox.log", LOG_FORMAT="json")
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/sandbox/quota", timeout=1.0)
            break
        except httpx.TransportError:
            time.sleep(0.1)

    # when it stops
    sandbox.send_signal(signal.SIGTERM)
    sandbox.wait(timeout=20)

    # then each of its lines is a JSON object naming it
    entries = json_lines(tmp_path / "sandbox.log")
    assert {entry["process"] for entry in entries} == {"sandbox"}
    assert any("WeChat API on" in str(entry["message"]) for entry in entries)


def test_a_log_format_that_is_not_text_or_json_stops_the_command(tmp_path: Path) -> None:
    # when a command starts with a misspelt LOG_FORMAT
    done = subprocess.run(
        [sys.executable, "-m", "bff.cli", "migrate"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "LOG_FORMAT": "jsonl"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # then it stops with one line naming the variable
    assert done.returncode == 2
    assert done.stderr.strip() == "bff: configuration error: LOG_FORMAT: must be text or json, got 'jsonl'"
