"""Small helpers for the few hand-written SQL statements (set-based inserts, ON CONFLICT).

Tortoise passes raw values straight to the driver: SQLite wants `?` placeholders, asyncpg wants
`$1, $2, ...`. Statements here are written with `?` and renumbered for PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient


def is_postgres(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


def render(conn: BaseDBAsyncClient, sql: str) -> str:
    """`sql` with its `?` placeholders in the connection's style (no `?` may appear in literals)."""
    if not is_postgres(conn):
        return sql
    parts = sql.split("?")
    out = [parts[0]]
    for number, part in enumerate(parts[1:], start=1):
        out.append(f"${number}{part}")
    return "".join(out)


def db_time(value: datetime) -> datetime:
    """A time as tortoise stores it (UTC), so raw statements and the ORM agree on SQLite too."""
    return value.astimezone(UTC)
