"""`bff dev` with LOG_FORMAT=json: its own lines (a child exited, stopped) and its children's are
one JSON object each, so a log collector reading the supervisor's output reads every line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.test_ports import ROOT, bff, free_port

pytestmark = pytest.mark.slow


def test_bff_dev_and_its_children_log_json_and_say_so_when_a_child_exits(
    redis_url: str, tmp_path: Path
) -> None:
    # given `bff dev` started with LOG_FORMAT=json on a migrated database
    web_port, sandbox_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"WECHAT_API_BASE", "SANDBOX_PUSH_URL"}},
        "LVYUE_ENV": "development",
        "DATABASE_URL": f"sqlite://{tmp_path}/dev.sqlite3",
        "REDIS_URL": redis_url,
        "LVYUE_DATA_DIR": str(tmp_path / "data"),
        "PORT": str(web_port),
        "SANDBOX_PORT": str(sandbox_port),
        "PYTHONPATH": str(ROOT),
        "LOG_FORMAT": "json",
    }
    assert bff("migrate", env=env, cwd=tmp_path).returncode == 0
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        dev = subprocess.Popen(
            [sys.executable, "-m", "bff.cli", "dev"],
            env=env,
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{web_port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert dev.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)

        # when its worker dies (killed by its pid, which the worker's own JSON lines carry)
        entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        worker_pid = next(e["pid"] for e in entries if e["process"] == "worker")
        os.kill(int(worker_pid), signal.SIGKILL)
        code = dev.wait(timeout=60)
    finally:
        if dev.poll() is None:
            dev.kill()
            dev.wait()

    # then every line of the run is a JSON object
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    entries = []
    for line in lines:
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON log line: {line!r}") from None
    assert {e["process"] for e in entries} == {"dev", "web", "worker", "sandbox"}
    # and the supervisor says, in that format, which child exited and that it stopped
    dev_messages = [e["message"] for e in entries if e["process"] == "dev"]
    assert "worker exited with status -9; stopping the others" in dev_messages
    assert dev_messages[-1] == "stopped"
    assert code != 0
    # and its start line carries the addresses as fields
    starting = next(
        e for e in entries if e["process"] == "dev" and str(e["message"]).startswith("Lvyue is starting")
    )
    assert starting["graphiql"] == f"http://127.0.0.1:{web_port}/graphql"
