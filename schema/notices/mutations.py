from __future__ import annotations

import strawberry

from bff.notices.engagement import NoticeOpenError, record_notice_open
from schema.context import Info, as_viewer
from schema.errors import UNAUTHENTICATED, UserError
from schema.notices.types import RecordNoticeOpenPayload


@strawberry.type
class NoticeMutations:
    @strawberry.mutation
    async def record_notice_open(
        self, info: Info, token: str, scene: int | None = None
    ) -> RecordNoticeOpenPayload:
        """The mini-program started from a tapped notice (its page's `n` token); recorded once."""
        settings = info.context.resources.settings

        async def record(viewer_id: int) -> RecordNoticeOpenPayload:
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

        signed_out = RecordNoticeOpenPayload(ok=False, user_errors=[UNAUTHENTICATED])
        return await as_viewer(info, record, signed_out=signed_out)
