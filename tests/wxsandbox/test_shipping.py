"""upload_shipping_info and get_order (wechat-platform.md §10)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.wxsandbox.conftest import Harness, MakeHarness

TX = "4200000000202601010000000001"
UPLOAD: dict[str, Any] = {
    "order_key": {"order_number_type": 2, "transaction_id": TX},
    "logistics_type": 1,
    "delivery_mode": 1,
    "shipping_list": [
        {
            "tracking_no": "SF1234567890",
            "express_company": "SF",
            "item_desc": "有机燕麦片*2",
            "contact": {"receiver_contact": "138****1234"},
        }
    ],
    "upload_time": "2026-01-01T10:00:00.000+08:00",
    "payer": {"openid": "oSHIP_user_00000000000000001"},
}


def upload(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(UPLOAD)
    body.update(changes)
    return body


async def post(sandbox: Harness, api: str, body: dict[str, Any]) -> dict[str, Any]:
    token = await sandbox.token()
    answer = (
        await sandbox.client.post(f"/wxa/sec/order/{api}", params={"access_token": token}, json=body)
    ).json()
    assert isinstance(answer, dict)
    return answer


async def test_upload_marks_the_payment_shipped(sandbox: Harness) -> None:
    # when
    answer = await post(sandbox, "upload_shipping_info", upload())
    order = await post(sandbox, "get_order", {"transaction_id": TX})
    # then
    assert answer == {"errcode": 0, "errmsg": "ok"}
    assert order["order"]["order_state"] == 2
    assert order["order"]["shipping"]["shipping_list"][0]["tracking_no"] == "SF1234567890"


def _package(**changes: Any) -> list[dict[str, Any]]:
    return [{**UPLOAD["shipping_list"][0], **changes}]


BAD_UPLOADS = [
    ("unknown logistics_type", upload(logistics_type=9), 47001),
    ("delivery_mode as text", upload(delivery_mode="UNIFIED_DELIVERY"), 47001),
    ("no packages", upload(shipping_list=[]), 47001),
    ("unified mode with two packages", upload(shipping_list=_package() * 2), 268485228),
    ("split non-express", upload(logistics_type=2, delivery_mode=2, is_all_delivered=True), 10060006),
    ("split without is_all_delivered", upload(delivery_mode=2), 47001),
    ("missing item_desc", upload(shipping_list=_package(item_desc="")), 47001),
    ("item_desc over 120 characters", upload(shipping_list=_package(item_desc="燕" * 121)), 47001),
    ("SF without contact", upload(shipping_list=_package(contact={})), 47001),
    ("unmasked phone", upload(shipping_list=_package(contact={"receiver_contact": "13812341234"})), 47001),
    ("express without tracking_no", upload(shipping_list=_package(tracking_no="")), 47001),
    ("upload_time without offset", upload(upload_time="2026-01-01T10:00:00"), 47001),
    ("missing payer", upload(payer={}), 47001),
    ("type 1 without out_trade_no", upload(order_key={"order_number_type": 1, "mchid": "1900000001"}), 47001),
]


@pytest.mark.parametrize(("case", "body", "errcode"), BAD_UPLOADS, ids=[case for case, _b, _c in BAD_UPLOADS])
async def test_bad_uploads_are_refused(
    sandbox: Harness, case: str, body: dict[str, Any], errcode: int
) -> None:
    # when
    answer = await post(sandbox, "upload_shipping_info", body)
    # then
    assert answer["errcode"] == errcode, case
    assert (await post(sandbox, "get_order", {"transaction_id": TX}))["errcode"] == 10060001


async def test_a_payment_can_be_reshipped_once(sandbox: Harness) -> None:
    # given a shipped payment
    await post(sandbox, "upload_shipping_info", upload())
    # when uploaded again (an earlier time first), then a third time
    stale = await post(sandbox, "upload_shipping_info", upload())
    reship = await post(sandbox, "upload_shipping_info", upload(upload_time="2026-01-02T10:00:00+08:00"))
    third = await post(sandbox, "upload_shipping_info", upload(upload_time="2026-01-03T10:00:00+08:00"))
    # then
    assert stale["errcode"] == 47001
    assert reship["errcode"] == 0
    assert third["errcode"] == 10060004


async def test_split_delivery_stays_awaiting_until_all_is_delivered(sandbox: Harness) -> None:
    # given
    split = {
        "delivery_mode": 2,
        "order_key": {"order_number_type": 1, "mchid": "1900000001", "out_trade_no": "SO-1"},
    }
    # when
    first = await post(sandbox, "upload_shipping_info", upload(**split, is_all_delivered=False))
    state_after_first = await post(
        sandbox, "get_order", {"merchant_id": "1900000001", "merchant_trade_no": "SO-1"}
    )
    last = await post(
        sandbox,
        "upload_shipping_info",
        upload(**split, is_all_delivered=True, upload_time="2026-01-01T12:00:00+08:00"),
    )
    state_after_last = await post(
        sandbox, "get_order", {"merchant_id": "1900000001", "merchant_trade_no": "SO-1"}
    )
    # then
    assert (first["errcode"], last["errcode"]) == (0, 0)
    assert state_after_first["order"]["order_state"] == 1
    assert state_after_last["order"]["order_state"] == 2


async def test_unknown_payments_answer_10060001_when_only_known_payments_ship(
    make_sandbox: MakeHarness,
) -> None:
    # given
    sandbox = await make_sandbox(shipping_known_payments_only=True)
    await sandbox.client.post("/sandbox/payments", json={"transaction_id": TX})
    # when
    unknown = await post(
        sandbox, "upload_shipping_info", upload(order_key={"order_number_type": 2, "transaction_id": "42000"})
    )
    known = await post(sandbox, "upload_shipping_info", upload())
    # then
    assert unknown["errcode"] == 10060001
    assert known["errcode"] == 0


async def test_a_confirmed_payment_cannot_be_shipped_again(sandbox: Harness) -> None:
    # given a shipped payment the user confirmed
    await post(sandbox, "upload_shipping_info", upload())
    confirmed = await sandbox.client.post(
        "/sandbox/orders/state", json={"transaction_id": TX, "order_state": 3}
    )
    # when
    answer = await post(sandbox, "upload_shipping_info", upload(upload_time="2026-01-02T10:00:00+08:00"))
    # then
    assert confirmed.json()["order_state"] == 3
    assert answer["errcode"] == 10060004
    records = await sandbox.pushes()
    assert [record["event"] for record in records] == ["trade_manage_order_settlement"] * 2
    assert "confirm_receive_method" in records[-1]["body"]


async def test_shipping_needs_a_token(sandbox: Harness) -> None:
    # when
    answer = (await sandbox.client.post("/wxa/sec/order/upload_shipping_info", json=UPLOAD)).json()
    # then
    assert answer["errcode"] == 41001
