"""`bff dev`: web, worker and WeChat sandbox as child processes, on the embedded defaults.

Children share one environment: the same session secret, the embedded Redis server's URL and
the sandbox's credentials. Ctrl-C (or any child dying) stops all of them.

A restart changes nothing a user would notice: the session secret and the sandbox's memory
(users, quotas, inbox) are kept under the data directory. The embedded Redis server is stopped
on exit only by the `bff dev` that started it; a second `bff dev` of the same checkout reuses it
and leaves it running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bff.runtime import dev_defaults
from bff.runtime.dbcheck import check_database
from bff.runtime.logs import current_format
from bff.runtime.redis import check_redis, redis_url_for
from bff.runtime.settings import load_settings

STOP_GRACE_S = 10.0

log = logging.getLogger("lvyue.dev")


@dataclass
class Child:
    name: str
    args: list[str]
    process: subprocess.Popen[bytes] | None = None


class PortBusyError(RuntimeError):
    pass


def dev_environment(web_port: int, sandbox_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("LVYUE_ENV", "development")
    env.setdefault("WECHAT_API_BASE", f"http://127.0.0.1:{sandbox_port}")
    env.setdefault("SANDBOX_PUSH_URL", f"http://127.0.0.1:{web_port}/wechat/push")
    env.setdefault("SUPPLY_CHAIN_SECRET", dev_defaults.SUPPLY_CHAIN_SECRET)
    # Outside production the BFF always has an EncodingAESKey (the sandbox's, or WECHAT_AES_KEY)
    # and then accepts only encrypted pushes: the sandbox pushes in secure mode (its default),
    # with the BFF's key.
    if env.get("WECHAT_AES_KEY"):
        env.setdefault("SANDBOX_AES_KEY", env["WECHAT_AES_KEY"])
    return env


def keep_across_restarts(env: dict[str, str], data_dir: Path) -> None:
    """The session secret and the sandbox's memory live in the data directory, not in the run."""
    env.setdefault("SESSION_SECRET", dev_defaults.session_secret(data_dir))
    env.setdefault("SANDBOX_STATE_FILE", str((data_dir / dev_defaults.SANDBOX_STATE_FILE).resolve()))


def check_ports_free(host: str, ports: dict[str, int]) -> None:
    """Refuse to start on a port already taken (typically by another `bff dev`), before starting anything."""
    for name, port in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                raise PortBusyError(
                    f"{name} port {host}:{port} is in use (another `bff dev`?); "
                    f"choose others with --port / --sandbox-port"
                ) from None


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
    check_ports_free(host, {"web": web_port, "sandbox": sandbox_port})
    asyncio.run(check_database(settings.database_url))
    keep_across_restarts(env, settings.data_dir)
    # The embedded server is stopped on the way out only if this `bff dev` started it.
    with redis_url_for(settings) as redis_url:
        asyncio.run(check_redis(redis_url))
        env["REDIS_URL"] = redis_url
        return _run_children(
            env, settings.database_url, web_port=web_port, sandbox_port=sandbox_port, host=host
        )


def _run_children(
    env: dict[str, str], database_url: str, *, web_port: int, sandbox_port: int, host: str
) -> int:

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
    urls = {
        "graphiql": f"{base}/graphql",
        "readiness": f"{base}/readyz",
        "metrics": f"{base}/metrics",
        "sandbox_inbox": f"http://{host}:{sandbox_port}/sandbox/inbox/page",
    }
    if current_format() == "json":
        # One record with the addresses as fields (the database and Redis URLs may hold passwords).
        log.info("Lvyue is starting; Ctrl-C stops everything", extra=urls)
    else:
        print(
            "\n".join(
                [
                    "",
                    "Lvyue is starting:",
                    f"  GraphiQL        {urls['graphiql']}",
                    f"  readiness       {urls['readiness']}",
                    f"  metrics         {urls['metrics']}",
                    f"  WeChat sandbox  {urls['sandbox_inbox']}   (inbox)",
                    f"  database        {database_url}",
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
                    log.warning("%s exited with status %d; stopping the others", child.name, code)
                    exit_code = code or 1
                    stopping = True
                    break
            time.sleep(0.3)
    finally:
        _stop_all(children)
    log.info("stopped")
    return exit_code
