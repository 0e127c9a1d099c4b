"""A lifecycle notice is checked again right before it is sent, and its replenishment marked after.

The sender (bff/notices/sender.py) calls ``stale_reason`` once it has claimed a notice and before
a consent unit is reserved; a reason suppresses the notice with that reason. For other topics
both functions return at once without a query.

REPLENISHMENT (key ``replenishment:<user>:<cycle>:<round>:<sku>``):
    BOUGHT_AGAIN   a newer delivery started another cycle, or an order of the SKU was placed
                   after the one the cycle started with (and is not cancelled)
    DISMISSED      the user dismissed the SKU's reminders
    SNOOZED        the user snoozed it since (a new round)
    CYCLE_CHANGED  the user set the cycle since (a new round with another date)
    NOT_OWNED      no replenishment of that SKU for the user (never expected)
MAINTENANCE (key ``maintenance:<user>:<delivered>:<afterDays>:<sku>``):
    NEWER_DELIVERY the product was delivered again since: its maintenance counts from then
    NOT_OWNED      the product is not the user's
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bff.catalog.topics import Topic
from bff.lifecycle.stages import delivery_stamp, parse_maintenance_key, parse_reminder_key
from bff.models.lifecycle import OwnedProduct, Replenishment, ReplenishmentStatus
from bff.models.notices import Notice
from bff.models.orders import OrderItem, OrderStatus


class StaleReason(StrEnum):
    BOUGHT_AGAIN = "BOUGHT_AGAIN"
    DISMISSED = "DISMISSED"
    SNOOZED = "SNOOZED"
    CYCLE_CHANGED = "CYCLE_CHANGED"
    NOT_OWNED = "NOT_OWNED"
    NEWER_DELIVERY = "NEWER_DELIVERY"


async def ordered_again(row: Replenishment) -> bool:
    """An order holding the SKU was placed after the one that started the cycle (not cancelled)."""
    return (
        await OrderItem.filter(
            sku_code=row.sku_code, order__user_id=row.user_id, order__placed_at__gt=row.last_placed_at
        )
        .exclude(order__status=OrderStatus.CANCELLED)
        .exists()
    )


async def stale_reason(notice: Notice) -> StaleReason | None:
    """Why a lifecycle notice must not be sent any more (None: send it, or not a lifecycle topic)."""
    if notice.topic == Topic.REPLENISHMENT:
        return await _replenishment_stale(notice)
    if notice.topic == Topic.MAINTENANCE:
        return await _maintenance_stale(notice)
    return None


async def _replenishment_stale(notice: Notice) -> StaleReason | None:
    parsed = parse_reminder_key(notice.dedupe_key)
    if parsed is None:
        return None  # not planned by the replenishment scan: nothing of ours to check
    _, cycle_no, round_no, sku_code = parsed
    row = await Replenishment.get_or_none(user_id=notice.user_id, sku_code=sku_code)
    if row is None:
        return StaleReason.NOT_OWNED
    if row.cycle_no != cycle_no or await ordered_again(row):
        return StaleReason.BOUGHT_AGAIN
    if row.status is ReplenishmentStatus.DISMISSED:
        return StaleReason.DISMISSED
    if row.round != round_no:
        return StaleReason.SNOOZED if row.status is ReplenishmentStatus.SNOOZED else StaleReason.CYCLE_CHANGED
    return None


async def _maintenance_stale(notice: Notice) -> StaleReason | None:
    parsed = parse_maintenance_key(notice.dedupe_key)
    if parsed is None:
        return None
    _, delivered_stamp, _, sku_code = parsed
    owned = await OwnedProduct.get_or_none(user_id=notice.user_id, sku_code=sku_code)
    if owned is None:
        return StaleReason.NOT_OWNED
    if delivery_stamp(owned.last_delivered_at) != delivered_stamp:
        return StaleReason.NEWER_DELIVERY
    return None


async def mark_sent(notice: Notice, now: datetime) -> None:
    """A replenishment reminder went out: REMINDED, unless the user answered meanwhile."""
    if notice.topic != Topic.REPLENISHMENT:
        return
    parsed = parse_reminder_key(notice.dedupe_key)
    if parsed is None:
        return
    _, cycle_no, round_no, sku_code = parsed
    await Replenishment.filter(
        user_id=notice.user_id,
        sku_code=sku_code,
        cycle_no=cycle_no,
        round=round_no,
        status__in=[ReplenishmentStatus.ACTIVE, ReplenishmentStatus.DUE],
    ).update(status=ReplenishmentStatus.REMINDED, reminded_at=now)
