"""``GET/POST /wechat/push``: WeChat's message push (handshake, plaintext and secure mode).

The answer must come within WeChat's 5 s, so the endpoint only verifies, stores and queues
(bff.wechat.push); the events are handled by the ``handle_push_event`` job.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bff.constants import PUSH_MAX_BODY_BYTES
from bff.runtime.resources import Resources
from bff.web.bodies import BodyTooLarge, read_body
from bff.wechat.push import PushRejected, answer_handshake, receive_push

log = logging.getLogger("lvyue.web.push")


async def wechat_push(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    params = dict(request.query_params)
    try:
        if request.method == "GET":
            return PlainTextResponse(answer_handshake(params, resources.settings))
        try:
            body = await read_body(request, PUSH_MAX_BODY_BYTES)
        except BodyTooLarge:
            raise PushRejected("body too large", status=413) from None
        await receive_push(params, body, resources.settings, resources.arq)
    except PushRejected as exc:
        log.warning("push refused (%d): %s", exc.status, exc.reason)
        return PlainTextResponse(exc.reason, status_code=exc.status)
    return PlainTextResponse("success")
