"""The subscription tab over HTTP: a signed-in user asks, accepts, reports; WeChat pushes; one unit."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from arq.worker import Worker

from bff.models import ConsentCredit, CreditSource, User
from bff.runtime.settings import Settings
from bff.sessions import issue_session_token
from bff.wechat.crypto import PushCrypto
from bff.wechat.events import PushFormat, build_event_body, build_secure_envelope
from tests.conftest import graphql
from tests.schema.subscriptions.documents import CENTER, REPORT, SUBSCRIBE_REQUEST, by_key

DELIVERY = "tmpl-order-delivery-0001"


async def push_popup(
    client: httpx.AsyncClient, settings: Settings, openid: str, status: str, *, at: int | None = None
) -> None:
    """WeChat's push in secure mode (the BFF has an EncodingAESKey, so it takes no plaintext),
    created at ``at`` (Unix seconds; now by default): a retry repeats its CreateTime."""
    assert settings.wechat_aes_key is not None
    crypto = PushCrypto(
        token=settings.wechat_push_token,
        encoding_aes_key=settings.wechat_aes_key,
        appid=settings.wechat_appid,
    )
    timestamp = str(at if at is not None else int(time.time()))
    body = build_event_body(
        PushFormat.XML,
        to_user="gh_0a1b2c3d4e5f",
        openid=openid,
        event="subscribe_msg_popup_event",
        items=[{"TemplateId": DELIVERY, "SubscribeStatusString": status, "PopupScene": 0}],
        create_time=int(timestamp),
    )
    encrypt = crypto.encrypt(body)
    params = {
        "signature": crypto.signature(timestamp, "7"),
        "timestamp": timestamp,
        "nonce": "7",
        "openid": openid,
        "encrypt_type": "aes",
        "msg_signature": crypto.msg_signature(timestamp, "7", encrypt),
    }
    envelope = build_secure_envelope(PushFormat.XML, to_user="gh_0a1b2c3d4e5f", encrypt=encrypt)
    response = await client.post("/wechat/push", params=params, content=envelope)
    assert response.status_code == 200, response.text


async def test_an_accept_reported_and_pushed_is_one_unit_in_the_tab(
    client: httpx.AsyncClient, settings: Settings, worker: Callable[..., Awaitable[Worker]]
) -> None:
    # given a signed-in user
    user = await User.create(openid="oUSER_consent_e2e_0001")
    token, _ = issue_session_token(settings.session_secret, user.id)

    # when the mini-program asks what to request after payment, and reports the accept
    asked: dict[str, Any] = (
        await graphql(client, SUBSCRIBE_REQUEST, {"moment": "AFTER_PAYMENT", "orderNo": "SO1"}, token)
    )["data"]["subscribeRequest"]
    assert DELIVERY in asked["templateIds"]
    reported = await graphql(
        client,
        REPORT,
        {
            "input": {
                "requestId": asked["requestId"],
                "results": [{"templateId": DELIVERY, "status": "ACCEPT"}],
            }
        },
        token,
    )
    assert reported["data"]["reportSubscribeResult"]["userErrors"] == []
    # and WeChat pushes the same accept (twice: a retry), and the worker handles the push
    created = int(time.time())
    await push_popup(client, settings, user.openid, "accept", at=created)
    await push_popup(client, settings, user.openid, "accept", at=created)
    await (await worker()).run_check()

    # then the tab shows one send left
    center = (await graphql(client, CENTER, token=token))["data"]["subscriptionCenter"]
    topic = by_key(center["topics"])["NODE_DELIVERED"]
    assert (topic["remainingQuota"], topic["wechatStatus"]) == (1, "ACCEPT")
    # because the push reached the ledger and was paired with the report
    [pushed] = await ConsentCredit.filter(user_id=user.id, source=CreditSource.PUSH)
    assert pushed.matched_id is not None and not pushed.granted


async def test_without_a_valid_session_the_tab_is_null(client: httpx.AsyncClient) -> None:
    # when
    anonymous = await graphql(client, CENTER)
    forged = await graphql(client, CENTER, token="not-a-session-token")

    # then
    assert anonymous == forged == {"data": {"subscriptionCenter": None}}
