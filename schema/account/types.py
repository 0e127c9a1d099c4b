from __future__ import annotations

import strawberry

from bff.models import User
from bff.models.orders import OrderStatus
from schema.context import Info
from schema.orders.queries import viewer_orders
from schema.orders.types import OrderConnectionType


@strawberry.type(name="Viewer")
class ViewerType:
    openid: str
    nickname: str
    member_tier: str
    points: int
    region: str

    @classmethod
    def from_model(cls, user: User) -> ViewerType:
        return cls(
            openid=user.openid,
            nickname=user.nickname,
            member_tier=user.member_tier,
            points=user.points,
            region=user.region,
        )

    # The viewer's orders, newest first (schema/orders).
    @strawberry.field
    async def orders(
        self, info: Info, first: int, after: str | None = None, status: OrderStatus | None = None
    ) -> OrderConnectionType:
        return await viewer_orders(info, first=first, after=after, status=status)
