"""Control paths under ``/sandbox/`` (not WeChat's): play users, inject faults, look inside.

Requests and answers are JSON; a bad request is HTTP 400 ``{"error": "<what is wrong>"}``.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from wxsandbox.faults import Faults, FaultsError, apply_fault_changes
from wxsandbox.inbox_page import render_inbox_page
from wxsandbox.sandbox import sandbox_of
from wxsandbox.shipping import (
    CONFIRMED,
    SETTLEMENT_EVENT,
    order_keys,
    register_payment,
    settlement_fields,
    shipping_overview,
)
from wxsandbox.state import SandboxState, new_openid
from wxsandbox.subscribe import CHANGE_EVENT, POPUP_EVENT, AnswerError, change_setting, play_answers

MAX_WAIT_S = 30.0


class BadRequest(Exception):
    pass


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _string(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{name} must be a non-empty string")
    return value


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false")
    return value


async def login_code(request: Request) -> Response:
    state = sandbox_of(request).state
    try:
        body = await _body(request)
        openid = _string(body, "openid", required=False) or new_openid()
        unionid = _string(body, "unionid", required=False)
        blocked = _flag(body, "blocked", False)
    except BadRequest as exc:
        return _bad(str(exc))
    async with state.lock:
        code = state.issue_login_code(openid, unionid=unionid, blocked=blocked)
    return JSONResponse({"code": code, "openid": openid})


async def subscribe(request: Request) -> Response:
    sandbox = sandbox_of(request)
    state = sandbox.state
    try:
        body = await _body(request)
        openid = _string(body, "openid")
        assert openid is not None
        answers = body.get("answers")
        if not isinstance(answers, dict) or not all(isinstance(v, str) for v in answers.values()):
            raise BadRequest('answers must be an object {"<template id>": "accept|reject|ban|filter"}')
        always_keep = _flag(body, "always_keep", False)
        push = _flag(body, "push", True)
        async with state.lock:
            outcome = play_answers(state, openid, answers, always_keep=always_keep)
    except (BadRequest, AnswerError) as exc:
        return _bad(str(exc))
    if push:
        sandbox.push.emit(POPUP_EVENT, openid, outcome.popup_items)
    return JSONResponse(outcome.result)


async def settings(request: Request) -> Response:
    sandbox = sandbox_of(request)
    state = sandbox.state
    try:
        body = await _body(request)
        openid = _string(body, "openid")
        template_id = _string(body, "template_id")
        status = _string(body, "status")
        push = _flag(body, "push", True)
        assert openid is not None and template_id is not None and status is not None
        async with state.lock:
            items = change_setting(state, openid, template_id, status)
            answer = _quota(state, openid, template_id)
    except (BadRequest, AnswerError) as exc:
        return _bad(str(exc))
    if push:
        sandbox.push.emit(CHANGE_EVENT, openid, items)
    return JSONResponse({**answer, "pushed": bool(push and items and sandbox.push.enabled)})


async def faults(request: Request) -> Response:
    state = sandbox_of(request).state
    async with state.lock:
        if request.method == "DELETE":
            state.faults = Faults()
        elif request.method == "POST":
            try:
                seed = apply_fault_changes(state.faults, await _body(request))
            except (BadRequest, FaultsError) as exc:
                return _bad(str(exc))
            if seed is not None:
                state.reseed(seed)
        return JSONResponse(state.faults.as_dict())


async def inbox(request: Request) -> Response:
    state = sandbox_of(request).state
    openid = request.query_params.get("openid")
    template_id = request.query_params.get("template_id")
    async with state.lock:
        messages = [
            message.as_json()
            for message in state.inbox
            if (openid is None or message.openid == openid)
            and (template_id is None or message.template_id == template_id)
        ]
    return JSONResponse(messages)


async def inbox_page(request: Request) -> Response:
    state = sandbox_of(request).state
    async with state.lock:
        html = render_inbox_page(list(state.inbox), openid=request.query_params.get("openid") or None)
    return HTMLResponse(html)


async def to_inbox_page(request: Request) -> Response:
    return RedirectResponse("/sandbox/inbox/page", status_code=307)


async def quota(request: Request) -> Response:
    state = sandbox_of(request).state
    openid = request.query_params.get("openid")
    template_id = request.query_params.get("template_id")
    if not openid:
        return _bad("openid is required")
    async with state.lock:
        if template_id:
            if template_id not in state.templates:
                return _bad(f"unknown template_id {template_id!r}")
            return JSONResponse(_quota(state, openid, template_id))
        return JSONResponse(
            {"openid": openid, "templates": [_quota(state, openid, tid) for tid in state.templates]}
        )


def _quota(state: SandboxState, openid: str, template_id: str) -> dict[str, Any]:
    template = state.templates[template_id]
    subscription = state.subscriptions.get((openid, template_id))
    return {
        "openid": openid,
        "template_id": template_id,
        "type": template.type,
        "remaining": subscription.remaining if subscription else 0,
        "active": subscription.active if subscription else False,
        "kept": subscription.kept if subscription else None,
        "banned": template_id in state.banned_templates,
    }


async def stats(request: Request) -> Response:
    sandbox = sandbox_of(request)
    state = sandbox.state
    async with state.lock:
        records = sandbox.push.records
        answer = {
            "tokens": dict(state.tokens.counters),
            "counters": dict(state.counters),
            "sends_by_errcode": {str(code): count for code, count in sorted(state.sends_by_errcode.items())},
            "sends_today": state.daily_sends[state.clock.day()],
            "inbox": len(state.inbox),
            "users": len(state.users),
            "pushes": {
                "records": len(records),
                "attempts": sum(len(record.attempts) for record in records),
                "delivered": sum(1 for record in records if record.delivered is True),
                "failed": sum(1 for record in records if record.delivered is False),
                "pending": sandbox.push.pending,
            },
            "clock_offset_s": state.clock.offset,
        }
    return JSONResponse(answer)


async def pushes(request: Request) -> Response:
    push = sandbox_of(request).push
    wait_raw = request.query_params.get("wait_s")
    if wait_raw is not None:
        try:
            wait_s = float(wait_raw)
        except ValueError:
            return _bad(f"wait_s must be a number of seconds, got {wait_raw!r}")
        if not math.isfinite(wait_s) or wait_s < 0:
            return _bad(f"wait_s must be a non-negative number, got {wait_raw!r}")
        await push.wait_idle(min(wait_s, MAX_WAIT_S))
    event = request.query_params.get("event")
    openid = request.query_params.get("openid")
    return JSONResponse(
        [
            record.as_json()
            for record in push.records
            if (event is None or record.event == event) and (openid is None or record.openid == openid)
        ]
    )


async def reset(request: Request) -> Response:
    sandbox = sandbox_of(request)
    async with sandbox.state.lock:
        sandbox.state.reset()
        sandbox.push.forget()
    return JSONResponse({"ok": True})


async def clock(request: Request) -> Response:
    state = sandbox_of(request).state
    if request.method == "POST":
        try:
            body = await _body(request)
        except BadRequest as exc:
            return _bad(str(exc))
        advance = body.get("advance_s")
        if isinstance(advance, bool) or not isinstance(advance, int | float) or not 0 <= advance < math.inf:
            return _bad("advance_s must be a non-negative number of seconds")
        async with state.lock:
            state.clock.advance(float(advance))
    return JSONResponse({"now": state.clock.datetime().isoformat(), "offset_s": state.clock.offset})


async def ban(request: Request) -> Response:
    state = sandbox_of(request).state
    try:
        body = await _body(request)
        template_id = _string(body, "template_id")
        banned = _flag(body, "banned", True)
    except BadRequest as exc:
        return _bad(str(exc))
    assert template_id is not None
    async with state.lock:
        if template_id not in state.templates:
            return _bad(f"unknown template_id {template_id!r}")
        if banned:
            state.banned_templates.add(template_id)
        else:
            state.banned_templates.discard(template_id)
    return JSONResponse({"template_id": template_id, "banned": banned})


async def payments(request: Request) -> Response:
    state = sandbox_of(request).state
    try:
        body = await _body(request)
        transaction_id = _string(body, "transaction_id", required=False)
        mchid = _string(body, "mchid", required=False)
        out_trade_no = _string(body, "out_trade_no", required=False)
        openid = _string(body, "openid", required=False)
        if not order_keys(transaction_id, mchid, out_trade_no):
            raise BadRequest("give transaction_id, or mchid and out_trade_no")
    except BadRequest as exc:
        return _bad(str(exc))
    async with state.lock:
        order = register_payment(
            state, transaction_id=transaction_id, mchid=mchid, out_trade_no=out_trade_no, payer_openid=openid
        )
        return JSONResponse(order.as_json())


async def shipping(request: Request) -> Response:
    """Every payment with its shipping state and last upload (what the merchant uploaded)."""
    state = sandbox_of(request).state
    async with state.lock:
        return JSONResponse(shipping_overview(state))


async def order_state(request: Request) -> Response:
    sandbox = sandbox_of(request)
    state = sandbox.state
    try:
        body = await _body(request)
        keys = order_keys(
            _string(body, "transaction_id", required=False),
            _string(body, "mchid", required=False),
            _string(body, "out_trade_no", required=False),
        )
        new_state = body.get("order_state")
        if isinstance(new_state, bool) or new_state not in (1, 2, 3, 4, 5, 6):
            raise BadRequest("order_state must be 1..6")
    except BadRequest as exc:
        return _bad(str(exc))
    async with state.lock:
        order = next((state.orders[key] for key in keys if key in state.orders), None)
        if order is None:
            return _bad("no such payment")
        confirmed = new_state == CONFIRMED and order.order_state != CONFIRMED
        order.order_state = new_state
        answer = order.as_json()
    if confirmed and order.payer_openid:
        # The user confirmed receipt by hand (confirm_receive_method 2): WeChat settles and pushes.
        fields = settlement_fields(order, confirm_receive_method=2, settlement_time=int(time.time()))
        sandbox.push.emit(SETTLEMENT_EVENT, order.payer_openid, [fields])
    return JSONResponse(answer)


ROUTES = [
    Route("/sandbox", to_inbox_page, methods=["GET"]),
    Route("/sandbox/", to_inbox_page, methods=["GET"]),
    Route("/sandbox/login-code", login_code, methods=["POST"]),
    Route("/sandbox/subscribe", subscribe, methods=["POST"]),
    Route("/sandbox/settings", settings, methods=["POST"]),
    Route("/sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
    Route("/sandbox/inbox", inbox, methods=["GET"]),
    Route("/sandbox/inbox/page", inbox_page, methods=["GET"]),
    Route("/sandbox/quota", quota, methods=["GET"]),
    Route("/sandbox/stats", stats, methods=["GET"]),
    Route("/sandbox/pushes", pushes, methods=["GET"]),
    Route("/sandbox/reset", reset, methods=["POST"]),
    Route("/sandbox/clock", clock, methods=["GET", "POST"]),
    Route("/sandbox/ban", ban, methods=["POST"]),
    Route("/sandbox/payments", payments, methods=["POST"]),
    Route("/sandbox/orders/state", order_state, methods=["POST"]),
    Route("/sandbox/shipping", shipping, methods=["GET"]),
]
