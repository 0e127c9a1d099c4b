"""WeChat's business errors as the sandbox answers them: HTTP 200, ``errcode`` and ``errmsg``.

``errmsg`` ends with a request id, `` rid: xxxxxxxx-xxxxxxxx-xxxxxxxx`` (wechat-platform.md §0),
so log parsers in the client see the same shape as in production.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from starlette.responses import JSONResponse

# The errmsg texts seen in WeChat's answers (§1.3, §6.1, §7, §10); "emtpy" is WeChat's spelling.
MESSAGES: dict[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40014: "invalid access_token",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    40226: "code blocked",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41008: "missing code",
    41030: "invalid page",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    43101: "user refuse to accept the msg",
    43107: "subscribe message capability or template is banned",
    43108: "Cannot make concurrent calls to the same OpenID, please try again",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit mustslower retry next minute",
    45168: "keyword in blacklist",
    47001: "data format error",
    47003: "argument invalid!",
    10060001: "支付单不存在",
    10060004: "支付单处于不可发货的状态",
    10060006: "非快递物流方式不支持分拆发货",
    268485228: "统一发货模式下只能填写一个物流信息",
    404: "not found",
}


class WxError(Exception):
    """A business error: becomes ``{"errcode": code, "errmsg": "<message> rid: ..."}``."""

    def __init__(self, errcode: int, detail: str | None = None) -> None:
        self.errcode = errcode
        self.message = detail if detail is not None else MESSAGES.get(errcode, "error")
        super().__init__(f"{errcode} {self.message}")

    def body(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "errmsg": f"{self.message} rid: {new_rid()}"}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body())


def new_rid() -> str:
    """Three groups of 8 hex digits, the first from the time as WeChat's rids appear to be."""
    return f"{int(time.time()) & 0xFFFFFFFF:08x}-{secrets.randbits(32):08x}-{secrets.randbits(32):08x}"


def ok(**fields: Any) -> JSONResponse:
    """A success answer of an API that reports ``errcode`` 0 (send, gettemplate, shipping)."""
    return JSONResponse({"errcode": 0, "errmsg": "ok", **fields})
