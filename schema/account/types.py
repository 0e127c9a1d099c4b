from __future__ import annotations

import strawberry

from bff.models import User


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
