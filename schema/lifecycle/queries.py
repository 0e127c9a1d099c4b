"""`lifecycle`: the viewer's owned products, replenishments, maintenance due and offers."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from bff.lifecycle.queries import lifecycle_of
from schema.context import Info, as_viewer
from schema.lifecycle.types import LifecycleType


@strawberry.type
class LifecycleQueries:
    # The lifecycle tab of the signed-in user; null when nobody is signed in.
    @strawberry.field
    async def lifecycle(self, info: Info) -> LifecycleType | None:
        async def lifecycle_tab(viewer_id: int) -> LifecycleType:
            view = await lifecycle_of(viewer_id, now=datetime.now(UTC))
            return LifecycleType.of(view, info.context.resources.settings.zone)

        return await as_viewer(info, lifecycle_tab, signed_out=None)
