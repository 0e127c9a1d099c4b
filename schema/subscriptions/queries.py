from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from bff.catalog.topics import Topic
from bff.consent.center import subscription_center, templates_of
from bff.consent.requests import SubscribeMoment, subscribe_request
from bff.offers.asking import offer_topics
from bff.offers.rules import rules_from_settings
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
        resources = info.context.resources
        settings = resources.settings
        now = datetime.now(UTC)
        likely: tuple[Topic, ...] = ()
        if moment is SubscribeMoment.LIFECYCLE:
            likely = await offer_topics(
                viewer_id,
                now=now,
                zone=settings.zone,
                redis=resources.arq,
                rules=rules_from_settings(settings),
            )
        ask = await subscribe_request(
            viewer_id,
            moment,
            order_no,
            templates=templates_of(settings),
            zone=settings.zone,
            now=now,
            likely_topics=likely,
        )
        return SubscribeRequestType.of(ask)
