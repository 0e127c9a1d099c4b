"""Keep query strings out of uvicorn's access log.

WeChat's secure-mode push URL carries the user's ``openid`` (and signatures) in its query string,
and uvicorn logs the full path of every request. No route of the app needs its query string in
that log, so the filter drops it from every line and keeps the path.
"""

from __future__ import annotations

import logging

ACCESS_LOGGER = "uvicorn.access"


class QueryStringFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn logs '%s - "%s %s HTTP/%s" %d' with (client, method, path?query, version, status).
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str) and "?" in args[2]:
            path = args[2].partition("?")[0]
            record.args = (args[0], args[1], path, args[3], args[4])
        return True


def strip_query_strings_from_access_log() -> None:
    """Install the filter once on uvicorn's access logger (idempotent: every app build calls it)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(existing, QueryStringFilter) for existing in logger.filters):
        logger.addFilter(QueryStringFilter())
