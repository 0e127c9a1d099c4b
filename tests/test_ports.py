"""PORT and SANDBOX_PORT move `make run` (`bff dev`) and everything that talks to it.

The end-to-end test runs `bff dev` on two free ports and logs in the way the README tells a
newcomer to: a login code from the sandbox, then `login(code)` on the web process.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bff.runtime.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]
LOGIN = (
    "mutation Login($code: String!) { login(code: $code) { token viewer { openid } userErrors { code } } }"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bff(*args: str, env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bff.cli", *args],
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_outside_production_wechat_is_the_sandbox_on_sandbox_port() -> None:
    # when a command runs beside `SANDBOX_PORT=9399 make run` (scripts/send_message.py, check-templates)
    settings = load_settings({"LVYUE_ENV": "development", "SANDBOX_PORT": "9399"})

    # then it finds the sandbox there
    assert settings.wechat_api_base == "http://127.0.0.1:9399"


def test_wechat_api_base_still_wins_over_sandbox_port() -> None:
    # when
    settings = load_settings(
        {"LVYUE_ENV": "development", "SANDBOX_PORT": "9399", "WECHAT_API_BASE": "http://wx"}
    )

    # then
    assert settings.wechat_api_base == "http://wx"


@pytest.mark.parametrize("value", ["abc", "0", "70000", "80 01"])
def test_a_malformed_sandbox_port_names_the_variable(value: str) -> None:
    # when / then
    with pytest.raises(SettingsError) as raised:
        load_settings({"LVYUE_ENV": "development", "SANDBOX_PORT": value})
    assert raised.value.variable == "SANDBOX_PORT"
    assert "must be a port number from 1 to 65535" in str(raised.value)


@pytest.mark.parametrize("variable", ["PORT", "SANDBOX_PORT"])
def test_bff_stops_with_one_line_on_a_malformed_port(variable: str, tmp_path: Path) -> None:
    # given
    env = {**os.environ, "LVYUE_ENV": "development", variable: "eighty"}

    # when
    result = bff("dev", env=env, cwd=tmp_path)

    # then
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"bff: configuration error: {variable}: must be a port number from 1 to 65535, got 'eighty'"
    ]


def test_the_replay_script_posts_to_the_web_process_on_port(tmp_path: Path) -> None:
    # given nothing listening on PORT
    port = free_port()

    # when the replay script runs without --url
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "replay_events.py"), "--delay", "0"],
        env={**os.environ, "PORT": str(port)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # then it tried `make run`'s web process on that port
    assert result.returncode == 1
    assert f"cannot reach http://127.0.0.1:{port}/hooks/supply-chain" in result.stderr


@pytest.mark.slow
def test_bff_dev_serves_on_port_and_sandbox_port_and_a_newcomer_can_log_in(
    redis_url: str, tmp_path: Path
) -> None:
    # given a migrated database and two free ports
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
    }
    migrated = bff("migrate", env=env, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr

    # when `bff dev` starts with only PORT and SANDBOX_PORT set
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
        web, sandbox = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{sandbox_port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if (
                    httpx.get(f"{web}/readyz", timeout=1).status_code == 200
                    and httpx.get(f"{sandbox}/sandbox/stats", timeout=1).status_code == 200
                ):
                    break
            except httpx.TransportError:
                pass
            assert dev.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)

        # then the web process logs in through the sandbox on SANDBOX_PORT: a code from the
        # sandbox's control path, then login(code) as the mini-program does
        code = httpx.post(
            f"{sandbox}/sandbox/login-code", json={"openid": "oPORTS_newcomer_000000001"}
        ).json()
        answer = httpx.post(
            f"{web}/graphql", json={"query": LOGIN, "variables": {"code": code["code"]}}, timeout=10
        ).json()
        login = answer["data"]["login"]
        assert login["userErrors"] == []
        assert login["viewer"] == {"openid": "oPORTS_newcomer_000000001"}

        # and the printed URLs are the ones in use
        printed = log.read_text()
        assert f"{web}/graphql" in printed
        assert f"{sandbox}/sandbox/inbox/page" in printed
    finally:
        dev.send_signal(signal.SIGINT)
        try:
            dev.wait(timeout=30)
        except subprocess.TimeoutExpired:
            dev.kill()
            dev.wait()
    # (in the one log format, as the children's lines)
    assert " INFO dev[" in log.read_text() and "lvyue.dev: stopped" in log.read_text()
