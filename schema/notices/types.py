from __future__ import annotations

import strawberry

from schema.errors import UserError


@strawberry.type(name="RecordNoticeOpenPayload")
class RecordNoticeOpenPayload:
    ok: bool = strawberry.field(description="True when the open is recorded (now or before)")
    user_errors: list[UserError]
