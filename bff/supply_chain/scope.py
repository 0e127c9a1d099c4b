"""Scoped exceptions: one `order.exception` for every open order of a warehouse, SKU or region.

A scope may match hundreds of thousands of orders, so nothing here loads orders into Python:
the links are written with one set-based `INSERT … SELECT`, and whoever needs the affected
orders afterwards (the notice planner, deadline defaults) walks them by keyset in chunks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from bff.models.orders import OPEN_STATUSES, OrderExceptionLink
from bff.supply_chain.sql import db_time, is_postgres, render

DEFAULT_CHUNK = 1000


@dataclass(frozen=True)
class Scope:
    """Every open order matching all the given fields (at least one is given)."""

    warehouse: str | None = None
    sku_code: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        if self.warehouse is None and self.sku_code is None and self.region is None:
            raise ValueError("a scope names at least one of warehouse, sku_code, region")


async def link_scoped_orders(conn: BaseDBAsyncClient, exception_pk: int, scope: Scope, now: datetime) -> int:
    """Link every open order matching `scope` to the exception; returns how many links were added.

    Orders already linked are left as they are (their decision, if any, stands).
    """
    conditions = [f"o.status IN ({', '.join('?' for _ in OPEN_STATUSES)})"]
    values: list[object] = [exception_pk, db_time(now), *(status.value for status in OPEN_STATUSES)]
    if scope.warehouse is not None:
        conditions.append("o.warehouse = ?")
        values.append(scope.warehouse)
    if scope.region is not None:
        conditions.append("o.region = ?")
        values.append(scope.region)
    if scope.sku_code is not None:
        conditions.append("EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.sku_code = ?)")
        values.append(scope.sku_code)
    # The WHERE clause also keeps SQLite's parser from reading ON CONFLICT as a join constraint.
    sql = (
        "INSERT INTO order_exception_links (order_id, exception_id, created_at) "
        "SELECT o.id, ?, ? FROM orders o WHERE " + " AND ".join(conditions) + " "
        "ON CONFLICT (order_id, exception_id) DO NOTHING"
    )
    if is_postgres(conn):
        # asyncpg's status line "INSERT 0 <n>" is misread by tortoise as 0 rows; count the RETURNING.
        rows = await conn.execute_query_dict(
            render(conn, f"WITH added AS ({sql} RETURNING 1) SELECT count(*) AS n FROM added"), values
        )
        return int(rows[0]["n"])
    added, _ = await conn.execute_query(sql, values)
    return int(added)


@dataclass(frozen=True)
class AffectedOrder:
    link_id: int
    order_id: int
    order_no: str
    user_id: int
    decided: bool


async def iter_affected_orders(
    exception_pk: int, *, chunk: int = DEFAULT_CHUNK, undecided_only: bool = False
) -> AsyncIterator[list[AffectedOrder]]:
    """The orders linked to an exception, `chunk` at a time, by keyset on the link id.

    Each chunk is one query; memory stays at one chunk whatever the number of orders.
    """
    after = 0
    while True:
        query = OrderExceptionLink.filter(exception_id=exception_pk, id__gt=after)
        if undecided_only:
            query = query.filter(chosen_option__isnull=True)
        rows = (
            await query.order_by("id")
            .limit(chunk)
            .values_list("id", "order_id", "order__order_no", "order__user_id", "chosen_option")
        )
        if not rows:
            return
        yield [
            AffectedOrder(
                link_id=int(link_id),
                order_id=int(order_id),
                order_no=str(order_no),
                user_id=int(user_id),
                decided=chosen is not None,
            )
            for link_id, order_id, order_no, user_id, chosen in rows
        ]
        if len(rows) < chunk:
            return
        after = int(rows[-1][0])
