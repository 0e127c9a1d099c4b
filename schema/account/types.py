from __future__ import annotations

import strawberry

from bff.models import User
from bff.models.orders import OrderStatus
from schema.context import Info
from schema.errors import UserError
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


@strawberry.type
class LoginPayload:
    token: str | None = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    expires_at: str | None = strawberry.field(
        description="When the token stops working (ISO 8601, with offset)."
    )
    viewer: ViewerType | None
    user_errors: list[UserError]
