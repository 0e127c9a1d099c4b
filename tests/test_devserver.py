"""`bff dev` (what `make run` runs) and `bff web` on the embedded defaults, as real processes.

Each test is its own checkout: a fresh working directory with its own data directory, so the
embedded Redis server, the session secret and the sandbox's memory are the test's alone.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bff.runtime.embedded_redis import embedded_redis_running

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 45.0

pytestmark = pytest.mark.slow

LOGIN = "mutation($code: String!) { login(code: $code) { token userErrors { code } } }"
VIEWER = "{ viewer { openid } }"
OPENID = "oDEV_restart_user_0000000001"
PROGRESS = "tmpl-order-progress-0001"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Checkout:
    """A working directory with its own data/ and SQLite database, where `bff` commands run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.env = {
            k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SESSION_SECRET"}
        }
        self.env.update(
            {"LVYUE_ENV": "development", "PYTHONPATH": str(ROOT), "LVYUE_DATA_DIR": str(self.data_dir)}
        )
        self.env.update({"DATABASE_URL": f"sqlite://{root}/data/bff.sqlite3"})
        self.processes: list[subprocess.Popen[bytes]] = []

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bff.cli", *args],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, log: str) -> subprocess.Popen[bytes]:
        with (self.root / log).open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "bff.cli", *args], env=self.env, cwd=self.root, stdout=out, stderr=out
            )
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.root / name).read_text(errors="replace")[-4000:]


@pytest.fixture
def checkout(tmp_path: Path) -> Iterator[Checkout]:
    made = Checkout(tmp_path)
    migrated = made.run("migrate")
    assert migrated.returncode == 0, migrated.stderr
    yield made
    for process in made.processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
    if embedded_redis_running(made.data_dir):  # a failed test must not leave a server behind
        from bff.runtime.embedded_redis import stop_embedded_redis

        stop_embedded_redis(made.data_dir)


async def ready(port: int, process: subprocess.Popen[bytes], log: str, checkout: Checkout) -> None:
    """Wait until the web process on ``port`` answers /readyz 200."""
    async with httpx.AsyncClient(timeout=2.0) as http:
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT_S
        while asyncio.get_running_loop().time() < deadline:
            assert process.poll() is None, checkout.log(log)
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise AssertionError(f"not ready on {port}: {checkout.log(log)}")


async def readyz(port: int) -> int:
    async with httpx.AsyncClient(timeout=5.0) as http:
        return (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    return process.wait(timeout=30)


async def test_a_second_bff_dev_in_the_same_checkout_leaves_the_first_ones_redis_alone(
    checkout: Checkout,
) -> None:
    # given a first `bff dev`, which starts the checkout's embedded Redis
    web, sandbox = free_port(), free_port()
    first = checkout.start("dev", "--port", str(web), "--sandbox-port", str(sandbox), log="first.log")
    await ready(web, first, "first.log", checkout)
    assert embedded_redis_running(checkout.data_dir)

    # when a second one is started on the same ports
    clash = checkout.run("dev", "--port", str(web), "--sandbox-port", str(sandbox), timeout=30)

    # then it refuses in one line, naming the busy port
    assert clash.returncode == 2, clash.stdout + clash.stderr
    lines = clash.stderr.strip().splitlines()
    assert len(lines) == 1, clash.stderr
    assert f"port 127.0.0.1:{web} is in use" in lines[0]
    # and the first one is still ready: its Redis is up
    assert await readyz(web) == 200

    # when a second one runs on other ports, sharing the checkout's Redis, and is stopped
    other_web, other_sandbox = free_port(), free_port()
    second = checkout.start(
        "dev", "--port", str(other_web), "--sandbox-port", str(other_sandbox), log="second.log"
    )
    await ready(other_web, second, "second.log", checkout)
    assert stop(second) == 0, checkout.log("second.log")

    # then the first one keeps its Redis and stays ready
    assert embedded_redis_running(checkout.data_dir)
    assert await readyz(web) == 200
    assert first.poll() is None, checkout.log("first.log")

    # when the first one, which started the server, stops, then the server stops with it
    assert stop(first) == 0, checkout.log("first.log")
    assert not embedded_redis_running(checkout.data_dir)


async def test_bff_web_alone_stops_the_embedded_redis_it_started(checkout: Checkout) -> None:
    # given `bff web` alone, with no REDIS_URL
    port = free_port()
    web = checkout.start("web", "--host", "127.0.0.1", "--port", str(port), log="web.log")
    await ready(port, web, "web.log", checkout)
    assert embedded_redis_running(checkout.data_dir)

    # when it is stopped, then no redis-server is left behind
    web.send_signal(signal.SIGTERM)
    # uvicorn re-raises SIGTERM once the app has shut down, so the status is the signal's
    assert web.wait(timeout=30) == -signal.SIGTERM, checkout.log("web.log")
    assert "Application shutdown complete" in checkout.log("web.log")
    assert not embedded_redis_running(checkout.data_dir)
    assert not (checkout.data_dir / "redis.pid").exists()


async def test_a_session_and_the_sandbox_quotas_survive_a_restart_of_bff_dev(checkout: Checkout) -> None:
    # given `bff dev`, a user signed in through the sandbox and holding two units of a template
    web, sandbox = free_port(), free_port()
    first = checkout.start("dev", "--port", str(web), "--sandbox-port", str(sandbox), log="first.log")
    await ready(web, first, "first.log", checkout)
    async with httpx.AsyncClient(timeout=10.0) as http:
        code = (
            await http.post(f"http://127.0.0.1:{sandbox}/sandbox/login-code", json={"openid": OPENID})
        ).json()
        login = await http.post(
            f"http://127.0.0.1:{web}/graphql", json={"query": LOGIN, "variables": {"code": code["code"]}}
        )
        token = login.json()["data"]["login"]["token"]
        assert token, login.text
        for _ in range(2):
            answer = {"openid": OPENID, "answers": {PROGRESS: "accept"}, "push": False}
            assert (
                await http.post(f"http://127.0.0.1:{sandbox}/sandbox/subscribe", json=answer)
            ).status_code == 200

    # when `make run` is stopped and started again
    assert stop(first) == 0, checkout.log("first.log")
    again = checkout.start("dev", "--port", str(web), "--sandbox-port", str(sandbox), log="again.log")
    await ready(web, again, "again.log", checkout)

    # then the session token still signs the user in
    async with httpx.AsyncClient(timeout=10.0) as http:
        viewer = await http.post(
            f"http://127.0.0.1:{web}/graphql",
            json={"query": VIEWER},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert viewer.json() == {"data": {"viewer": {"openid": OPENID}}}, viewer.text
        # and WeChat (the sandbox) still holds the user's two units
        quota = await http.get(
            f"http://127.0.0.1:{sandbox}/sandbox/quota", params={"openid": OPENID, "template_id": PROGRESS}
        )
        assert quota.json()["remaining"] == 2, quota.text
    # and the secret is a file of the checkout's data directory, readable by its owner only
    assert (checkout.data_dir / "dev-session-secret").stat().st_mode & 0o077 == 0
