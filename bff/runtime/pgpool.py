"""Tortoise's asyncpg engine without asyncpg's reset round trip on every connection release.

Outside a transaction tortoise takes a pool connection per statement, and asyncpg's default
release sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` each time: a
second round trip for every statement (about a tenth of the web process's CPU per request on
PostgreSQL, issue 12). This code leaves no session state behind — no session advisory locks, no
LISTEN, no cursors outside a transaction, no SET — so the release only ends an open transaction
(asyncpg always does that itself) and skips the query. `tortoise_config` (bff/runtime/db.py)
names this module as the engine of a PostgreSQL DATABASE_URL.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


async def keep_session(_connection: asyncpg.Connection) -> None:
    """The pool's reset: nothing to undo (asyncpg has already rolled back an open transaction)."""


class NoResetAsyncpgClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        return await asyncpg.create_pool(None, reset=keep_session, **kwargs)


client_class = NoResetAsyncpgClient
