"""The push receiver's domain side: verification, parsing and deduplicated storage (§4, §5)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import replace
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from bff.models import PushEvent as PushEventRow
from bff.models import PushEventStatus
from bff.runtime.settings import Settings, load_settings
from bff.wechat.crypto import PushCrypto, generate_encoding_aes_key, sha1_signature
from bff.wechat.events import (
    ChangeEvent,
    OtherEvent,
    PopupEvent,
    PushFormat,
    SentEvent,
    build_event_body,
    build_secure_envelope,
)
from bff.wechat.push import (
    PushRejected,
    answer_handshake,
    dedupe_key,
    event_from_row,
    open_push,
    store_push,
)

APPID = "wx_push_test_appid01"
TOKEN = "push-test-token"
OPENID = "oUSER_openid_example_000003"
TPL_A = "TPL_A_0000000000000000000000000000000001"
TPL_B = "TPL_B_0000000000000000000000000000000002"
POPUP = "subscribe_msg_popup_event"
AES_KEY = generate_encoding_aes_key()


def make_settings(**env: str) -> Settings:
    base = {
        "LVYUE_ENV": "test",
        "WECHAT_APPID": APPID,
        "WECHAT_PUSH_TOKEN": TOKEN,
        "WECHAT_AES_KEY": AES_KEY,
        "SESSION_SECRET": "x" * 32,
    }
    return load_settings({**base, **env})


def plain_settings() -> Settings:
    """Settings of a BFF in WeChat's plaintext mode: no EncodingAESKey."""
    return replace(make_settings(), wechat_aes_key=None)


def popup_body(fmt: PushFormat, *, items: int = 2, create_time: int | None = None, **options: Any) -> bytes:
    rows = [
        {"TemplateId": TPL_A, "SubscribeStatusString": "accept", "PopupScene": 0},
        {"TemplateId": TPL_B, "SubscribeStatusString": "reject", "PopupScene": 0},
    ][:items]
    return build_event_body(
        fmt,
        to_user="gh_0a1b2c3d4e5f",
        openid=OPENID,
        event=POPUP,
        items=rows,
        create_time=create_time or int(time.time()),
        **options,
    )


def plain_params(token: str = TOKEN, timestamp: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    nonce = "1514711492"
    return {"signature": sha1_signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def secure_request(
    plaintext: bytes, fmt: PushFormat, *, key: str = AES_KEY, appid: str = APPID
) -> tuple[dict[str, str], bytes]:
    crypto = PushCrypto(token=TOKEN, encoding_aes_key=key, appid=appid)
    encrypt = crypto.encrypt(plaintext)
    timestamp, nonce = str(int(time.time())), "415670741"
    params = {
        "signature": crypto.signature(timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "openid": OPENID,
        "encrypt_type": "aes",
        "msg_signature": crypto.msg_signature(timestamp, nonce, encrypt),
    }
    return params, build_secure_envelope(fmt, to_user="gh_0a1b2c3d4e5f", encrypt=encrypt)


# --- official worked examples ---------------------------------------------------------------------


def test_handshake_answers_echostr_for_the_official_example() -> None:
    # given §5.2: token AAAAA and WeChat's GET query
    settings = make_settings(WECHAT_PUSH_TOKEN="AAAAA")
    params = {
        "signature": "f464b24fc39322e44b38aa78f5edd27bd1441696",
        "timestamp": "1714036504",
        "nonce": "1514711492",
        "echostr": "4375120948345356249",
    }
    # when / then
    assert answer_handshake(params, settings) == "4375120948345356249"


def test_handshake_with_a_wrong_signature_is_rejected() -> None:
    settings = make_settings(WECHAT_PUSH_TOKEN="AAAAA")
    params = {"signature": "0" * 40, "timestamp": "1714036504", "nonce": "1514711492", "echostr": "4375"}
    with pytest.raises(PushRejected) as caught:
        answer_handshake(params, settings)
    assert (caught.value.status, caught.value.reason) == (401, "bad signature")


def test_plaintext_post_with_the_official_signature_is_accepted() -> None:
    # given §5.3: token AAAAA, timestamp 1714037059, nonce 486452656, and an event body
    settings = replace(make_settings(WECHAT_PUSH_TOKEN="AAAAA"), wechat_aes_key=None)
    params = {
        "signature": "899cf89e464efb63f54ddac96b0a0a235f53aa78",
        "timestamp": "1714037059",
        "nonce": "486452656",
    }
    body = popup_body(PushFormat.JSON, items=1, create_time=1714037059, numbers_as_strings=True)
    # when
    push = open_push(params, body, settings, now=1714037059)
    # then
    assert push.events == [PopupEvent(OPENID, TPL_A, "accept", "0", 1714037059)]
    assert push.secure is False


def test_secure_post_of_the_wxbizmsgcrypt_sample_is_accepted() -> None:
    # given the WXBizMsgCrypt sample (token 123456, its key, appid, Encrypt and msg_signature)
    settings = make_settings(
        WECHAT_APPID="wx49f0ab532d5d035a",
        WECHAT_PUSH_TOKEN="123456",
        WECHAT_AES_KEY="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
    )
    encrypt = (
        "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv"
        "283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvk"
        "KR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdg"
        "pkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnT"
        "bcX2e8K9QaNWHp91eBdCRxthuL0="
    )
    params = {
        "timestamp": "1411525903",
        "nonce": "461056294",
        "encrypt_type": "aes",
        "msg_signature": "74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
    }
    body = build_secure_envelope(PushFormat.XML, to_user="wx49f0ab532d5d035a", encrypt=encrypt)
    # when
    push = open_push(params, body, settings, now=1411525903)
    # then the text message inside is stored as an "other" event
    [event] = push.events
    assert isinstance(event, OtherEvent)
    assert event.event == "text"
    assert push.secure is True


# --- round trips with generated keys ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", list(PushFormat))
@pytest.mark.parametrize("items", [1, 2])
def test_plaintext_round_trip(fmt: PushFormat, items: int) -> None:
    push = open_push(plain_params(), popup_body(fmt, items=items), plain_settings())
    assert [e.template_id for e in push.events if isinstance(e, PopupEvent)] == [TPL_A, TPL_B][:items]
    assert push.format is fmt


@pytest.mark.parametrize("fmt", list(PushFormat))
@pytest.mark.parametrize("list_as_array", [True, False, None])
@pytest.mark.parametrize("numbers_as_strings", [True, False])
def test_secure_round_trip(fmt: PushFormat, list_as_array: bool | None, numbers_as_strings: bool) -> None:
    # given a sent event encrypted with a freshly generated key, in every JSON shape
    create_time = int(time.time())
    body = build_event_body(
        fmt,
        to_user="gh_0a1b2c3d4e5f",
        openid=OPENID,
        event="subscribe_msg_sent_event",
        items=[{"TemplateId": TPL_A, "MsgID": 2**62 + 12345, "ErrorCode": 0, "ErrorStatus": "success"}],
        create_time=create_time,
        list_as_array=list_as_array,
        numbers_as_strings=numbers_as_strings,
    )
    params, envelope = secure_request(body, fmt)
    # when
    push = open_push(params, envelope, make_settings())
    # then the MsgID is exact
    assert push.events == [SentEvent(OPENID, TPL_A, str(2**62 + 12345), 0, "success", create_time)]
    assert push.body == body


def test_previous_aes_key_is_accepted_during_rotation() -> None:
    old_key = generate_encoding_aes_key()
    params, envelope = secure_request(popup_body(PushFormat.XML), PushFormat.XML, key=old_key)
    push = open_push(params, envelope, make_settings(WECHAT_PREVIOUS_AES_KEY=old_key))
    assert len(push.events) == 2


# --- rejections --------------------------------------------------------------------------------


def rejection(params: dict[str, str], body: bytes, settings: Settings | None = None) -> tuple[int, str]:
    with pytest.raises(PushRejected) as caught:
        default = make_settings() if params.get("encrypt_type") else plain_settings()
        open_push(params, body, settings or default)
    return caught.value.status, caught.value.reason


def test_plaintext_with_a_wrong_token_signature_is_401() -> None:
    assert rejection(plain_params(token="other"), popup_body(PushFormat.XML)) == (401, "bad signature")


def test_plaintext_without_a_signature_is_401() -> None:
    params = plain_params()
    del params["signature"]
    assert rejection(params, popup_body(PushFormat.XML)) == (401, "missing signature")


def test_a_replayed_old_url_is_401() -> None:
    params = plain_params(timestamp=str(int(time.time()) - 3600))
    assert rejection(params, popup_body(PushFormat.XML)) == (401, "stale timestamp")


def test_unreadable_plaintext_is_400() -> None:
    status, reason = rejection(plain_params(), b"<xml><FromUserName>")
    assert status == 400
    assert reason.startswith("unreadable push")


def test_secure_with_a_tampered_msg_signature_is_401() -> None:
    params, envelope = secure_request(popup_body(PushFormat.JSON), PushFormat.JSON)
    params["msg_signature"] = "f" * 40
    assert rejection(params, envelope) == (401, "bad msg_signature")


def test_secure_with_a_swapped_ciphertext_is_401() -> None:
    # given a genuine envelope whose Encrypt is replaced by another ciphertext
    params, _ = secure_request(popup_body(PushFormat.JSON), PushFormat.JSON)
    _, other = secure_request(popup_body(PushFormat.JSON, items=1), PushFormat.JSON)
    assert rejection(params, other) == (401, "bad msg_signature")


def test_secure_with_a_damaged_ciphertext_signed_by_someone_with_the_token_is_401() -> None:
    # given someone who knows the Token (so can sign) but not the EncodingAESKey
    crypto = PushCrypto(token=TOKEN, encoding_aes_key=generate_encoding_aes_key(), appid=APPID)
    encrypt = crypto.encrypt(popup_body(PushFormat.XML))
    timestamp, nonce = str(int(time.time())), "1"
    params = {
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": crypto.msg_signature(timestamp, nonce, encrypt),
    }
    envelope = build_secure_envelope(PushFormat.XML, to_user="gh_x", encrypt=encrypt)
    assert rejection(params, envelope) == (401, "bad ciphertext")


def test_secure_for_another_appid_is_401() -> None:
    params, envelope = secure_request(
        popup_body(PushFormat.XML), PushFormat.XML, appid="wx_someone_else_0001"
    )
    assert rejection(params, envelope) == (401, "message is for another appid")


def test_secure_without_a_configured_key_is_401() -> None:
    params, envelope = secure_request(popup_body(PushFormat.XML), PushFormat.XML)
    # production without WECHAT_AES_KEY (elsewhere the sandbox key is the default)
    settings = dataclasses.replace(make_settings(), env="production", wechat_aes_key=None)
    status, reason = rejection(params, envelope, settings)
    assert status == 401
    assert "not configured" in reason


# --- dedupe keys and rows ------------------------------------------------------------------------


def test_dedupe_key_follows_openid_time_event_and_template() -> None:
    a = PopupEvent(OPENID, TPL_A, "accept", "0", 100)
    assert dedupe_key(a) == dedupe_key(PopupEvent(OPENID, TPL_A, "accept", "2", 100))
    assert dedupe_key(a) != dedupe_key(PopupEvent(OPENID, TPL_B, "accept", "0", 100))
    assert dedupe_key(a) != dedupe_key(PopupEvent(OPENID, TPL_A, "accept", "0", 101))
    assert dedupe_key(a) != dedupe_key(ChangeEvent(OPENID, TPL_A, "accept", 100))
    sent = SentEvent(OPENID, TPL_A, "1", 0, "success", 100)
    assert dedupe_key(sent) != dedupe_key(SentEvent(OPENID, TPL_A, "2", 0, "success", 100))


async def test_a_retried_push_stores_nothing_new(db: TortoiseContext) -> None:
    # given a popup push with two templates
    push = open_push(plain_params(), popup_body(PushFormat.XML), plain_settings())

    # when WeChat delivers it three times (its retries)
    first = await store_push(push)
    second = await store_push(push)
    third = await store_push(open_push(plain_params(), popup_body(PushFormat.JSON), plain_settings()))

    # then one row per List item, and each delivery names the same rows still to handle
    assert len(first) == 2
    assert first == second == third
    assert await PushEventRow.all().count() == 2


async def test_handled_rows_are_not_handed_out_again(db: TortoiseContext) -> None:
    push = open_push(plain_params(), popup_body(PushFormat.XML, items=1), plain_settings())
    [row_id] = await store_push(push)
    await PushEventRow.filter(id=row_id).update(status=PushEventStatus.HANDLED)
    assert await store_push(push) == []


async def test_rows_rebuild_their_typed_events(db: TortoiseContext) -> None:
    # given one event of every kind
    now = int(time.time())
    events = [
        PopupEvent(OPENID, TPL_A, "accept", "0", now),
        ChangeEvent(OPENID, TPL_A, "reject", now),
        SentEvent(OPENID, TPL_A, str(2**63 - 1), 0, "success", now),
        OtherEvent(OPENID, "trade_manage_order_settlement", now, {"transaction_id": "42000001"}),
    ]
    bodies = [
        popup_body(PushFormat.XML, items=1, create_time=now),
        build_event_body(
            PushFormat.JSON,
            to_user="gh_x",
            openid=OPENID,
            event="subscribe_msg_change_event",
            items=[{"TemplateId": TPL_A, "SubscribeStatusString": "reject"}],
            create_time=now,
        ),
        build_event_body(
            PushFormat.XML,
            to_user="gh_x",
            openid=OPENID,
            event="subscribe_msg_sent_event",
            items=[{"TemplateId": TPL_A, "MsgID": 2**63 - 1, "ErrorCode": 0, "ErrorStatus": "success"}],
            create_time=now,
        ),
        build_event_body(
            PushFormat.JSON,
            to_user="gh_x",
            openid=OPENID,
            event="trade_manage_order_settlement",
            items=[{"transaction_id": "42000001"}],
            create_time=now,
        ),
    ]
    # when each is received and stored
    rebuilt = []
    for body in bodies:
        [row_id] = await store_push(open_push(plain_params(), body, plain_settings()))
        rebuilt.append(event_from_row(await PushEventRow.get(id=row_id)))

    # then the rows give back the events (other events keep their fields)
    assert rebuilt[:3] == events[:3]
    assert isinstance(rebuilt[3], OtherEvent)
    assert rebuilt[3].event == "trade_manage_order_settlement"
    assert rebuilt[3].fields["transaction_id"] == "42000001"
    row = await PushEventRow.get(event="subscribe_msg_sent_event")
    assert row.msgid == str(2**63 - 1)


def test_plaintext_is_refused_when_an_aes_key_is_configured() -> None:
    # given a BFF with an EncodingAESKey: WeChat then pushes encrypted, signed with msg_signature
    # when a push arrives in plaintext with a valid 3-value signature (which does not cover the body)
    # then it is refused as not from WeChat
    assert rejection(plain_params(), popup_body(PushFormat.XML), make_settings()) == (
        401,
        "plaintext push refused: secure mode is configured (WECHAT_AES_KEY)",
    )


@pytest.mark.parametrize("create_time", [2**63, -1])
def test_a_create_time_outside_int64_or_negative_is_400(create_time: int) -> None:
    body = popup_body(PushFormat.JSON).replace(b'"CreateTime":', b'"CreateTime":%d,"X":' % create_time, 1)
    status, reason = rejection(plain_params(), body)
    assert status == 400
    assert "CreateTime must be an integer between 0 and 9223372036854775807" in reason
