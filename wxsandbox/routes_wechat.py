"""The WeChat server API paths the sandbox stands in for (api.weixin.qq.com).

Business errors are HTTP 200 with ``errcode``/``errmsg`` (wechat-platform.md §0); a wrong HTTP
method answers 43001/43002 like WeChat (404 for gettemplate, §8.1).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from wxsandbox.errors import WxError, ok
from wxsandbox.sandbox import sandbox_of
from wxsandbox.send import subscribe_send
from wxsandbox.shipping import (
    SETTLEMENT_AFTER_S,
    SETTLEMENT_EVENT,
    SHIPPED,
    get_order,
    settlement_fields,
    upload_shipping_info,
)
from wxsandbox.state import SandboxState


async def token_fault(state: SandboxState) -> Response | None:
    """An injected failure of a token endpoint (``token_*`` faults), or None to answer normally.

    A held request (``token_timeout_share``) is answered normally after ``timeout_hold_ms``, when
    a caller with a shorter read timeout has long given up.
    """
    async with state.lock:
        faults = state.faults
        if state.roll(faults.token_server_error_share):
            state.counters["token_fault_http_502"] += 1
            return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>", status_code=502)
        if state.roll(faults.token_not_json_share):
            state.counters["token_fault_not_json"] += 1
            return HTMLResponse("<html><body>系统繁忙，请稍后再试</body></html>")
        held = state.roll(faults.token_timeout_share)
        hold_s = faults.timeout_hold_ms / 1000
        if held:
            state.counters["token_fault_held"] += 1
    if held:
        await asyncio.sleep(hold_s)
    return None


async def token(request: Request) -> Response:
    if request.method != "GET":
        return WxError(43001).response()
    sandbox = sandbox_of(request)
    state = sandbox.state
    query = request.query_params
    fault = await token_fault(state)
    if fault is not None:
        return fault
    async with state.lock:
        state.counters["token"] += 1
        try:
            if query.get("grant_type") != "client_credential":
                raise WxError(40002)
            _check_credentials(
                sandbox.config.appid, sandbox.config.secret, query.get("appid"), query.get("secret")
            )
            now = state.clock.now()
            issued = state.tokens.issue_plain(now, state.clock.day())
        except WxError as exc:
            return exc.response()
        return JSONResponse({"access_token": issued.value, "expires_in": issued.expires_in(now)})


async def stable_token(request: Request) -> Response:
    if request.method != "POST":
        return WxError(43002).response()
    sandbox = sandbox_of(request)
    state = sandbox.state
    raw = await request.body()
    fault = await token_fault(state)
    if fault is not None:
        return fault
    async with state.lock:
        state.counters["stable_token"] += 1
        try:
            body = _json_object(raw)
            if body.get("grant_type") != "client_credential":
                raise WxError(40002)
            _check_credentials(
                sandbox.config.appid, sandbox.config.secret, body.get("appid"), body.get("secret")
            )
            force = body.get("force_refresh", False)
            if not isinstance(force, bool):
                raise WxError(47001)
            now = state.clock.now()
            issued = state.tokens.stable(now, state.clock.day(), force_refresh=force)
        except WxError as exc:
            return exc.response()
        return JSONResponse({"access_token": issued.value, "expires_in": issued.expires_in(now)})


async def jscode2session(request: Request) -> Response:
    if request.method != "GET":
        return WxError(43001).response()
    sandbox = sandbox_of(request)
    state = sandbox.state
    query = request.query_params
    async with state.lock:
        try:
            _check_credentials(
                sandbox.config.appid, sandbox.config.secret, query.get("appid"), query.get("secret")
            )
            if query.get("grant_type", "authorization_code") != "authorization_code":
                raise WxError(40002)
            code = query.get("js_code")
            if not code:
                raise WxError(41008)
            answer = state.redeem_login_code(code)
        except WxError as exc:
            state.counters[f"jscode2session:{exc.errcode}"] += 1
            return exc.response()
        state.counters["jscode2session:0"] += 1
        return JSONResponse(answer)


async def gettemplate(request: Request) -> Response:
    if request.method != "GET":
        return WxError(404, "api not found, please check the http method").response()
    state = sandbox_of(request).state
    async with state.lock:
        try:
            state.tokens.check(request.query_params.get("access_token"), state.clock.now())
        except WxError as exc:
            return exc.response()
        return ok(data=[template.to_wechat() for template in state.templates.values()])


async def send(request: Request) -> Response:
    if request.method != "POST":
        return WxError(43002).response()
    sandbox = sandbox_of(request)
    raw = await request.body()
    try:
        answer = await subscribe_send(
            sandbox.state, sandbox.push, request.query_params.get("access_token"), raw
        )
    except WxError as exc:
        return exc.response()
    return JSONResponse(answer)


async def shipping_upload(request: Request) -> Response:
    if request.method != "POST":
        return WxError(43002).response()
    sandbox = sandbox_of(request)
    state = sandbox.state
    raw = await request.body()
    async with state.lock:
        state.counters["upload_shipping_info"] += 1
        try:
            state.tokens.check(request.query_params.get("access_token"), state.clock.now())
            order = upload_shipping_info(state, raw)
        except WxError as exc:
            return exc.response()
        estimate = int(time.time()) + SETTLEMENT_AFTER_S
    if order.order_state == SHIPPED and order.payer_openid:
        fields = settlement_fields(order, estimated_settlement_time=estimate)
        sandbox.push.emit(SETTLEMENT_EVENT, order.payer_openid, [fields])
    return ok()


async def shipping_get_order(request: Request) -> Response:
    if request.method != "POST":
        return WxError(43002).response()
    state = sandbox_of(request).state
    raw = await request.body()
    async with state.lock:
        state.counters["get_order"] += 1
        try:
            state.tokens.check(request.query_params.get("access_token"), state.clock.now())
            return ok(order=get_order(state, raw))
        except WxError as exc:
            return exc.response()


def _check_credentials(appid: str, secret: str, given_appid: object, given_secret: object) -> None:
    if not given_appid:
        raise WxError(41002)
    if given_appid != appid:
        raise WxError(40013)
    if not given_secret:
        raise WxError(41004)
    if given_secret != secret:
        raise WxError(40125)


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise WxError(44002)
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WxError(47001) from None
    if not isinstance(body, dict):
        raise WxError(47001)
    return body


_BOTH = ["GET", "POST"]

ROUTES = [
    Route("/cgi-bin/token", token, methods=_BOTH),
    Route("/cgi-bin/stable_token", stable_token, methods=_BOTH),
    Route("/sns/jscode2session", jscode2session, methods=_BOTH),
    Route("/wxaapi/newtmpl/gettemplate", gettemplate, methods=_BOTH),
    Route("/cgi-bin/message/subscribe/send", send, methods=_BOTH),
    Route("/wxa/sec/order/upload_shipping_info", shipping_upload, methods=_BOTH),
    Route("/wxa/sec/order/get_order", shipping_get_order, methods=_BOTH),
]
