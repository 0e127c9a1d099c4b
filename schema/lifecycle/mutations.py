"""The user's answers to a replenishment: thin resolvers over bff.lifecycle.actions.

Refusals (`LifecycleError`) come back as `userErrors` with a null replenishment, and the service
has written nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import strawberry

from bff.lifecycle import actions
from bff.lifecycle.actions import LifecycleError
from bff.models.lifecycle import Replenishment
from schema.context import Info
from schema.errors import UserError
from schema.lifecycle.types import (
    DismissReplenishmentPayload,
    ReplenishmentType,
    SetReplenishmentCyclePayload,
    SnoozeReplenishmentPayload,
)


async def _answer(
    info: Info, act: Callable[[datetime], Awaitable[Replenishment]]
) -> tuple[ReplenishmentType | None, list[UserError]]:
    now = datetime.now(UTC)
    try:
        row = await act(now)
    except LifecycleError as refused:
        return None, [UserError(code=refused.code.value, field=refused.field, message=refused.message)]
    return ReplenishmentType.of_row(row, now, info.context.resources.settings.zone), []


@strawberry.type
class LifecycleMutations:
    # Remind me again in `days` days (1–60).
    @strawberry.mutation
    async def snooze_replenishment(self, info: Info, sku_code: str, days: int) -> SnoozeReplenishmentPayload:
        viewer = info.context.viewer_id
        row, errors = await _answer(info, lambda now: actions.snooze(viewer, sku_code, days, now=now))
        return SnoozeReplenishmentPayload(replenishment=row, user_errors=errors)

    # One purchase of this SKU lasts me `cycleDays` days (1–365).
    @strawberry.mutation
    async def set_replenishment_cycle(
        self, info: Info, sku_code: str, cycle_days: int
    ) -> SetReplenishmentCyclePayload:
        viewer = info.context.viewer_id
        row, errors = await _answer(
            info, lambda now: actions.set_cycle(viewer, sku_code, cycle_days, now=now)
        )
        return SetReplenishmentCyclePayload(replenishment=row, user_errors=errors)

    # No reminders for this SKU until I buy it again.
    @strawberry.mutation
    async def dismiss_replenishment(self, info: Info, sku_code: str) -> DismissReplenishmentPayload:
        viewer = info.context.viewer_id
        row, errors = await _answer(info, lambda now: actions.dismiss(viewer, sku_code, now=now))
        return DismissReplenishmentPayload(replenishment=row, user_errors=errors)
