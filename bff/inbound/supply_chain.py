"""The supply-chain webhook pipeline: what `POST /hooks/supply-chain` (and the demo data) run.

`ingest(events, payloads)` stores a parsed batch (bff.supply_chain.store) and applies the new
events to the orders (bff.orders.projection) in one transaction; a DELIVERED node also becomes
owned products on the lifecycle tab (bff.lifecycle.projection), and shipping info WeChat needs is
made due (bff.orders.shipping) by the projection. `hand_over` then enqueues one planning job per
plan, after the commit. Nothing is sent from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from arq.connections import ArqRedis
from tortoise.transactions import in_transaction

from bff import constants
from bff.lifecycle.projection import project_delivery
from bff.orders.projection import EventApplier
from bff.supply_chain import events as ev
from bff.supply_chain.parsing import parse_batch, payloads_of
from bff.supply_chain.store import Plan, mark_handed_over, store_events, unhanded_plans


@dataclass
class IngestResult:
    accepted: int  # events stored now
    duplicates: int  # events whose eventId was already stored (acknowledged, not re-applied)
    plans: list[Plan] = field(default_factory=list)


async def ingest_body(body: bytes, *, now: datetime | None = None) -> IngestResult:
    """Parse (raises `parsing.BatchInvalid`) and ingest a webhook body."""
    events = parse_batch(body)
    return await ingest(events, payloads_of(body), now=now)


async def ingest(
    events: Sequence[ev.SupplyChainEvent],
    payloads: Sequence[Mapping[str, Any]],
    *,
    now: datetime | None = None,
) -> IngestResult:
    """Store and apply a parsed batch in one transaction (see the module docstring)."""
    if len(events) != len(payloads):
        raise ValueError(f"{len(events)} events but {len(payloads)} payloads")
    now = now or datetime.now(UTC)
    async with in_transaction() as conn:
        stored = await store_events(conn, events, payloads, now)
        # The lifecycle tab: a delivered order's lines become owned products (idempotent per
        # order and SKU).
        applier = EventApplier(conn, now, on_delivered=project_delivery)
        # order.placed first, so the batch's other events for that order find it.
        for event in sorted(events, key=lambda e: 0 if isinstance(e, ev.OrderPlaced) else 1):
            row_id = stored.get(event.event_id)
            if row_id is not None:
                await applier.apply(event, row_id)
    duplicate_ids = [e.event_id for e in events if e.event_id not in stored]
    plans = applier.plans + await unhanded_plans(duplicate_ids)
    return IngestResult(accepted=len(stored), duplicates=len(duplicate_ids), plans=plans)


async def hand_over(redis: ArqRedis, plans: Sequence[Plan], *, now: datetime | None = None) -> int:
    """Enqueue a planning job per plan (deduplicated by job id); returns how many were new."""
    enqueued = 0
    for plan in plans:
        kwargs: dict[str, Any] = {} if plan.order_id is None else {"order_id": plan.order_id}
        job = await redis.enqueue_job(
            constants.JOB_PLAN_EVENT, plan.event_row_id, _job_id=plan.job_id, **kwargs
        )
        enqueued += job is not None
    await mark_handed_over(plans, now or datetime.now(UTC))
    return enqueued
