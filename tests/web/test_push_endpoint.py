"""``/wechat/push`` end to end: the sandbox pushes to the BFF app in-process, like WeChat would."""

from __future__ import annotations

import time

import httpx
import pytest
from arq.connections import ArqRedis
from starlette.applications import Starlette

from bff.models import PushEvent, PushEventStatus
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
    app: Starlette, client: httpx.AsyncClient, arq_pool: ArqRedis, mode: str, fmt: PushFormat
) -> None:
    async with running_sandbox(push_app=app, push_mode=mode, push_format=fmt) as sb:
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
    client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    response = await client.post("/wechat/push", params=signed_params(token="guess"), content=popup_xml())
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
    client: httpx.AsyncClient, arq_pool: ArqRedis
) -> None:
    response = await client.post("/wechat/push", params=signed_params(), content=b"hello")
    assert response.status_code == 400
    await assert_nothing_stored(arq_pool)
