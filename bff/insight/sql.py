"""Parameterised SQL that runs on SQLite and PostgreSQL alike, for the insight reads.

Queries are written with ``?`` placeholders (numbered ``$n`` for asyncpg here) and compare times
as seconds since the epoch (``epoch(column)``), so SQLite's text timestamps and PostgreSQL's
``timestamptz`` give the same answers and parameters are plain floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise import connections


def _dialect() -> str:
    return str(connections.get("default").capabilities.dialect)


def epoch(column: str) -> str:
    """SQL for ``column`` (a stored time) in seconds since the Unix epoch, as a float."""
    if _dialect() == "sqlite":
        # whole seconds exactly (strftime normalises the stored offset to UTC), plus milliseconds
        return (
            f"(CAST(strftime('%s', {column}) AS REAL) "
            f"+ (CAST(strftime('%f', {column}) AS REAL) - CAST(strftime('%S', {column}) AS REAL)))"
        )
    return f"EXTRACT(EPOCH FROM {column})"


def hour_bucket(column: str) -> str:
    """SQL for the whole UTC hour (hours since the epoch) of ``column``; business days are made of
    whole UTC hours in every zone whose offset is a whole number of hours (China's is)."""
    if _dialect() == "sqlite":
        return f"(CAST(strftime('%s', {column}) AS INTEGER) / 3600)"
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / 3600.0) AS BIGINT)"


def seconds(moment: datetime) -> float:
    return moment.timestamp()


def _numbered(sql: str) -> str:
    parts = sql.split("?")
    out = [parts[0]]
    for index, part in enumerate(parts[1:], start=1):
        out.append(f"${index}{part}")
    return "".join(out)


async def rows(sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run one SELECT; every row as a dict of its column labels."""
    connection = connections.get("default")
    text = sql if _dialect() == "sqlite" else _numbered(sql)
    return list(await connection.execute_query_dict(text, list(params)))


def as_int(value: Any) -> int:
    return int(value or 0)
