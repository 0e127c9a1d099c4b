from __future__ import annotations

import strawberry

from bff.accounts import LoginFailed, login
from bff.wechat.client import wechat_client
from schema.account.types import LoginPayload, ViewerType
from schema.context import Info
from schema.errors import UserError


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Exchange a wx.login code for a session token.")
    async def login(self, info: Info, code: str) -> LoginPayload:
        resources = info.context.resources
        try:
            result = await login(
                wechat_client(resources), code, session_secret=resources.settings.session_secret
            )
        except LoginFailed as exc:
            return LoginPayload(
                token=None,
                expires_at=None,
                viewer=None,
                user_errors=[UserError(code=exc.code.value, field="code", message=exc.message)],
            )
        return LoginPayload(
            token=result.token,
            expires_at=result.expires_at.astimezone(resources.settings.zone).isoformat(),
            viewer=ViewerType.from_model(result.user),
            user_errors=[],
        )
