"""One log format for every process (web, worker, sandbox, `bff dev`), naming the process.

`LOG_FORMAT=text` (the default):

    2026-12-03T08:15:02.123Z INFO web[4242] uvicorn.access: 127.0.0.1:50412 - "GET /readyz HTTP/1.1" 200

Times are UTC with milliseconds; `web[4242]` is the process name and pid, so the interleaved
output of `bff dev` (and of several processes in one log stream) says who wrote each line.

`LOG_FORMAT=json`: one JSON object per line, for log collectors:

    {"ts": "2026-12-03T08:15:02Z", "level": "INFO", "process": "web", "pid": 4242,
     "logger": "uvicorn.access", "message": "127.0.0.1:50412 - \"GET /readyz HTTP/1.1\" 200"}

(one line in the log), plus the fields the code passes with `extra=` and `exc` (the traceback)
when there is one.

Either way: access lines carry the path without its query string (WeChat's push URL carries the
user's openid and signatures); anything shaped like an openid in a message or a field is masked
(`MaskOpenids`, defence in depth behind the callers' own `logsafe.mask`); fields named like
secrets are never written.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any, Literal

from bff.runtime.logsafe import mask

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

# uvicorn's access record: (client, method, path with query, HTTP version, status).
ACCESS_PATH_ARG = 2
ACCESS_LOGGER = "uvicorn.access"

# A WeChat openid: "o" and 27 more of [A-Za-z0-9_-] (28 in all); the sandbox's and the tests'
# are 20-40 long. Required to hold a digit, so long words like "offers_recommendation" stay.
OPENID_SHAPE = re.compile(r"(?<![\w-])o(?=[\w-]*\d)[\w-]{19,40}(?![\w-])")
# Fields passed with `extra=` whose name says they hold a secret: written as "***".
SECRET_FIELD = re.compile(r"secret|token|password|passwd|authorization|signature|session_key|aes_key", re.I)
OPENID_FIELD = re.compile(r"openid", re.I)

# The LogRecord's own attributes: everything else on a record came with `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "taskName",
}

_current: LogFormat = "text"


def current_format() -> LogFormat:
    """The format `configure_logging` installed (text until it is called)."""
    return _current


def log_format(process_name: str) -> str:
    return f"%(asctime)s %(levelname)s {process_name}[%(process)d] %(name)s: %(message)s"


def mask_openids(text: str) -> str:
    return OPENID_SHAPE.sub(lambda found: mask(found.group()), text)


class UTCFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class JSONFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def __init__(self, process_name: str) -> None:
        super().__init__()
        self.process_name = process_name

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname,
            "process": self.process_name,
            "pid": record.process,
            "logger": record.name,
            "message": mask_openids(record.getMessage()),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_FIELDS and not name.startswith("_") and name not in entry:
                entry[name] = _field(name, value)
        if record.exc_info:
            entry["exc"] = mask_openids(self.formatException(record.exc_info))
        elif record.exc_text:
            entry["exc"] = mask_openids(record.exc_text)
        if record.stack_info:
            entry["stack"] = mask_openids(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def _field(name: str, value: Any) -> Any:
    """A field passed with `extra=`, safe to write: secrets hidden, openids masked."""
    if SECRET_FIELD.search(name):
        return "***"
    if isinstance(value, bool | int | float) or value is None:
        return value
    if OPENID_FIELD.search(name):
        return mask(str(value))
    if isinstance(value, list | tuple):
        return [_field(name, item) for item in value]
    if isinstance(value, dict):
        return {str(key): _field(str(key), item) for key, item in value.items()}
    return mask_openids(str(value))


class MaskOpenids(logging.Filter):
    """Masks anything shaped like an openid in the message (defence in depth: callers mask the
    openids they log themselves with `logsafe.mask`). Installed on the handler, so it sees every
    record, its children's and uvicorn's and arq's too."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call; logging reports it itself
            return True
        masked = mask_openids(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


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


def formatter_for(process_name: str, fmt: LogFormat) -> logging.Formatter:
    if fmt == "json":
        return JSONFormatter(process_name)
    return UTCFormatter(log_format(process_name))


def configure_logging(process_name: str, level: int = logging.INFO, fmt: LogFormat = "text") -> None:
    """Route every logger (ours, uvicorn's, arq's) through one stderr handler in the one format.
    Servers must then be started without their own logging config (uvicorn: log_config=None)."""
    global _current
    _current = fmt
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter_for(process_name, fmt))
    handler.addFilter(MaskOpenids())
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
