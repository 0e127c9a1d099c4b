"""`lifecycle`: the viewer's owned products, replenishments, maintenance due and offers."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from bff.lifecycle.queries import lifecycle_of
from schema.context import Info
from schema.lifecycle.types import LifecycleType


@strawberry.type
class LifecycleQueries:
    # The lifecycle tab of the signed-in user; null when nobody is signed in.
    @strawberry.field
    async def lifecycle(self, info: Info) -> LifecycleType | None:
        viewer_id = info.context.viewer_id
        if viewer_id is None:
            return None
        view = await lifecycle_of(viewer_id, now=datetime.now(UTC))
        return LifecycleType.of(view, info.context.resources.settings.zone)
