"""Readiness checks: does the database answer, does Redis answer."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from tortoise import Tortoise

CHECK_TIMEOUT_S = 2.0


async def database_ready() -> str | None:
    """None when the database answers `SELECT 1`, else what went wrong."""
    try:
        connection = Tortoise.get_connection("default")
        await asyncio.wait_for(connection.execute_query("SELECT 1"), CHECK_TIMEOUT_S)
    except Exception as exc:  # any failure means "not ready"; the reason is reported
        return f"{type(exc).__name__}: {exc}"[:200]
    return None


async def redis_ready(redis: Redis) -> str | None:
    try:
        await asyncio.wait_for(redis.ping(), CHECK_TIMEOUT_S)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:200]
    return None
