"""`lifecycle`: the viewer's owned products, replenishments, maintenance due and offers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import strawberry

from bff.lifecycle.queries import OfferView, lifecycle_of
from bff.offers.rules import rules_from_settings
from bff.offers.store import offers_of
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
        now = datetime.now(UTC)
        resources = info.context.resources
        view = await lifecycle_of(viewer_id, now=now)
        offers = await offers_of(
            viewer_id,
            now=now,
            zone=resources.settings.zone,
            redis=resources.arq,
            rules=rules_from_settings(resources.settings),
        )
        views = [OfferView(o.id, str(o.kind), o.title, o.description, o.expires_at) for o in offers]
        return LifecycleType.of(replace(view, offers=views), resources.settings.zone)
