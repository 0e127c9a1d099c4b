"""Cron job applying the defaults of delivery slots and exceptions whose deadline passed."""

from __future__ import annotations

from typing import Any

from bff.orders.deadlines import apply_deadline_defaults as apply_defaults
from bff.supply_chain.outbox import enqueue_sends


async def apply_deadline_defaults(ctx: dict[str, Any]) -> int:
    """Apply due defaults (bounded per run), then queue their commands; returns how many."""
    applied = await apply_defaults()
    await enqueue_sends(ctx["redis"], applied.command_ids)
    return applied.total
