"""Playing the user's answers to wx.requestSubscribeMessage and the settings page (§3)."""

from __future__ import annotations

from tests.wxsandbox.conftest import (
    REMINDER,
    ROOM,
    SHIPPED,
    SHIPPED_AGAIN,
    Harness,
    MakeHarness,
    shipped_data,
)

USER = "oSUB_user_000000000000000001"


async def test_answers_come_back_as_requestsubscribemessage_would_return_them(sandbox: Harness) -> None:
    # when
    result = await sandbox.subscribe(USER, {SHIPPED: "accept", REMINDER: "reject"})
    # then
    assert result == {"errMsg": "requestSubscribeMessage:ok", SHIPPED: "accept", REMINDER: "reject"}
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 1
    assert (await sandbox.quota(USER, REMINDER))["remaining"] == 0


async def test_kept_reject_is_answered_silently_and_grants_nothing(sandbox: Harness) -> None:
    # given a reject with "always keep this choice"
    await sandbox.subscribe(USER, {SHIPPED: "reject"}, always_keep=True)
    # when the mini program asks again and the user would accept
    result = await sandbox.subscribe(USER, {SHIPPED: "accept"})
    records = await sandbox.pushes()
    # then the kept reject is answered, no unit is granted, and no popup was shown
    assert result[SHIPPED] == "reject"
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 0
    assert len(records) == 1  # only the first, real popup


async def test_kept_accept_still_grants_one_unit_per_request(sandbox: Harness) -> None:
    # given an accept with "always keep"
    await sandbox.subscribe(USER, {SHIPPED: "accept"}, always_keep=True)
    # when asked twice more (the answers given do not matter any more)
    second = await sandbox.subscribe(USER, {SHIPPED: "reject"})
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    # then
    assert second[SHIPPED] == "accept"
    quota = await sandbox.quota(USER, SHIPPED)
    assert quota["remaining"] == 3
    assert quota["kept"] == "accept"


async def test_ban_bans_the_template_for_every_user(sandbox: Harness) -> None:
    # given
    other = "oSUB_user_000000000000000002"
    await sandbox.user(other, **{SHIPPED: "accept"})
    # when WeChat bans the template while USER is asked
    result = await sandbox.subscribe(USER, {SHIPPED: "ban"})
    later = await sandbox.subscribe(other, {SHIPPED: "accept"})
    send = await sandbox.send(
        await sandbox.token(), {"touser": other, "template_id": SHIPPED, "data": shipped_data()}
    )
    # then
    assert result[SHIPPED] == "ban"
    assert later[SHIPPED] == "ban"
    assert send["errcode"] == 43107


async def test_a_second_template_with_the_same_title_is_filtered(sandbox: Harness) -> None:
    # when
    result = await sandbox.subscribe(USER, {SHIPPED: "accept", SHIPPED_AGAIN: "accept"})
    # then
    assert result[SHIPPED_AGAIN] == "filter"
    assert (await sandbox.quota(USER, SHIPPED_AGAIN))["remaining"] == 0


async def test_requests_wechat_refuses_fail_like_the_mini_program_sees_it(make_sandbox: MakeHarness) -> None:
    # given
    sandbox = await make_sandbox(max_subscribe_ids=2)
    # when / then
    empty = await sandbox.subscribe(USER, {})
    assert (empty["errCode"], empty["errMsg"]) == (
        10001,
        "requestSubscribeMessage:fail TmplIds can't be empty",
    )
    assert (await sandbox.subscribe(USER, {SHIPPED: "accept", REMINDER: "accept", ROOM: "accept"}))[
        "errCode"
    ] == 20003
    assert (await sandbox.subscribe(USER, {"nope": "accept"}))["errCode"] == 20001
    assert (await sandbox.subscribe(USER, {SHIPPED: "accept", ROOM: "accept"}))["errCode"] == 20002
    # and nothing was granted
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 0


async def test_bad_control_requests_are_400_with_a_reason(sandbox: Harness) -> None:
    # when
    bad_answer = await sandbox.client.post(
        "/sandbox/subscribe", json={"openid": USER, "answers": {SHIPPED: "yes"}}
    )
    no_openid = await sandbox.client.post("/sandbox/subscribe", json={"answers": {SHIPPED: "accept"}})
    bad_status = await sandbox.client.post(
        "/sandbox/settings", json={"openid": USER, "template_id": SHIPPED, "status": "maybe"}
    )
    # then
    assert bad_answer.status_code == 400 and "must be one of" in bad_answer.json()["error"]
    assert no_openid.status_code == 400 and "openid" in no_openid.json()["error"]
    assert bad_status.status_code == 400 and "status" in bad_status.json()["error"]


async def test_settings_reject_zeroes_the_quota_and_keeps_refusing(sandbox: Harness) -> None:
    # given two units
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    # when the user turns the template off in the settings
    await sandbox.client.post(
        "/sandbox/settings", json={"openid": USER, "template_id": SHIPPED, "status": "reject"}
    )
    again = await sandbox.subscribe(USER, {SHIPPED: "accept"})
    # then
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 0
    assert again[SHIPPED] == "reject"
    # when the user turns it back on
    await sandbox.client.post(
        "/sandbox/settings", json={"openid": USER, "template_id": SHIPPED, "status": "accept"}
    )
    back = await sandbox.subscribe(USER, {SHIPPED: "reject"})
    # then later requests are accepted silently again
    assert back[SHIPPED] == "accept"
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 1


async def test_quota_without_template_lists_every_template(sandbox: Harness) -> None:
    # given
    await sandbox.subscribe(USER, {ROOM: "accept"})
    # when
    answer = (await sandbox.client.get("/sandbox/quota", params={"openid": USER})).json()
    # then
    by_id = {entry["template_id"]: entry for entry in answer["templates"]}
    assert by_id[ROOM]["active"] is True and by_id[ROOM]["type"] == 3
    assert by_id[SHIPPED] == {
        "openid": USER,
        "template_id": SHIPPED,
        "type": 2,
        "remaining": 0,
        "active": False,
        "kept": None,
        "banned": False,
    }
