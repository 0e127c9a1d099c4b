from __future__ import annotations

import strawberry

from bff.models import User
from schema.account.types import ViewerType
from schema.context import Info, as_viewer


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The signed-in user; null without a valid session token.")
    async def viewer(self, info: Info) -> ViewerType | None:
        async def viewer_of(viewer_id: int) -> ViewerType | None:
            user = await User.get_or_none(id=viewer_id)
            return ViewerType.from_model(user) if user else None

        return await as_viewer(info, viewer_of, signed_out=None)
