from __future__ import annotations

import strawberry

from bff.models import User
from schema.account.types import ViewerType
from schema.context import Info


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The signed-in user; null without a valid session token.")
    async def viewer(self, info: Info) -> ViewerType | None:
        viewer_id = info.context.viewer_id
        if viewer_id is None:
            return None
        user = await User.get_or_none(id=viewer_id)
        return ViewerType.from_model(user) if user else None
