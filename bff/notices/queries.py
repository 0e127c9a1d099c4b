"""Reads of notices for the API: each order's notices with their state, in batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from bff.models.notices import Notice

__all__ = ["OrderKey", "notices_by_order"]

OrderKey = tuple[int, str]  # (user id, order number): an order is only ever read for its owner


async def notices_by_order(keys: Sequence[OrderKey]) -> Mapping[OrderKey, list[Notice]]:
    """The notices of each (user, order), oldest first, in one query."""
    if not keys:
        return {}
    wanted = set(keys)
    rows = await Notice.filter(
        user_id__in={user_id for user_id, _ in wanted}, order_no__in={order_no for _, order_no in wanted}
    ).order_by("occurred_at", "id")
    found: dict[OrderKey, list[Notice]] = defaultdict(list)
    for row in rows:
        key = (row.user_id, row.order_no or "")
        if key in wanted:
            found[key].append(row)
    return found
