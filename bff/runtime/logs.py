"""One log format for every process (web, worker, sandbox, `bff dev`), naming the process.

    2026-12-03T08:15:02.123Z INFO web[4242] uvicorn.access: 127.0.0.1:50412 - "GET /readyz HTTP/1.1" 200

Times are UTC with milliseconds; `web[4242]` is the process name and pid, so the interleaved
output of `bff dev` (and of several processes in one log stream) says who wrote each line.
Request paths in access lines keep their query parameter names but mask the values: WeChat's
push URL carries the user's openid and signatures (bff.runtime.logsafe.mask).
"""

from __future__ import annotations

import logging
import sys
import time

from bff.runtime.logsafe import mask

# Query parameters whose values are neither personal nor secret, kept in full for debugging.
PLAIN_QUERY_PARAMETERS = frozenset({"timestamp", "encrypt_type", "first", "after", "status"})
# uvicorn's access record: (client, method, path with query, HTTP version, status).
ACCESS_PATH_ARG = 2


def log_format(process_name: str) -> str:
    return f"%(asctime)s %(levelname)s {process_name}[%(process)d] %(name)s: %(message)s"


class UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


def masked_path(path: str) -> str:
    """`/wechat/push?openid=oUSER…&timestamp=1` → `/wechat/push?openid=oUSE…(20)&timestamp=1`."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    shown = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        shown.append(pair if name in PLAIN_QUERY_PARAMETERS or not equals else f"{name}={mask(value)}")
    return f"{base}?{'&'.join(shown)}"


class MaskAccessQuery(logging.Filter):
    """Masks query values in uvicorn's access lines (the only place request URLs are logged)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > ACCESS_PATH_ARG:
            path = args[ACCESS_PATH_ARG]
            if isinstance(path, str):
                record.args = (*args[:ACCESS_PATH_ARG], masked_path(path), *args[ACCESS_PATH_ARG + 1 :])
        return True


def configure_logging(process_name: str, level: int = logging.INFO) -> None:
    """Route every logger (ours, uvicorn's, arq's) through one stderr handler in the one format.
    Servers must then be started without their own logging config (uvicorn: log_config=None)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(UTCFormatter(log_format(process_name)))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").addFilter(MaskAccessQuery())
    logging.getLogger("tortoise").setLevel(logging.WARNING)
