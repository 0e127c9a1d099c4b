"""Notice jobs. The planner itself arrives with the notice engine (issue 5)."""

from __future__ import annotations

from typing import Any


async def plan_notices_for_event(ctx: dict[str, Any], event_row_id: int, order_id: int | None = None) -> None:
    """Plan the notices one stored supply-chain event causes (`SupplyChainEvent.id`).

    `order_id` is given when an exception reached one more order after the fact (its order was
    placed later); then only that order is planned. Placeholder until the notice engine exists.
    """
    return None
