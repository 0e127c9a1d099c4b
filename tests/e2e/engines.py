"""Throwaway Redis and PostgreSQL servers that a test may stop and start at will.

Never the machine's shared servers (5432, 6379): these run on free ports from temporary
directories and are removed with the test. Redis keeps an append-only file synced on every
write, so a restart loses nothing, as a production Redis with AOF would. PostgreSQL is a
private cluster made with initdb (run as the `postgres` user when the tests run as root).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from glob import glob
from pathlib import Path

from bff.runtime.embedded_redis import redis_server_binary

START_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_tcp(port: int, ping: bytes, expect: bytes) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as conn:
            conn.sendall(ping)
            return conn.recv(16).startswith(expect)
    except OSError:
        return False


class PrivateRedis:
    def __init__(self, root: Path) -> None:
        self.dir = root
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--save", "",
            "--logfile", str(self.dir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers_tcp(self.port, b"PING\r\n", b"+PONG"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private Redis did not start: {self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """A clean stop (SIGTERM: Redis syncs its append-only file and exits)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
        self.process = None

    def log(self) -> str:
        path = self.dir / "redis.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


class PrivatePostgres:
    def __init__(self) -> None:
        found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError("no /usr/lib/postgresql/*/bin/initdb: install the postgresql package")
        self.bin = Path(found[-1]).parent
        # Not under pytest's tmp_path: the `postgres` user must be able to enter the directory.
        self.dir = Path(tempfile.mkdtemp(prefix="lvyue-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, user="postgres", group="postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/lvyue"

    def _run(self, *args: str) -> None:
        command = [*args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=self.dir)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed: {result.stdout}{result.stderr}{self.log()}")

    def create(self) -> None:
        """initdb, start, and create the `lvyue` database."""
        initdb = str(self.bin / "initdb")
        self._run(initdb, "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.start()
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "lvyue"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.dir / "pg.log")
        wait = ["-w", "-t", str(int(START_TIMEOUT_S))]
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-o", options, *wait, "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: disconnect every client and shut down cleanly, as a restart for maintenance does."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError):
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self) -> str:
        path = self.dir / "pg.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""
