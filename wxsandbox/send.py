"""``subscribeMessage.send`` with WeChat's checks in the order of wechat-platform.md §12.4.

token → injected faults → body (44002, 47001) → openid known (40003) → template exists (40037)
→ not banned (43107) → page (41030) → keywords (47003) → sensitive words (45168) → openid in
flight (43108) → daily limit (45009) → quota (43101) → deliver, answer a 64-bit msgid, push
``subscribe_msg_sent_event``. A failed send consumes nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from bff.runtime.logsafe import mask
from bff.wechat.keywords import keyword_rule_violation
from wxsandbox.errors import WxError
from wxsandbox.push import PushDelivery
from wxsandbox.state import InboxMessage, SandboxState
from wxsandbox.templates import SandboxTemplate

log = logging.getLogger("wxsandbox.send")

MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")
SENT_EVENT = "subscribe_msg_sent_event"


@dataclass(frozen=True)
class SendRequest:
    touser: str
    template_id: str
    page: str | None
    data: dict[str, Any]
    miniprogram_state: str
    lang: str


async def subscribe_send(
    state: SandboxState, push: PushDelivery, access_token: str | None, raw_body: bytes
) -> dict[str, Any]:
    """The JSON answer of one send; failures raise WxError (and are counted by errcode)."""
    try:
        answer = await _send(state, push, access_token, raw_body)
    except WxError as exc:
        state.sends_by_errcode[exc.errcode] += 1
        raise
    state.sends_by_errcode[0] += 1
    return answer


async def _send(
    state: SandboxState, push: PushDelivery, access_token: str | None, raw_body: bytes
) -> dict[str, Any]:
    async with state.lock:
        state.tokens.check(access_token, state.clock.now())
        faults = state.faults
        if state.roll(faults.system_error_share):
            raise WxError(-1)
        if state.roll(faults.minute_limit_share):
            raise WxError(45011)
        if state.roll(faults.concurrent_share):
            raise WxError(43108)
        held = state.roll(faults.timeout_share)
        hold_s = faults.timeout_hold_ms / 1000
        deliver_before_hold = faults.timeout_after_send
        latency_s = (
            faults.send_latency_ms if faults.send_latency_ms is not None else state.config.send_latency_ms
        ) / 1000
    if held and not deliver_before_hold:
        # WeChat hangs and delivers nothing; whoever still listens at the end hears "system error".
        await asyncio.sleep(hold_s)
        raise WxError(-1)

    request = parse_send_body(raw_body)
    async with state.lock:
        template = _check_request(state, request)
        if request.touser in state.in_flight:
            raise WxError(43108)
        state.in_flight.add(request.touser)
    try:
        if latency_s > 0:
            await asyncio.sleep(latency_s)
        async with state.lock:
            message = _deliver(state, request, template)
    finally:
        state.in_flight.discard(request.touser)

    push.emit(
        SENT_EVENT,
        request.touser,
        [
            {
                "TemplateId": template.template_id,
                "MsgID": message.msgid,
                "ErrorCode": 0,
                "ErrorStatus": "success",
            }
        ],
    )
    if held:
        # "Sent, but the answer was lost": the client times out although the user got the card.
        await asyncio.sleep(hold_s)
    return {"errcode": 0, "errmsg": "ok", "msgid": message.msgid}


def parse_send_body(raw_body: bytes) -> SendRequest:
    """44002 for an empty body, 47001 for anything that is not the documented JSON object."""
    if not raw_body.strip():
        raise WxError(44002)
    try:
        body = json.loads(raw_body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _format_error("body is not JSON") from None
    if not isinstance(body, dict):
        raise _format_error("body is not a JSON object")
    touser = body.get("touser")
    template_id = body.get("template_id")
    data = body.get("data")
    page = body.get("page")
    if not isinstance(touser, str):
        raise _format_error("touser missing or not a string")
    if not isinstance(template_id, str):
        raise _format_error("template_id missing or not a string")
    if not isinstance(data, dict):
        raise _format_error("data missing or not an object")
    if page is not None and not isinstance(page, str):
        raise _format_error("page is not a string")
    miniprogram_state = body.get("miniprogram_state", "formal")
    if miniprogram_state not in MINIPROGRAM_STATES:
        raise _format_error(f"miniprogram_state {miniprogram_state!r} is not one of {MINIPROGRAM_STATES}")
    lang = body.get("lang", "zh_CN")
    if lang not in LANGS:
        raise _format_error(f"lang {lang!r} is not one of {LANGS}")
    return SendRequest(
        touser=touser,
        template_id=template_id,
        page=page or None,
        data=data,
        miniprogram_state=miniprogram_state,
        lang=lang,
    )


def _format_error(reason: str) -> WxError:
    # WeChat's errmsg gives no reason; the sandbox's log does.
    log.info("send refused with 47001: %s", reason)
    return WxError(47001)


def _check_request(state: SandboxState, request: SendRequest) -> SandboxTemplate:
    if request.touser not in state.users:
        raise WxError(40003)
    template = state.templates.get(request.template_id)
    if template is None:
        raise WxError(40037)
    if template.template_id in state.banned_templates:
        raise WxError(43107)
    pages = state.config.pages
    if request.page is not None and pages is not None:
        path = request.page.split("?", 1)[0].lstrip("/")
        if path not in pages:
            raise WxError(41030)
    values = keyword_values(template, request.data)
    for word in state.config.sensitive_words:
        if any(word in value for value in values.values()):
            raise WxError(45168)
    return template


def keyword_values(template: SandboxTemplate, data: dict[str, Any]) -> dict[str, str]:
    """Each keyword's value as a string, or WxError 47003 naming the first bad keyword."""
    values: dict[str, str] = {}
    for keyword in template.keywords:
        item = data.get(keyword.code)
        raw = item.get("value") if isinstance(item, dict) else None
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise WxError(47003, f"argument invalid! data.{keyword.code}.value is emtpy")
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise WxError(47003, f"argument invalid! data.{keyword.code}.value invalid")
        value = raw if isinstance(raw, str) else str(raw)
        if keyword_rule_violation(keyword.kind, value, keyword.enum_values) is not None:
            raise WxError(47003, f"argument invalid! data.{keyword.code}.value invalid")
        values[keyword.code] = value
    return values


def _deliver(state: SandboxState, request: SendRequest, template: SandboxTemplate) -> InboxMessage:
    today = state.clock.day()
    if state.daily_sends[today] >= state.config.daily_send_limit:
        raise WxError(45009)
    subscription = state.subscription(request.touser, template.template_id)
    if template.one_time:
        if subscription.remaining <= 0:
            raise WxError(43101)
        subscription.remaining -= 1
    elif not subscription.active:
        raise WxError(43101)
    state.daily_sends[today] += 1
    values = keyword_values(template, request.data)
    message = InboxMessage(
        msgid=state.next_msgid(),
        openid=request.touser,
        template_id=template.template_id,
        title=template.title,
        data=values,
        page=request.page,
        lines=template.render_lines(values),
        received_at=state.clock.now(),
        miniprogram_state=request.miniprogram_state,
        lang=request.lang,
    )
    state.inbox.append(message)
    log.info("delivered %s to %s (msgid %d)", template.template_id, mask(request.touser), message.msgid)
    return message
