"""Supply-chain events stored as they came (`supply_chain_events`), and what is left to plan.

Each event is inserted with `INSERT … ON CONFLICT (event_id) DO NOTHING`, so an event seen
before (a sender's retry, or a concurrent request carrying the same event) is counted as a
duplicate and changes nothing. A stored event a user should hear about becomes a `Plan`: one
planning job (`plan:<event row id>` as arq job id, so a retry never plans twice). Applying the
events to the orders is `bff.orders.projection`; the webhook pipeline that runs both is
`bff.inbound.supply_chain`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bff import constants
from bff.models.orders import SupplyChainEvent
from bff.supply_chain import events as ev
from bff.supply_chain.sql import db_time, render


@dataclass(frozen=True)
class Plan:
    """A planning job to hand to the worker: the stored event, and (for an exception applied to
    one more order after the fact) the order it now concerns."""

    event_row_id: int
    order_id: int | None = None

    @property
    def job_id(self) -> str:
        suffix = "" if self.order_id is None else f":{self.order_id}"
        return f"{constants.PLAN_JOB_ID_PREFIX}{self.event_row_id}{suffix}"


def order_no_of(event: ev.SupplyChainEvent) -> str | None:
    """The order an event is about (None for reference data and for exceptions)."""
    if isinstance(event, ev.OrderPlaced):
        return event.order.order_no
    order_no = getattr(event, "order_no", None)
    return order_no if isinstance(order_no, str) else None


async def store_events(
    conn: BaseDBAsyncClient,
    events: Sequence[ev.SupplyChainEvent],
    payloads: Sequence[Mapping[str, Any]],
    now: datetime,
) -> dict[str, int]:
    """Insert the batch's events (in the caller's transaction); returns {event_id: row id} of
    those that were new."""
    if not events:
        return {}
    values: list[object] = []
    for event, payload in zip(events, payloads, strict=True):
        values += [
            event.event_id,
            event.type,
            db_time(event.occurred_at),
            order_no_of(event),
            json.dumps(payload, ensure_ascii=False),
            db_time(now),
            False,
        ]
    sql = (
        "INSERT INTO supply_chain_events"
        " (event_id, type, occurred_at, order_no, payload, received_at, notify) VALUES "
        + ", ".join("(?, ?, ?, ?, ?, ?, ?)" for _ in events)
        + " "
        "ON CONFLICT (event_id) DO NOTHING RETURNING id, event_id"
    )
    rows = await conn.execute_query_dict(render(conn, sql), values)
    return {str(row["event_id"]): int(row["id"]) for row in rows}


async def unhanded_plans(event_ids: Sequence[str]) -> list[Plan]:
    """Events of an earlier request whose planning was never enqueued (Redis was down then):
    the sender's retry hands them over again."""
    if not event_ids:
        return []
    rows = await SupplyChainEvent.filter(
        event_id__in=list(event_ids), notify=True, plan_enqueued_at__isnull=True, applied_at__isnull=False
    ).values_list("id")
    return [Plan(int(row[0])) for row in rows]


async def mark_handed_over(plans: Collection[Plan], now: datetime) -> None:
    """Record that the plans' planning jobs were enqueued (an event not marked is handed over
    again when the sender retries it)."""
    if plans:
        await SupplyChainEvent.filter(id__in={p.event_row_id for p in plans}).update(plan_enqueued_at=now)
