"""``/wechat/push`` end to end: the sandbox pushes to the BFF app in-process, like WeChat would."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace

import httpx
import pytest
from arq.connections import ArqRedis
from starlette.applications import Starlette

from bff.constants import PUSH_NONCE_KEY
from bff.models import PushEvent, PushEventStatus
from bff.runtime.redis import create_arq_pool
from bff.runtime.resources import Resources
from bff.web.app import create_app
from bff.wechat.crypto import PushCrypto, generate_encoding_aes_key, sha1_signature
from bff.wechat.events import PushFormat, build_event_body, build_secure_envelope
from tests.wechat.client_harness import PROGRESS, PROGRESS_VALUES, running_sandbox
from wxsandbox import defaults

OPENID = "oUSER_openid_example_000004"
SHIPPING = "tmpl-order-shipping-0001"


async def queued_job_ids(arq: ArqRedis) -> set[str]:
    return {job.job_id for job in await arq.queued_jobs() if job.job_id}


def signed_params(timestamp: str | None = None, token: str = defaults.PUSH_TOKEN) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    return {"signature": sha1_signature(token, timestamp, "42"), "timestamp": timestamp, "nonce": "42"}


def popup_xml() -> bytes:
    return build_event_body(
        PushFormat.XML,
        to_user=defaults.ORIGINAL_ID,
        openid=OPENID,
        event="subscribe_msg_popup_event",
        items=[{"TemplateId": PROGRESS, "SubscribeStatusString": "accept", "PopupScene": 0}],
        create_time=int(time.time()),
    )


def change_xml(status: str = "reject") -> bytes:
    return build_event_body(
        PushFormat.XML,
        to_user=defaults.ORIGINAL_ID,
        openid=OPENID,
        event="subscribe_msg_change_event",
        items=[{"TemplateId": PROGRESS, "SubscribeStatusString": status}],
        create_time=int(time.time()) + 1,
    )


@pytest.fixture
async def plaintext_app(resources: Resources) -> AsyncIterator[Starlette]:
    """The BFF configured for WeChat's plaintext mode (no WECHAT_AES_KEY), its lifespan running."""
    settings = replace(resources.settings, wechat_aes_key=None, wechat_previous_aes_key=None)
    app = create_app(settings, resources=replace(resources, settings=settings))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def plaintext_client(plaintext_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=plaintext_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


# --- handshake --------------------------------------------------------------------------------


async def test_handshake_echoes_echostr(client: httpx.AsyncClient) -> None:
    response = await client.get("/wechat/push", params={**signed_params(), "echostr": "4375120948345356249"})
    assert response.status_code == 200
    assert response.text == "4375120948345356249"


async def test_handshake_with_a_bad_signature_is_401(client: httpx.AsyncClient) -> None:
    params = {**signed_params(token="not-our-token"), "echostr": "4375120948345356249"}
    response = await client.get("/wechat/push", params=params)
    assert response.status_code == 401
    assert "4375120948345356249" not in response.text


# --- pushes from the sandbox ------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "secure"])
@pytest.mark.parametrize("fmt", [PushFormat.XML, PushFormat.JSON])
async def test_popup_push_is_stored_and_queued(
    app: Starlette,
    plaintext_app: Starlette,
    client: httpx.AsyncClient,
    arq_pool: ArqRedis,
    mode: str,
    fmt: PushFormat,
) -> None:
    # given a BFF configured for the sandbox's mode (plaintext: no EncodingAESKey)
    bff = plaintext_app if mode == "plain" else app
    async with running_sandbox(push_app=bff, push_mode=mode, push_format=fmt) as sb:
        # when the user accepts one template and rejects another in the popup
        await sb.subscribe(OPENID, {PROGRESS: "accept", SHIPPING: "reject"})
        [record] = await sb.pushes()

    # then WeChat got "success" at the first attempt
    assert record["delivered"] is True
    assert [(a["status"], a["answer"]) for a in record["attempts"]] == [(200, "success")]
    # and one row per template is stored, each with its handling job queued
    rows = await PushEvent.all().order_by("id")
    assert [(r.template_id, r.details["status"], r.status) for r in rows] == [
        (PROGRESS, "accept", PushEventStatus.RECEIVED),
        (SHIPPING, "reject", PushEventStatus.RECEIVED),
    ]
    assert all(row.openid == OPENID and row.secure is (mode == "secure") for row in rows)
    assert await queued_job_ids(arq_pool) == {f"push:{row.id}" for row in rows}


async def test_wechats_retries_store_nothing_twice(
    app: Starlette, client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    async with running_sandbox(push_app=app, push_mode="secure") as sb:
        # given a WeChat that delivers every push twice
        await sb.faults(duplicate_pushes=True)
        # when
        await sb.subscribe(OPENID, {PROGRESS: "accept"})
        records = await sb.pushes()

    # then both copies were answered "success", and there is one row and one job
    assert [r["delivered"] for r in records] == [True, True]
    [row] = await PushEvent.all()
    assert await queued_job_ids(arq_pool) == {f"push:{row.id}"}


@pytest.mark.parametrize("list_as_array", [True, False])
async def test_json_list_as_object_or_array(
    app: Starlette, client: httpx.AsyncClient, arq_pool: ArqRedis, list_as_array: bool
) -> None:
    async with running_sandbox(push_app=app, push_format=PushFormat.JSON) as sb:
        await sb.faults(list_as_array=list_as_array)
        await sb.subscribe(OPENID, {PROGRESS: "accept"})
        await sb.pushes()
    assert [row.template_id for row in await PushEvent.all()] == [PROGRESS]


async def test_sent_event_carries_the_sends_msgid(
    app: Starlette, client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    async with running_sandbox(push_app=app, push_mode="secure", push_format=PushFormat.JSON) as sb:
        # given a delivered message
        await sb.subscribe(OPENID, {PROGRESS: "accept"}, push=False)
        result = await sb.client(arq_pool).send_subscribe_message(
            openid=OPENID, template_id=PROGRESS, data=PROGRESS_VALUES, page=None, miniprogram_state="formal"
        )
        await sb.pushes()

    # then the subscribe_msg_sent_event row has the same 64-bit msgid, digit for digit
    row = await PushEvent.get(event="subscribe_msg_sent_event")
    assert row.msgid == result.msgid
    assert row.details == {"error_code": 0, "error_status": "success"}


async def test_change_event_from_the_settings_page(
    app: Starlette, client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    async with running_sandbox(push_app=app, push_format=PushFormat.JSON) as sb:
        await sb.change_setting(OPENID, PROGRESS, "reject")
        await sb.pushes()
    row = await PushEvent.get(event="subscribe_msg_change_event")
    assert (row.template_id, row.details["status"]) == (PROGRESS, "reject")


# --- refused pushes ---------------------------------------------------------------------------


async def assert_nothing_stored(arq: ArqRedis) -> None:
    assert await PushEvent.all().count() == 0
    assert await queued_job_ids(arq) == set()


async def test_forged_plaintext_signature_is_401_and_stores_nothing(
    plaintext_client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    response = await plaintext_client.post(
        "/wechat/push", params=signed_params(token="guess"), content=popup_xml()
    )
    assert response.status_code == 401
    await assert_nothing_stored(arq_pool)


async def test_secure_push_with_a_tampered_body_is_401_and_stores_nothing(
    client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    # given a genuine secure push whose ciphertext is altered on the way
    crypto = PushCrypto(
        token=defaults.PUSH_TOKEN, encoding_aes_key=defaults.ENCODING_AES_KEY, appid=defaults.APPID
    )
    encrypt = crypto.encrypt(popup_xml())
    timestamp, nonce = str(int(time.time())), "7"
    params = {
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": crypto.msg_signature(timestamp, nonce, encrypt),
    }
    tampered = encrypt[:10] + ("A" if encrypt[10] != "A" else "B") + encrypt[11:]
    # when
    response = await client.post(
        "/wechat/push",
        params=params,
        content=build_secure_envelope(PushFormat.XML, to_user="gh", encrypt=tampered),
    )
    # then
    assert response.status_code == 401
    await assert_nothing_stored(arq_pool)


async def test_secure_push_for_another_appid_is_401_and_stores_nothing(
    client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    # given a push encrypted (and signed) for another mini program with our token and key
    crypto = PushCrypto(
        token=defaults.PUSH_TOKEN, encoding_aes_key=defaults.ENCODING_AES_KEY, appid="wx_another_app_00001"
    )
    encrypt = crypto.encrypt(popup_xml())
    timestamp, nonce = str(int(time.time())), "8"
    params = {
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": crypto.msg_signature(timestamp, nonce, encrypt),
    }
    response = await client.post(
        "/wechat/push",
        params=params,
        content=build_secure_envelope(PushFormat.JSON, to_user="gh", encrypt=encrypt),
    )
    assert (response.status_code, response.text) == (401, "message is for another appid")
    await assert_nothing_stored(arq_pool)


async def test_secure_push_with_an_unknown_key_is_401(client: httpx.AsyncClient, arq_pool: ArqRedis) -> None:
    # given a push signed with our token but encrypted with an EncodingAESKey we do not have
    crypto = PushCrypto(
        token=defaults.PUSH_TOKEN, encoding_aes_key=generate_encoding_aes_key(), appid=defaults.APPID
    )
    encrypt = crypto.encrypt(popup_xml())
    timestamp, nonce = str(int(time.time())), "9"
    params = {
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": crypto.msg_signature(timestamp, nonce, encrypt),
    }
    response = await client.post(
        "/wechat/push",
        params=params,
        content=build_secure_envelope(PushFormat.XML, to_user="gh", encrypt=encrypt),
    )
    assert (response.status_code, response.text) == (401, "bad ciphertext")
    await assert_nothing_stored(arq_pool)


async def test_oversized_body_is_refused(client: httpx.AsyncClient, arq_pool: ArqRedis) -> None:
    response = await client.post("/wechat/push", params=signed_params(), content=b"<xml>" + b" " * 1_100_000)
    assert response.status_code == 413
    await assert_nothing_stored(arq_pool)


async def test_unreadable_body_with_a_good_signature_is_400(
    plaintext_client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    response = await plaintext_client.post("/wechat/push", params=signed_params(), content=b"hello")
    assert response.status_code == 400
    await assert_nothing_stored(arq_pool)


# --- secure mode only, nonces used once (issue 8, item 12) ------------------------------------


async def test_a_plaintext_push_is_refused_when_a_key_is_configured(
    client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    # given a BFF with an EncodingAESKey (WeChat then pushes in secure mode only) and a URL with a
    # valid plaintext signature, which covers token, timestamp and nonce but not the body
    # when someone posts a plaintext body on it
    response = await client.post("/wechat/push", params=signed_params(), content=change_xml())

    # then it is refused and nothing is stored
    assert (response.status_code, response.text) == (
        401,
        "plaintext push refused: secure mode is configured (WECHAT_AES_KEY)",
    )
    await assert_nothing_stored(arq_pool)


async def test_a_captured_url_cannot_carry_a_forged_body(
    plaintext_client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    # given WeChat's plaintext push of an accept, answered
    params = signed_params()
    genuine = await plaintext_client.post("/wechat/push", params=params, content=popup_xml())
    assert genuine.status_code == 200

    # when the captured URL is replayed with a forged "reject" for the same user
    forged = await plaintext_client.post("/wechat/push", params=params, content=change_xml())

    # then the forgery is refused and only the genuine event is stored
    assert (forged.status_code, forged.text) == (401, "nonce already used with another body")
    assert [row.event for row in await PushEvent.all()] == ["subscribe_msg_popup_event"]


async def test_wechats_retry_on_the_same_url_is_still_accepted(
    plaintext_client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    # given a push whose answer WeChat did not get in time
    params, body = signed_params(), popup_xml()
    first = await plaintext_client.post("/wechat/push", params=params, content=body)

    # when WeChat retries it: same URL, same body
    retry = await plaintext_client.post("/wechat/push", params=params, content=body)

    # then both are answered "success" and the event is stored once
    assert [(first.status_code, first.text), (retry.status_code, retry.text)] == [(200, "success")] * 2
    assert await PushEvent.all().count() == 1


async def test_a_nonce_is_remembered_across_web_processes_for_the_clock_window(
    resources: Resources, plaintext_client: httpx.AsyncClient, redis_url: str, arq_pool: ArqRedis
) -> None:
    # given a second web process (its own app and Redis connection, the same Redis)
    settings = replace(resources.settings, wechat_aes_key=None, wechat_previous_aes_key=None)
    other_pool = await create_arq_pool(redis_url)
    other_app = create_app(
        settings, resources=Resources(settings=settings, arq=other_pool, http=resources.http)
    )
    params = signed_params()
    try:
        async with (
            other_app.router.lifespan_context(other_app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=other_app), base_url="http://x"
            ) as other_client,
        ):
            # when the first process receives the genuine push and the second the forged replay
            genuine = await plaintext_client.post("/wechat/push", params=params, content=popup_xml())
            forged = await other_client.post("/wechat/push", params=params, content=change_xml())
    finally:
        await other_pool.aclose()

    # then the second process refuses it
    assert (genuine.status_code, forged.status_code) == (200, 401)
    # and the nonce is kept no longer than its timestamp is acceptable (600 s either way)
    ttl = await arq_pool.ttl(f"{PUSH_NONCE_KEY}:{params['timestamp']}:{params['nonce']}")
    assert 0 < ttl <= 601


async def test_a_push_whose_create_time_overflows_int64_is_400(
    plaintext_client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    # given an authentic push whose CreateTime is 2**63 (the column is a signed 64-bit integer)
    body = popup_xml().replace(str(int(time.time())).encode(), str(2**63).encode(), 1)
    assert str(2**63).encode() in body

    # when
    response = await plaintext_client.post("/wechat/push", params=signed_params(), content=body)

    # then a clear 400, nothing stored
    assert response.status_code == 400
    assert "CreateTime must be an integer between 0 and 9223372036854775807" in response.text
    await assert_nothing_stored(arq_pool)


@pytest.mark.parametrize(
    ("openid", "problem"),
    [("oUSER\x00", "NUL character"), ("oUSER\ud800", "unpaired UTF-16 surrogate U+D800")],
)
async def test_a_json_push_with_unstorable_text_is_400(
    plaintext_client: httpx.AsyncClient, arq_pool: ArqRedis, openid: str, problem: str
) -> None:
    # given an authentic JSON push whose FromUserName escapes a NUL or a lone surrogate
    push = {
        "ToUserName": defaults.ORIGINAL_ID,
        "FromUserName": openid,
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "subscribe_msg_change_event",
        "List": {"TemplateId": PROGRESS, "SubscribeStatusString": "reject"},
    }
    body = json.dumps(push).encode()  # ASCII: "\u0000", "\ud800"

    # when
    response = await plaintext_client.post("/wechat/push", params=signed_params(), content=body)

    # then
    assert response.status_code == 400
    assert problem in response.text
    await assert_nothing_stored(arq_pool)
