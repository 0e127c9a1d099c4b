from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from bff.catalog.templates_file import templates_of
from bff.catalog.topics import Topic
from bff.consent.center import subscription_center
from bff.consent.requests import SubscribeMoment, subscribe_request
from bff.offers.asking import offer_topics
from bff.offers.rules import rules_from_settings
from schema.context import Info, as_viewer
from schema.subscriptions.types import SubscribeRequestType, SubscriptionCenterType


@strawberry.type
class SubscriptionQueries:
    @strawberry.field
    async def subscription_center(self, info: Info) -> SubscriptionCenterType | None:
        """The subscription tab of the signed-in user; null without a session."""
        settings = info.context.resources.settings

        async def center(viewer_id: int) -> SubscriptionCenterType:
            return SubscriptionCenterType.of(await subscription_center(viewer_id, templates_of(settings)))

        return await as_viewer(info, center, signed_out=None)

    @strawberry.field
    async def subscribe_request(
        self, info: Info, moment: SubscribeMoment, order_no: str | None = None
    ) -> SubscribeRequestType | None:
        """Which template ids to pass to wx.requestSubscribeMessage now; null without a session."""
        resources = info.context.resources
        settings = resources.settings

        async def ask(viewer_id: int) -> SubscribeRequestType:
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
            answer = await subscribe_request(
                viewer_id,
                moment,
                order_no,
                templates=templates_of(settings),
                zone=settings.zone,
                now=now,
                likely_topics=likely,
            )
            return SubscribeRequestType.of(answer)

        return await as_viewer(info, ask, signed_out=None)
