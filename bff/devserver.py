"""`bff dev`: web, worker and WeChat sandbox as child processes, on the embedded defaults.

Children share one environment: the same session secret, the embedded Redis server's URL and
the sandbox's credentials. Ctrl-C (or any child dying) stops all of them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from bff import dev_defaults
from bff.dbcheck import check_database
from bff.embedded_redis import ensure_embedded_redis, stop_embedded_redis
from bff.settings import load_settings

STOP_GRACE_S = 10.0


@dataclass
class Child:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None


def dev_environment(web_port: int, sandbox_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("LVYUE_ENV", "development")
    env.setdefault("WECHAT_API_BASE", f"http://127.0.0.1:{sandbox_port}")
    env.setdefault("SESSION_SECRET", "dev-" + secrets.token_hex(24))  # one per `make run`
    env.setdefault("SANDBOX_PUSH_URL", f"http://127.0.0.1:{web_port}/wechat/push")
    env.setdefault("SUPPLY_CHAIN_SECRET", dev_defaults.SUPPLY_CHAIN_SECRET)
    # Outside production the BFF always has an EncodingAESKey (the sandbox's, or WECHAT_AES_KEY)
    # and then accepts only encrypted pushes: the sandbox pushes in secure mode (its default),
    # with the BFF's key.
    if env.get("WECHAT_AES_KEY"):
        env.setdefault("SANDBOX_AES_KEY", env["WECHAT_AES_KEY"])
    return env


def _start(child: Child, env: dict[str, str]) -> None:
    # Own process group: Ctrl-C in the terminal reaches us once; we stop the children in order.
    child.process = subprocess.Popen(child.args, env=env, start_new_session=True)


def _stop_all(children: list[Child]) -> None:
    for child in children:
        if child.process and child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()


def run_dev(*, web_port: int, sandbox_port: int, host: str = "127.0.0.1") -> int:
    env = dev_environment(web_port, sandbox_port)
    settings = load_settings(env)  # SettingsError reaches the CLI as one line
    asyncio.run(check_database(settings.database_url))
    started_redis = False
    if not settings.redis_url:
        env["REDIS_URL"] = ensure_embedded_redis(settings.data_dir)
        started_redis = True

    python = sys.executable
    children = [
        Child("sandbox", [python, "-m", "bff.cli", "sandbox", "--host", host, "--port", str(sandbox_port)]),
        Child("web", [python, "-m", "bff.cli", "web", "--host", host, "--port", str(web_port)]),
        Child("worker", [python, "-m", "bff.cli", "worker"]),
    ]
    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    for child in children:
        _start(child, env)

    base = f"http://{host}:{web_port}"
    print(
        "\n".join(
            [
                "",
                "Lvyue is starting:",
                f"  GraphiQL        {base}/graphql",
                f"  readiness       {base}/readyz",
                f"  metrics         {base}/metrics",
                f"  WeChat sandbox  http://{host}:{sandbox_port}/sandbox/inbox/page   (inbox)",
                f"  database        {settings.database_url}",
                f"  redis           {env.get('REDIS_URL')}",
                "Ctrl-C stops everything.",
                "",
            ]
        ),
        flush=True,
    )

    exit_code = 0
    try:
        while not stopping:
            for child in children:
                assert child.process is not None
                code = child.process.poll()
                if code is not None:
                    print(f"bff dev: {child.name} exited with status {code}; stopping the others", flush=True)
                    exit_code = code or 1
                    stopping = True
                    break
            time.sleep(0.3)
    finally:
        _stop_all(children)
        if started_redis:
            stop_embedded_redis(settings.data_dir)
    print("bff dev: stopped", flush=True)
    return exit_code
