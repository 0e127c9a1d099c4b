"""Connecting to Redis: a wrong REDIS_URL stops a process at once, in one line."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def dead_port() -> int:
    """A port nothing listens on (bound for a moment, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "command",
    [
        ["web", "--host", "127.0.0.1", "--port", "0"],
        ["worker"],
        ["dev", "--port", "0", "--sandbox-port", "0"],
    ],
    ids=["web", "worker", "dev"],
)
def test_a_redis_url_with_nothing_listening_stops_the_process_in_one_line(
    command: list[str], settings: object, tmp_path: Path
) -> None:
    # given a REDIS_URL whose port has no server (the database is the suite's and answers)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LVYUE_ENV": "development",
        "LVYUE_DATA_DIR": str(tmp_path / "data"),
        "REDIS_URL": f"redis://127.0.0.1:{dead_port()}/0",
    }

    # when the process starts (it used to wait at "Waiting for application startup" for 45 s)
    result = subprocess.run(
        [sys.executable, "-m", "bff.cli", *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=20,
    )

    # then it stops with status 2 and one line naming REDIS_URL, no traceback
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bff: configuration error: REDIS_URL: cannot connect"), lines[0]
