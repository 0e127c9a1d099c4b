"""access_token issuance and checking (wechat-platform.md §6.3)."""

from __future__ import annotations

from typing import Any

from tests.wxsandbox.conftest import Harness, MakeHarness
from wxsandbox import defaults

CREDENTIALS = {"grant_type": "client_credential", "appid": defaults.APPID, "secret": defaults.SECRET}


async def gettemplate(sandbox: Harness, token: str | None) -> dict[str, Any]:
    params = {"access_token": token} if token is not None else {}
    answer = (await sandbox.client.get("/wxaapi/newtmpl/gettemplate", params=params)).json()
    assert isinstance(answer, dict)
    return answer


async def stable(sandbox: Harness, force: bool | None = None) -> dict[str, Any]:
    body: dict[str, Any] = dict(CREDENTIALS)
    if force is not None:
        body["force_refresh"] = force
    answer = (await sandbox.client.post("/cgi-bin/stable_token", json=body)).json()
    assert isinstance(answer, dict)
    return answer


async def advance(sandbox: Harness, seconds: float) -> None:
    response = await sandbox.client.post("/sandbox/clock", json={"advance_s": seconds})
    assert response.status_code == 200


async def test_plain_token_answers_token_and_expires_in(sandbox: Harness) -> None:
    # when
    answer = (await sandbox.client.get("/cgi-bin/token", params=CREDENTIALS)).json()
    # then
    assert set(answer) == {"access_token", "expires_in"}
    assert answer["expires_in"] == 7200
    assert len(answer["access_token"]) >= 100


async def test_superseded_plain_token_keeps_working_for_300_s_then_answers_40001(sandbox: Harness) -> None:
    # given a token and its successor
    first = await sandbox.token()
    second = await sandbox.token()
    assert first != second
    # then the first still works during the hand-over
    assert (await gettemplate(sandbox, first))["errcode"] == 0
    await advance(sandbox, 299)
    assert (await gettemplate(sandbox, first))["errcode"] == 0
    # when the hand-over is over
    await advance(sandbox, 2)
    # then only the successor works
    refused = await gettemplate(sandbox, first)
    assert refused["errcode"] == 40001
    assert refused["errmsg"].startswith("invalid credential, access_token is invalid or not latest rid: ")
    assert (await gettemplate(sandbox, second))["errcode"] == 0


async def test_only_the_immediately_previous_plain_token_gets_a_hand_over(sandbox: Harness) -> None:
    # given three tokens fetched in a row (independent refreshers fighting)
    first = await sandbox.token()
    second = await sandbox.token()
    third = await sandbox.token()
    # then the oldest is dead at once, the previous one still works
    assert (await gettemplate(sandbox, first))["errcode"] == 40001
    assert (await gettemplate(sandbox, second))["errcode"] == 0
    assert (await gettemplate(sandbox, third))["errcode"] == 0


async def test_protected_endpoint_error_codes(sandbox: Harness) -> None:
    # given
    token = await sandbox.token()
    # then missing, unknown and expired tokens get their own codes
    assert (await gettemplate(sandbox, None))["errcode"] == 41001
    assert (await gettemplate(sandbox, ""))["errcode"] == 41001
    assert (await gettemplate(sandbox, "not-a-token"))["errcode"] == 40014
    await advance(sandbox, 7200)
    expired = await gettemplate(sandbox, token)
    assert expired["errcode"] == 42001
    assert expired["errmsg"].startswith("access_token expired rid: ")


async def test_token_endpoint_refuses_bad_credentials_with_their_codes(sandbox: Harness) -> None:
    async def errcode(**changes: str) -> int:
        params = {**CREDENTIALS, **changes}
        code = (await sandbox.client.get("/cgi-bin/token", params=params)).json()["errcode"]
        assert isinstance(code, int)
        return code

    assert await errcode(appid="wx_someone_else") == 40013
    assert await errcode(secret="wrong") == 40125
    assert await errcode(grant_type="authorization_code") == 40002
    assert await errcode(appid="") == 41002
    assert await errcode(secret="") == 41004


async def test_token_endpoint_answers_45009_past_the_daily_limit_until_the_next_day(
    make_sandbox: MakeHarness,
) -> None:
    # given a daily limit of 2
    sandbox = await make_sandbox(token_daily_limit=2)
    await sandbox.token()
    await sandbox.token()
    # when a third token is asked for the same day
    answer = (await sandbox.client.get("/cgi-bin/token", params=CREDENTIALS)).json()
    # then
    assert answer["errcode"] == 45009
    assert answer["errmsg"].startswith("reach max api daily quota limit rid: ")
    # and the next day it works again
    await advance(sandbox, 86400)
    assert "access_token" in (await sandbox.client.get("/cgi-bin/token", params=CREDENTIALS)).json()


async def test_stable_token_normal_mode_returns_the_same_token_until_300_s_are_left(sandbox: Harness) -> None:
    # given
    first = await stable(sandbox)
    # when asked again later
    await advance(sandbox, 6000)
    again = await stable(sandbox)
    # then the same token with less time left
    assert again["access_token"] == first["access_token"]
    assert 1100 < again["expires_in"] <= 1200  # wall time moves a little too
    # when fewer than 300 s are left
    await advance(sandbox, 901)
    renewed = await stable(sandbox)
    # then a new token, and the old one lives out its time
    assert renewed["access_token"] != first["access_token"]
    assert renewed["expires_in"] == 7200
    assert (await gettemplate(sandbox, first["access_token"]))["errcode"] == 0
    await advance(sandbox, 299)
    assert (await gettemplate(sandbox, first["access_token"]))["errcode"] == 42001
    assert (await gettemplate(sandbox, renewed["access_token"]))["errcode"] == 0


async def test_force_refresh_revokes_the_previous_stable_token_at_once(sandbox: Harness) -> None:
    # given
    first = await stable(sandbox)
    # when
    forced = await stable(sandbox, force=True)
    # then
    assert forced["access_token"] != first["access_token"]
    assert (await gettemplate(sandbox, first["access_token"]))["errcode"] == 40001
    assert (await gettemplate(sandbox, forced["access_token"]))["errcode"] == 0


async def test_force_refresh_within_30_s_returns_the_current_token_without_refreshing(
    sandbox: Harness,
) -> None:
    # given a forced refresh
    forced = await stable(sandbox, force=True)
    # when forced again 29 s later
    await advance(sandbox, 29)
    again = await stable(sandbox, force=True)
    # then nothing changed
    assert again["access_token"] == forced["access_token"]
    assert (await gettemplate(sandbox, forced["access_token"]))["errcode"] == 0
    # when forced again 30 s after the refresh
    await advance(sandbox, 1)
    later = await stable(sandbox, force=True)
    # then it refreshes
    assert later["access_token"] != forced["access_token"]


async def test_force_refresh_is_limited_to_20_a_day(sandbox: Harness) -> None:
    # given 20 forced refreshes, 30 s apart
    for _ in range(20):
        assert "access_token" in await stable(sandbox, force=True)
        await advance(sandbox, 30)
    # when a 21st is asked the same day
    refused = await stable(sandbox, force=True)
    # then
    assert refused["errcode"] == 45009
    # and normal mode still works
    assert "access_token" in await stable(sandbox)


async def test_stable_and_plain_tokens_are_isolated(sandbox: Harness) -> None:
    # given a stable token
    stable_token = (await stable(sandbox))["access_token"]
    # when plain tokens are fetched over and over
    for _ in range(3):
        await sandbox.token()
    # then the stable token is untouched
    assert (await gettemplate(sandbox, stable_token))["errcode"] == 0
    assert (await stable(sandbox))["access_token"] == stable_token


async def test_stable_token_wants_a_json_post(sandbox: Harness) -> None:
    # when
    as_get = (await sandbox.client.get("/cgi-bin/stable_token", params=CREDENTIALS)).json()
    empty = (await sandbox.client.post("/cgi-bin/stable_token", content=b"")).json()
    not_json = (await sandbox.client.post("/cgi-bin/stable_token", content=b"appid=x")).json()
    bad_secret = (
        await sandbox.client.post("/cgi-bin/stable_token", json={**CREDENTIALS, "secret": "x"})
    ).json()
    # then
    assert as_get["errcode"] == 43002
    assert empty["errcode"] == 44002
    assert not_json["errcode"] == 47001
    assert bad_secret["errcode"] == 40125
