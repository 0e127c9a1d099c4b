"""Pushes to the BFF: signed, in both modes and formats, retried and duplicated like WeChat's."""

from __future__ import annotations

from typing import Any

import pytest

from bff.wechat.crypto import PushCrypto, sha1_signature
from bff.wechat.events import (
    ChangeEvent,
    OtherEvent,
    PopupEvent,
    PushFormat,
    SentEvent,
    detect_format,
    parse_envelope,
    parse_events,
)
from tests.wxsandbox.conftest import REMINDER, SHIPPED, Harness, MakeHarness, shipped_data
from wxsandbox import defaults

USER = "oPUSH_user_00000000000000001"
CRYPTO = PushCrypto(
    token=defaults.PUSH_TOKEN, encoding_aes_key=defaults.ENCODING_AES_KEY, appid=defaults.APPID
)


def open_push(request: dict[str, Any], mode: str) -> bytes:
    """Check a received push as the BFF must, and return its plaintext event body."""
    query = request["query"]
    assert query["signature"] == sha1_signature(defaults.PUSH_TOKEN, query["timestamp"], query["nonce"])
    if mode == "plain":
        assert "encrypt_type" not in query
        body = request["body"]
        assert isinstance(body, bytes)
        return body
    assert query["encrypt_type"] == "aes"
    envelope = parse_envelope(request["body"], detect_format(request["body"]))
    assert envelope["ToUserName"] == defaults.ORIGINAL_ID
    encrypt = envelope["Encrypt"]
    assert isinstance(encrypt, str)
    assert CRYPTO.check_msg_signature(query["msg_signature"], query["timestamp"], query["nonce"], encrypt)
    return CRYPTO.decrypt(encrypt)


@pytest.mark.parametrize("mode", ["plain", "secure"])
@pytest.mark.parametrize("fmt", [PushFormat.XML, PushFormat.JSON])
async def test_popup_and_sent_events_reach_the_bff_signed_in_every_mode_and_format(
    make_sandbox: MakeHarness, mode: str, fmt: PushFormat
) -> None:
    # given a sandbox pushing in this mode and format
    sandbox = await make_sandbox(push_mode=mode, push_format=fmt)
    await sandbox.user(USER)
    # when the user accepts two templates, and a notice is sent
    await sandbox.subscribe(USER, {SHIPPED: "accept", REMINDER: "reject"})
    await sandbox.pushes()
    token = await sandbox.token()
    body = {"touser": USER, "template_id": SHIPPED, "data": shipped_data()}
    msgid = (await sandbox.send(token, body))["msgid"]
    records = await sandbox.pushes()
    # then the BFF received two pushes it can verify and read
    assert [record["delivered"] for record in records] == [True, True]
    received = sandbox.receiver.requests
    assert len(received) == 2
    popup_body, sent_body = (open_push(request, mode) for request in received)
    assert detect_format(popup_body) is fmt
    if mode == "secure":
        assert received[0]["query"]["openid"] == USER
    expected_type = "text/xml" if fmt is PushFormat.XML else "application/json"
    assert received[0]["content_type"] == expected_type
    popups = parse_events(popup_body)
    assert popups == [
        PopupEvent(
            openid=USER,
            template_id=SHIPPED,
            status="accept",
            popup_scene="0",
            create_time=popups[0].create_time,
        ),
        PopupEvent(
            openid=USER,
            template_id=REMINDER,
            status="reject",
            popup_scene="0",
            create_time=popups[0].create_time,
        ),
    ]
    [sent] = parse_events(sent_body)
    assert isinstance(sent, SentEvent)
    assert (sent.template_id, sent.msgid, sent.error_code, sent.error_status) == (
        SHIPPED,
        str(msgid),
        0,
        "success",
    )
    assert parse_envelope(sent_body, fmt)["ToUserName"] == defaults.ORIGINAL_ID


async def test_json_list_is_an_object_for_one_item_unless_forced(make_sandbox: MakeHarness) -> None:
    # given JSON pushes
    sandbox = await make_sandbox(push_format=PushFormat.JSON)
    await sandbox.user(USER)
    # when one template is answered, then another with the array form forced
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    await sandbox.client.post("/sandbox/faults", json={"list_as_array": True})
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    await sandbox.pushes()
    # then
    first, second = (
        parse_envelope(open_push(request, "secure"), PushFormat.JSON) for request in sandbox.receiver.requests
    )
    assert isinstance(first["List"], dict)
    assert isinstance(second["List"], list) and len(second["List"]) == 1
    assert first["CreateTime"] == str(first["CreateTime"])  # numbers as strings, as WeChat's examples


async def test_duplicate_push_fault_delivers_the_same_event_twice(make_sandbox: MakeHarness) -> None:
    # given
    sandbox = await make_sandbox(push_mode="secure")
    await sandbox.user(USER)
    await sandbox.client.post("/sandbox/faults", json={"duplicate_pushes": True})
    # when
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    records = await sandbox.pushes()
    # then two deliveries of one event, identical once decrypted (same CreateTime: one event)
    assert [record["copy"] for record in records] == [1, 2]
    first, second = (open_push(request, "secure") for request in sandbox.receiver.requests)
    assert first == second
    assert sandbox.receiver.requests[0]["body"] != sandbox.receiver.requests[1]["body"]  # fresh encryption


async def test_a_push_that_fails_is_retried_up_to_three_times_in_all(make_sandbox: MakeHarness) -> None:
    # given a BFF that fails twice, then answers
    sandbox = await make_sandbox()
    sandbox.receiver.statuses = [500, 503]
    await sandbox.user(USER)
    # when
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    [record] = await sandbox.pushes()
    # then
    assert [attempt["status"] for attempt in record["attempts"]] == [500, 503, 200]
    assert record["delivered"] is True
    assert record["attempts"][-1]["answer"] == "success"
    bodies = {request["body"] for request in sandbox.receiver.requests}
    assert len(bodies) == 1


async def test_a_push_that_never_succeeds_gives_up_after_three_attempts(make_sandbox: MakeHarness) -> None:
    # given a BFF that is down, then one that stalls past the timeout
    sandbox = await make_sandbox(push_timeout_s=0.2)
    sandbox.receiver.statuses = [500, 500, 500, 500]
    await sandbox.user(USER)
    # when
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    [record] = await sandbox.pushes()
    # then
    assert len(record["attempts"]) == 3
    assert record["delivered"] is False
    stats = (await sandbox.client.get("/sandbox/stats")).json()
    assert stats["pushes"] == {"records": 1, "attempts": 3, "delivered": 0, "failed": 1, "pending": 0}


async def test_a_push_the_bff_does_not_answer_in_time_is_retried(make_sandbox: MakeHarness) -> None:
    # given a BFF whose first answer would come long after the push timeout
    sandbox = await make_sandbox(push_timeout_s=0.2)
    sandbox.receiver.stall_s = [5.0]
    await sandbox.user(USER)
    # when
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    [record] = await sandbox.pushes()
    # then
    assert record["attempts"][0]["status"] is None
    assert "no answer within 0.2 s" in record["attempts"][0]["error"]
    assert record["attempts"][1]["status"] == 200
    assert record["delivered"] is True


async def test_settings_reject_pushes_a_change_event(sandbox: Harness) -> None:
    # given
    await sandbox.user(USER, **{SHIPPED: "accept"})
    # when
    response = await sandbox.client.post(
        "/sandbox/settings", json={"openid": USER, "template_id": SHIPPED, "status": "reject"}
    )
    records = await sandbox.pushes()
    # then
    assert response.json()["pushed"] is True
    assert [record["event"] for record in records] == [
        "subscribe_msg_popup_event",
        "subscribe_msg_change_event",
    ]
    [change] = parse_events(open_push(sandbox.receiver.requests[-1], "secure"))
    assert isinstance(change, ChangeEvent)
    assert (change.template_id, change.status) == (SHIPPED, "reject")


async def test_no_push_when_asked_not_to_or_when_no_url_is_configured(make_sandbox: MakeHarness) -> None:
    # given one sandbox told not to push this answer, and one without a push URL
    quiet = await make_sandbox()
    await quiet.user(USER)
    nowhere = await make_sandbox(push_url=None)
    await nowhere.user(USER)
    # when
    await quiet.subscribe(USER, {SHIPPED: "accept"}, push=False)
    await nowhere.subscribe(USER, {SHIPPED: "accept"})
    # then
    assert await quiet.pushes() == []
    assert await nowhere.pushes() == []
    assert quiet.receiver.requests == [] and nowhere.receiver.requests == []


async def test_shipping_upload_pushes_a_settlement_event(sandbox: Harness) -> None:
    # given
    token = await sandbox.token()
    upload = {
        "order_key": {"order_number_type": 2, "transaction_id": "4200000000202601010000000001"},
        "logistics_type": 4,
        "delivery_mode": 1,
        "shipping_list": [{"item_desc": "有机燕麦片*2"}],
        "upload_time": "2026-01-01T10:00:00.000+08:00",
        "payer": {"openid": USER},
    }
    # when
    answer = (
        await sandbox.client.post(
            "/wxa/sec/order/upload_shipping_info", params={"access_token": token}, json=upload
        )
    ).json()
    await sandbox.pushes()
    # then
    assert answer == {"errcode": 0, "errmsg": "ok"}
    [event] = parse_events(open_push(sandbox.receiver.requests[0], "secure"))
    assert isinstance(event, OtherEvent)
    assert event.event == "trade_manage_order_settlement"
    assert event.openid == USER
    assert event.fields["transaction_id"] == "4200000000202601010000000001"
    assert "estimated_settlement_time" in event.fields
