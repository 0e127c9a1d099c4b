"""`lifecycle`: the viewer's owned products, replenishments, maintenance due and offers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import strawberry

from bff.lifecycle.queries import OfferView, lifecycle_rows, lifecycle_view
from bff.offers.lifecycle_source import PreloadedLifecycle
from bff.offers.rules import rules_from_settings
from bff.offers.store import offers_of
from schema.context import Info, as_viewer
from schema.lifecycle.types import LifecycleType


@strawberry.type
class LifecycleQueries:
    # The lifecycle tab of the signed-in user; null when nobody is signed in.
    @strawberry.field
    async def lifecycle(self, info: Info) -> LifecycleType | None:
        resources = info.context.resources

        async def lifecycle_tab(viewer_id: int) -> LifecycleType:
            now = datetime.now(UTC)
            rows = await lifecycle_rows(viewer_id)
            view = lifecycle_view(rows, now=now)
            offers = await offers_of(
                viewer_id,
                now=now,
                zone=resources.settings.zone,
                redis=resources.arq,
                rules=rules_from_settings(resources.settings),
                source=PreloadedLifecycle(rows),  # the offers from the rows the tab read
            )
            views = [OfferView(o.id, str(o.kind), o.title, o.description, o.expires_at) for o in offers]
            return LifecycleType.of(replace(view, offers=views), resources.settings.zone)

        return await as_viewer(info, lifecycle_tab, signed_out=None)
