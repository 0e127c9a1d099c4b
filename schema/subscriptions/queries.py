from __future__ import annotations

import strawberry

from bff.catalog.templates_file import templates_of
from bff.consent.center import subscription_center
from bff.consent.requests import SubscribeMoment, subscribe_request
from schema.context import Info
from schema.subscriptions.types import SubscribeRequestType, SubscriptionCenterType


@strawberry.type
class SubscriptionQueries:
    @strawberry.field
    async def subscription_center(self, info: Info) -> SubscriptionCenterType | None:
        """The subscription tab of the signed-in user; null without a session."""
        viewer_id = info.context.viewer_id
        if viewer_id is None:
            return None
        settings = info.context.resources.settings
        return SubscriptionCenterType.of(await subscription_center(viewer_id, templates_of(settings)))

    @strawberry.field
    async def subscribe_request(
        self, info: Info, moment: SubscribeMoment, order_no: str | None = None
    ) -> SubscribeRequestType | None:
        """Which template ids to pass to wx.requestSubscribeMessage now; null without a session."""
        viewer_id = info.context.viewer_id
        if viewer_id is None:
            return None
        settings = info.context.resources.settings
        ask = await subscribe_request(
            viewer_id, moment, order_no, templates=templates_of(settings), zone=settings.zone
        )
        return SubscribeRequestType.of(ask)
