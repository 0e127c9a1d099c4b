"""Fail fast, in one line, when DATABASE_URL points nowhere useful."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tortoise.context import TortoiseContext

from bff.runtime.db import sqlite_path, tortoise_config
from bff.runtime.settings import SettingsError

CONNECT_TIMEOUT_S = 5.0


async def check_database(database_url: str) -> None:
    """Raise SettingsError("DATABASE_URL", reason) unless the database answers `SELECT 1`."""
    path = sqlite_path(database_url)
    if path is not None and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        async with TortoiseContext() as ctx:
            await ctx.init(config=tortoise_config(database_url))
            connection = ctx.connections.get("default")
            await asyncio.wait_for(connection.execute_query("SELECT 1"), CONNECT_TIMEOUT_S)
    except TimeoutError:
        raise SettingsError("DATABASE_URL", f"no answer within {CONNECT_TIMEOUT_S:.0f} s") from None
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SettingsError("DATABASE_URL", f"cannot connect: {reason}") from None
