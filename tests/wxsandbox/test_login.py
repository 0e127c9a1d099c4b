"""code2Session (jscode2session, wechat-platform.md §7) and the login-code control path."""

from __future__ import annotations

from typing import Any

from tests.wxsandbox.conftest import Harness
from wxsandbox import defaults


async def code2session(sandbox: Harness, code: str, **changes: str) -> dict[str, Any]:
    params = {
        "appid": defaults.APPID,
        "secret": defaults.SECRET,
        "js_code": code,
        "grant_type": "authorization_code",
        **changes,
    }
    answer = (await sandbox.client.get("/sns/jscode2session", params=params)).json()
    assert isinstance(answer, dict)
    return answer


async def login_code(sandbox: Harness, **body: Any) -> dict[str, Any]:
    response = await sandbox.client.post("/sandbox/login-code", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert isinstance(answer, dict)
    return answer


async def test_a_code_logs_its_user_in_once(sandbox: Harness) -> None:
    # given
    code = (await login_code(sandbox, openid="oLOGIN_user_000000000000001"))["code"]
    # when
    first = await code2session(sandbox, code)
    second = await code2session(sandbox, code)
    # then
    assert first["openid"] == "oLOGIN_user_000000000000001"
    assert len(first["session_key"]) == 24
    assert "unionid" not in first
    assert second["errcode"] == 40163
    assert second["errmsg"].startswith("code been used rid: ")


async def test_unknown_expired_and_blocked_codes(sandbox: Harness) -> None:
    # given
    expiring = (await login_code(sandbox, openid="oLOGIN_user_000000000000002"))["code"]
    blocked = (await login_code(sandbox, openid="oLOGIN_user_000000000000003", blocked=True))["code"]
    # when / then
    assert (await code2session(sandbox, "no-such-code"))["errcode"] == 40029
    assert (await code2session(sandbox, blocked))["errcode"] == 40226
    await sandbox.client.post("/sandbox/clock", json={"advance_s": 301})
    assert (await code2session(sandbox, expiring))["errcode"] == 40029


async def test_unionid_is_returned_for_users_that_have_one(sandbox: Harness) -> None:
    # given a user with a unionid, then a later login without naming it
    await login_code(sandbox, openid="oLOGIN_user_000000000000004", unionid="oUNION_000000000000000000004")
    code = (await login_code(sandbox, openid="oLOGIN_user_000000000000004"))["code"]
    # when
    answer = await code2session(sandbox, code)
    # then
    assert answer["unionid"] == "oUNION_000000000000000000004"


async def test_login_code_without_openid_makes_up_a_user(sandbox: Harness) -> None:
    # when
    issued = await login_code(sandbox)
    # then
    assert issued["openid"].startswith("o") and len(issued["openid"]) == 28
    assert (await code2session(sandbox, issued["code"]))["openid"] == issued["openid"]


async def test_code2session_checks_the_app_credentials(sandbox: Harness) -> None:
    # given
    code = (await login_code(sandbox, openid="oLOGIN_user_000000000000005"))["code"]
    # then
    assert (await code2session(sandbox, code, appid="wx_other"))["errcode"] == 40013
    assert (await code2session(sandbox, code, secret="wrong"))["errcode"] == 40125
    assert (await code2session(sandbox, ""))["errcode"] == 41008
    # and the refused calls did not use the code up
    assert (await code2session(sandbox, code))["openid"] == "oLOGIN_user_000000000000005"
