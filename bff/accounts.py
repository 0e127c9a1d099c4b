"""Login: a ``wx.login`` code becomes a user and a session token.

``login`` redeems the code with jscode2session, creates the user on first login (or updates
``seen_at`` and the unionid), and signs a session token with SESSION_SECRET. The ``session_key``
WeChat returns is not stored and never leaves this function. Expected failures raise
LoginFailed with a stable code for the mini program:

* ``INVALID_CODE`` (40029, or an empty/oversized code): call ``wx.login`` again;
* ``CODE_USED`` (40163): codes are single-use, call ``wx.login`` again;
* ``CODE_BLOCKED`` (40226): WeChat blocked this user's login (high risk);
* ``WECHAT_UNAVAILABLE``: WeChat is busy or unreachable, or our credentials are wrong; try later.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from bff.models import User
from bff.runtime.logsafe import mask
from bff.sessions import SESSION_TTL, issue_session_token
from bff.wechat.client import WeChatClient
from bff.wechat.errors import Action, WeChatAPIError, WeChatTransportError

__all__ = ["LoginErrorCode", "LoginFailed", "LoginResult", "login", "user_for_openid"]

log = logging.getLogger("lvyue.accounts")

MAX_CODE_LENGTH = 128


class LoginErrorCode(StrEnum):
    INVALID_CODE = "INVALID_CODE"
    CODE_USED = "CODE_USED"
    CODE_BLOCKED = "CODE_BLOCKED"
    WECHAT_UNAVAILABLE = "WECHAT_UNAVAILABLE"


_MESSAGES = {
    LoginErrorCode.INVALID_CODE: "The login code is invalid or expired; call wx.login and try again.",
    LoginErrorCode.CODE_USED: "The login code was already used; call wx.login and try again.",
    LoginErrorCode.CODE_BLOCKED: "WeChat refused this login.",
    LoginErrorCode.WECHAT_UNAVAILABLE: "WeChat is not reachable right now; please try again shortly.",
}

_BY_ERRCODE = {
    40029: LoginErrorCode.INVALID_CODE,
    40163: LoginErrorCode.CODE_USED,
    40226: LoginErrorCode.CODE_BLOCKED,
}


class LoginFailed(Exception):
    def __init__(self, code: LoginErrorCode) -> None:
        super().__init__(_MESSAGES[code])
        self.code = code
        self.message = _MESSAGES[code]


@dataclass(frozen=True)
class LoginResult:
    user: User
    token: str
    expires_at: datetime  # UTC


async def user_for_openid(
    openid: str, *, unionid: str | None = None, seen_at: datetime | None = None
) -> User:
    """The user with ``openid``, created on first sight; records the unionid and last-seen time given."""
    defaults: dict[str, object] = {}
    if unionid:
        defaults["unionid"] = unionid
    if seen_at is not None:
        defaults["seen_at"] = seen_at
    user, created = await User.get_or_create(openid=openid, defaults=defaults)
    if created:
        return user
    updates: dict[str, object] = {}
    if seen_at is not None:
        updates["seen_at"] = seen_at
    if unionid and unionid != user.unionid:
        updates["unionid"] = unionid
    if updates:
        await User.filter(id=user.id).update(**updates)
        for name, value in updates.items():
            setattr(user, name, value)
    return user


async def login(
    client: WeChatClient,
    code: str,
    *,
    session_secret: str,
    ttl: timedelta = SESSION_TTL,
    now: datetime | None = None,
) -> LoginResult:
    """Redeem ``code`` and sign the user in; raises LoginFailed for expected failures."""
    code = code.strip()
    if not code or len(code) > MAX_CODE_LENGTH:
        raise LoginFailed(LoginErrorCode.INVALID_CODE)
    try:
        session = await client.code_to_session(code)
    except WeChatAPIError as exc:
        reason = _BY_ERRCODE.get(exc.errcode)
        if reason is not None:
            raise LoginFailed(reason) from None
        level = logging.ERROR if exc.action is Action.CREDENTIALS else logging.WARNING
        log.log(level, "login: jscode2session failed with errcode %d (rid %s)", exc.errcode, exc.request_id)
        raise LoginFailed(LoginErrorCode.WECHAT_UNAVAILABLE) from None
    except WeChatTransportError as exc:
        log.warning("login: jscode2session unreachable: %s", exc.detail)
        raise LoginFailed(LoginErrorCode.WECHAT_UNAVAILABLE) from None
    moment = now or datetime.now(UTC)
    user = await user_for_openid(session.openid, unionid=session.unionid, seen_at=moment)
    token, expires_at = issue_session_token(session_secret, user.id, ttl, now=moment)
    log.info("login: user %d (%s)", user.id, mask(session.openid))
    return LoginResult(user=user, token=token, expires_at=expires_at)
