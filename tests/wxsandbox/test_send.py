"""subscribeMessage.send: WeChat's checks in order (wechat-platform.md §12.4), quota, concurrency."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from tests.wxsandbox.conftest import REMINDER, ROOM, SHIPPED, Harness, MakeHarness, shipped_data

USER = "oSEND_user_00000000000000001"
STRANGER = "oSEND_stranger_0000000000001"


def shipped(**changes: Any) -> dict[str, Any]:
    return {"touser": USER, "template_id": SHIPPED, "page": "pages/order/detail?orderNo=1", **changes}


def with_data(**values: str) -> dict[str, Any]:
    return shipped(data=shipped_data(**values))


@pytest.fixture
async def strict(make_sandbox: MakeHarness) -> Harness:
    """A sandbox with a page whitelist and a sensitive word; USER knows WeChat but has no quota,
    and REMINDER is banned."""
    sandbox = await make_sandbox(pages=frozenset({"pages/order/detail"}), sensitive_words=("违禁词",))
    await sandbox.user(USER)
    await sandbox.client.post("/sandbox/ban", json={"template_id": REMINDER})
    return sandbox


# Each request is bad in (at least) two ways; WeChat answers the earlier check.
ORDERED_CASES = [
    ("empty body beats everything after it", b"", 44002),
    ("malformed JSON", b"{not json", 47001),
    ("a JSON array is no request", b"[]", 47001),
    ("missing data beats unknown openid", {"touser": STRANGER, "template_id": SHIPPED}, 47001),
    (
        "bad miniprogram_state beats unknown openid",
        {**shipped(touser=STRANGER, data=shipped_data()), "miniprogram_state": "production"},
        47001,
    ),
    ("bad lang is a format error", {**with_data(), "lang": "fr_FR"}, 47001),
    ("touser must be a string", {**with_data(), "touser": 42}, 47001),
    ("unknown openid beats unknown template", shipped(touser=STRANGER, template_id="nope", data={}), 40003),
    ("empty openid", shipped(touser="", data=shipped_data()), 40003),
    ("unknown template beats bad data", shipped(template_id="nope", data={}), 40037),
    ("banned template beats bad page", shipped(template_id=REMINDER, page="pages/nowhere", data={}), 43107),
    ("bad page beats empty keyword", shipped(page="pages/nowhere?x=1", data={}), 41030),
    ("empty keyword beats sensitive word", with_data(thing2="违禁词", time3=""), 47003),
    ("invalid keyword beats sensitive word", with_data(thing2="违禁词", amount4="ninety-nine"), 47003),
    ("sensitive word beats missing quota", with_data(thing2="含违禁词的商品"), 45168),
    ("no quota", with_data(), 43101),
]


@pytest.mark.parametrize(
    ("case", "body", "errcode"), ORDERED_CASES, ids=[case for case, _body, _code in ORDERED_CASES]
)
async def test_send_answers_the_earliest_failing_check(
    strict: Harness, case: str, body: dict[str, Any] | bytes, errcode: int
) -> None:
    # given
    token = await strict.token()
    # when
    answer = await strict.send(token, body)
    # then
    assert answer["errcode"] == errcode, case
    assert re.search(r" rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$", answer["errmsg"])
    # and nothing was delivered
    assert (await strict.client.get("/sandbox/inbox")).json() == []


async def test_token_is_checked_before_the_body(strict: Harness) -> None:
    # when
    missing = (await strict.client.post("/cgi-bin/message/subscribe/send", content=b"")).json()
    unknown = await strict.send("no-such-token", b"")
    # then
    assert missing["errcode"] == 41001
    assert unknown["errcode"] == 40014


async def test_keyword_errors_name_the_first_bad_keyword_in_content_order(strict: Harness) -> None:
    # given
    token = await strict.token()
    # when
    missing = await strict.send(token, shipped(data={"thing2": {"value": "燕麦"}}))
    blank = await strict.send(token, with_data(thing2="   "))
    not_an_item = await strict.send(token, shipped(data={**shipped_data(), "character_string1": "SO1"}))
    too_long = await strict.send(
        token, with_data(thing2="这是一个超过二十个字符长度限制的非常长的商品名称啊")
    )
    chinese_in_string = await strict.send(token, with_data(character_string1="订单1"))
    # then
    assert missing["errmsg"].startswith("argument invalid! data.character_string1.value is emtpy rid: ")
    assert blank["errmsg"].startswith("argument invalid! data.thing2.value is emtpy rid: ")
    assert not_an_item["errmsg"].startswith("argument invalid! data.character_string1.value is emtpy rid: ")
    assert too_long["errmsg"].startswith("argument invalid! data.thing2.value invalid rid: ")
    assert chinese_in_string["errmsg"].startswith(
        "argument invalid! data.character_string1.value invalid rid: "
    )
    assert {missing["errcode"], blank["errcode"], too_long["errcode"], chinese_in_string["errcode"]} == {
        47003
    }


async def test_enum_keywords_accept_only_the_templates_values(sandbox: Harness) -> None:
    # given a user who switched the long-term template on
    await sandbox.user(USER, **{ROOM: "accept"})
    token = await sandbox.token()

    def room(place: str) -> dict[str, Any]:
        data = {"time1": {"value": "15:01"}, "enum_string2": {"value": place}}
        return {"touser": USER, "template_id": ROOM, "data": data}

    # when / then
    assert (await sandbox.send(token, room("厨房")))["errmsg"].startswith(
        "argument invalid! data.enum_string2.value invalid"
    )
    assert (await sandbox.send(token, room("书房")))["errcode"] == 0


async def test_success_answers_a_64_bit_msgid_as_a_json_integer(sandbox: Harness) -> None:
    # given
    await sandbox.user(USER, **{SHIPPED: "accept"})
    token = await sandbox.token()
    # when
    response = await sandbox.client.post(
        "/cgi-bin/message/subscribe/send", params={"access_token": token}, json=with_data()
    )
    # then
    match = re.fullmatch(r'\{"errcode":0,"errmsg":"ok","msgid":(\d+)\}', response.text)
    assert match is not None, response.text
    assert int(match.group(1)) > 2**53
    inbox = (await sandbox.client.get("/sandbox/inbox", params={"openid": USER})).json()
    assert [message["msgid"] for message in inbox] == [int(match.group(1))]


async def test_each_accept_buys_exactly_one_send(sandbox: Harness) -> None:
    # given two accepts of the one-time template
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    token = await sandbox.token()
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 2
    # when a bad send, then three good ones
    bad = await sandbox.send(token, with_data(time3="tomorrow"))
    results = [(await sandbox.send(token, with_data()))["errcode"] for _ in range(3)]
    # then the failure cost nothing, two went out and the third was refused
    assert bad["errcode"] == 47003
    assert results == [0, 0, 43101]
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 0
    assert len((await sandbox.client.get("/sandbox/inbox")).json()) == 2


async def test_long_term_template_sends_until_switched_off(sandbox: Harness) -> None:
    # given
    await sandbox.user(USER, **{ROOM: "accept"})
    token = await sandbox.token()
    body = {
        "touser": USER,
        "template_id": ROOM,
        "data": {"time1": {"value": "08:00~12:00"}, "enum_string2": {"value": "客厅"}},
    }
    # when
    sent = [(await sandbox.send(token, body))["errcode"] for _ in range(3)]
    await sandbox.client.post(
        "/sandbox/settings", json={"openid": USER, "template_id": ROOM, "status": "reject"}
    )
    after = await sandbox.send(token, body)
    # then
    assert sent == [0, 0, 0]
    assert after["errcode"] == 43101


async def test_two_concurrent_sends_to_one_openid_collide_with_43108(make_sandbox: MakeHarness) -> None:
    # given sends that take a while, and quota for both
    sandbox = await make_sandbox(send_latency_ms=300)
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    token = await sandbox.token()
    # when two sends to the same user are in flight at once
    answers = await asyncio.gather(sandbox.send(token, with_data()), sandbox.send(token, with_data()))
    # then one went out and the other was told to retry; one unit is left for the retry
    assert sorted(answer["errcode"] for answer in answers) == [0, 43108]
    refused = next(answer for answer in answers if answer["errcode"] == 43108)
    assert refused["errmsg"].startswith("Cannot make concurrent calls to the same OpenID, please try again")
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 1
    assert (await sandbox.send(token, with_data()))["errcode"] == 0


async def test_concurrent_sends_to_different_openids_do_not_collide(make_sandbox: MakeHarness) -> None:
    # given
    sandbox = await make_sandbox(send_latency_ms=200)
    other = "oSEND_user_00000000000000002"
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await sandbox.user(other, **{SHIPPED: "accept"})
    token = await sandbox.token()
    # when
    answers = await asyncio.gather(
        sandbox.send(token, with_data()), sandbox.send(token, {**with_data(), "touser": other})
    )
    # then
    assert [answer["errcode"] for answer in answers] == [0, 0]


async def test_daily_send_limit_answers_45009_before_quota_and_resets_next_day(
    make_sandbox: MakeHarness,
) -> None:
    # given a limit of one send a day and a user with two units
    sandbox = await make_sandbox(daily_send_limit=1)
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    stranger_quota = "oSEND_user_00000000000000003"
    await sandbox.user(stranger_quota)
    # when
    first = await sandbox.send(await sandbox.token(), with_data())
    second = await sandbox.send(await sandbox.token(), with_data())
    no_quota_either = await sandbox.send(await sandbox.token(), {**with_data(), "touser": stranger_quota})
    await sandbox.client.post("/sandbox/clock", json={"advance_s": 86400})
    next_day = await sandbox.send(await sandbox.token(), with_data())
    # then
    assert first["errcode"] == 0
    assert second["errcode"] == 45009
    assert no_quota_either["errcode"] == 45009
    assert next_day["errcode"] == 0
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 0


async def test_inbox_keeps_what_the_user_received(sandbox: Harness) -> None:
    # given
    await sandbox.user(USER, **{SHIPPED: "accept"})
    token = await sandbox.token()
    # when
    body = {
        **with_data(),
        "miniprogram_state": "trial",
        "lang": "en_US",
        "data": {**shipped_data(), "x9": {}},
    }
    msgid = (await sandbox.send(token, body))["msgid"]
    # then
    [message] = (await sandbox.client.get("/sandbox/inbox", params={"openid": USER})).json()
    assert message["msgid"] == msgid
    assert message["template_id"] == SHIPPED
    assert message["title"] == "订单发货通知"
    assert message["page"] == "pages/order/detail?orderNo=1"
    assert message["miniprogram_state"] == "trial"
    assert message["lang"] == "en_US"
    assert message["data"]["thing2"] == "有机燕麦片 1kg"
    assert "x9" not in message["data"]
    assert message["lines"] == [
        "订单编号: SO20260101000001",
        "商品名称: 有机燕麦片 1kg",
        "发货时间: 2026年01月01日 10:00",
        "订单金额: ¥99.00",
    ]
    stats = (await sandbox.client.get("/sandbox/stats")).json()
    assert stats["sends_by_errcode"] == {"0": 1}


async def test_send_body_is_read_as_utf8_json_whatever_the_content_type(sandbox: Harness) -> None:
    # given
    await sandbox.user(USER, **{SHIPPED: "accept"})
    token = await sandbox.token()
    raw = json.dumps(with_data(), ensure_ascii=False).encode("utf-8")
    # when
    answer = (
        await sandbox.client.post(
            "/cgi-bin/message/subscribe/send",
            params={"access_token": token},
            content=raw,
            headers={"Content-Type": "text/plain"},
        )
    ).json()
    # then
    assert answer["errcode"] == 0
