from __future__ import annotations

import strawberry

from bff.notices.engagement import NoticeOpenError, record_notice_open
from schema.context import Info
from schema.errors import UserError
from schema.notices.types import RecordNoticeOpenPayload

UNAUTHENTICATED = UserError(code="UNAUTHENTICATED", field=None, message="sign in first")


@strawberry.type
class NoticeMutations:
    @strawberry.mutation
    async def record_notice_open(
        self, info: Info, token: str, scene: int | None = None
    ) -> RecordNoticeOpenPayload:
        """The mini-program started from a tapped notice (its page's `n` token); recorded once."""
        viewer_id = info.context.viewer_id
        if viewer_id is None:
            return RecordNoticeOpenPayload(ok=False, user_errors=[UNAUTHENTICATED])
        settings = info.context.resources.settings
        try:
            await record_notice_open(
                secret=settings.session_secret,
                token=token,
                user_id=viewer_id,
                scene=scene,
                zone=settings.zone,
            )
        except NoticeOpenError as exc:
            field = "scene" if exc.code == "INVALID_SCENE" else "token"
            return RecordNoticeOpenPayload(
                ok=False, user_errors=[UserError(code=exc.code.value, field=field, message=exc.message)]
            )
        return RecordNoticeOpenPayload(ok=True, user_errors=[])
