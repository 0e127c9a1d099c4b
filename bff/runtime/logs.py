"""One log format for every process (web, worker, sandbox, `bff dev`), naming the process.

    2026-12-03T08:15:02.123Z INFO web[4242] uvicorn.access: 127.0.0.1:50412 - "GET /readyz HTTP/1.1" 200

Times are UTC with milliseconds; `web[4242]` is the process name and pid, so the interleaved
output of `bff dev` (and of several processes in one log stream) says who wrote each line.
Access lines carry the path without its query string: WeChat's push URL carries the user's
openid and signatures.
"""

from __future__ import annotations

import logging
import sys
import time

# uvicorn's access record: (client, method, path with query, HTTP version, status).
ACCESS_PATH_ARG = 2
ACCESS_LOGGER = "uvicorn.access"


def log_format(process_name: str) -> str:
    return f"%(asctime)s %(levelname)s {process_name}[%(process)d] %(name)s: %(message)s"


class UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class StripAccessQuery(logging.Filter):
    """Drops the query string from uvicorn's access lines (the only place request URLs are
    logged): WeChat's push URL carries the user's openid and signatures, and no route needs its
    query in that log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > ACCESS_PATH_ARG:
            path = args[ACCESS_PATH_ARG]
            if isinstance(path, str) and "?" in path:
                record.args = (*args[:ACCESS_PATH_ARG], path.partition("?")[0], *args[ACCESS_PATH_ARG + 1 :])
        return True


def strip_query_strings_from_access_log() -> None:
    """Install the filter once on uvicorn's access logger (idempotent: every app build calls it,
    so it holds under uvicorn's own logging config too)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, StripAccessQuery) for existing in logger.filters):
        logger.addFilter(StripAccessQuery())


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
    strip_query_strings_from_access_log()
    logging.getLogger("tortoise").setLevel(logging.WARNING)
