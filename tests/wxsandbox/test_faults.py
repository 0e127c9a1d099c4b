"""Fault injection over /sandbox/faults (wechat-platform.md §12.5)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.wxsandbox.conftest import SHIPPED, Harness, MakeHarness, shipped_data
from wxsandbox import defaults

USER = "oFAULT_user_0000000000000001"
BODY = {"touser": USER, "template_id": SHIPPED, "data": shipped_data()}


async def set_faults(sandbox: Harness, **faults: Any) -> dict[str, Any]:
    response = await sandbox.client.post("/sandbox/faults", json=faults)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert isinstance(answer, dict)
    return answer


@pytest.mark.parametrize(
    ("fault", "errcode", "errmsg"),
    [
        ("system_error_share", -1, "system error"),
        ("minute_limit_share", 45011, "api minute-quota reach limit mustslower retry next minute"),
        ("concurrent_share", 43108, "Cannot make concurrent calls to the same OpenID, please try again"),
    ],
)
async def test_injected_errors_fail_the_send_and_spend_nothing(
    sandbox: Harness, fault: str, errcode: int, errmsg: str
) -> None:
    # given a user with one unit and a fault that always fires
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await set_faults(sandbox, **{fault: 1.0})
    # when
    answer = await sandbox.send(await sandbox.token(), BODY)
    # then
    assert answer["errcode"] == errcode
    assert answer["errmsg"].startswith(f"{errmsg} rid: ")
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 1
    # and once the faults are cleared the send goes through
    await sandbox.client.delete("/sandbox/faults")
    assert (await sandbox.send(await sandbox.token(), BODY))["errcode"] == 0


async def test_faults_still_need_a_valid_token(sandbox: Harness) -> None:
    # given
    await set_faults(sandbox, system_error_share=1.0)
    # when
    answer = await sandbox.send("no-such-token", BODY)
    # then
    assert answer["errcode"] == 40014


async def test_the_same_seed_draws_the_same_faults(make_sandbox: MakeHarness) -> None:
    async def run() -> list[int]:
        sandbox = await make_sandbox()
        await sandbox.user(USER)  # no quota: a send that escapes the fault answers 43101
        await set_faults(sandbox, seed=7, system_error_share=0.5)
        token = await sandbox.token()
        return [(await sandbox.send(token, BODY))["errcode"] for _ in range(12)]

    # when
    first, second = await run(), await run()
    # then
    assert first == second
    assert set(first) == {-1, 43101}


async def test_timeout_after_send_delivers_although_the_caller_hears_nothing(sandbox: Harness) -> None:
    # given a send that is held far longer than the caller waits, after delivering
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await set_faults(sandbox, timeout_share=1.0, timeout_after_send=True, timeout_hold_ms=60_000)
    token = await sandbox.token()
    # when the caller gives up
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sandbox.send(token, BODY), timeout=0.3)
    # then the user got the notice, the unit is spent, and the sent event went out
    inbox = (await sandbox.client.get("/sandbox/inbox", params={"openid": USER})).json()
    assert len(inbox) == 1
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 0
    records = await sandbox.pushes()
    assert records[-1]["event"] == "subscribe_msg_sent_event"


async def test_timeout_before_send_delivers_nothing(sandbox: Harness) -> None:
    # given
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await set_faults(sandbox, timeout_share=1.0, timeout_hold_ms=60_000)
    token = await sandbox.token()
    # when
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sandbox.send(token, BODY), timeout=0.3)
    # then
    assert (await sandbox.client.get("/sandbox/inbox")).json() == []
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 1


async def test_a_short_hold_without_delivery_answers_system_error(sandbox: Harness) -> None:
    # given
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await set_faults(sandbox, timeout_share=1.0, timeout_hold_ms=10)
    # when a patient caller waits it out
    answer = await sandbox.send(await sandbox.token(), BODY)
    # then
    assert answer["errcode"] == -1


async def test_send_latency_fault_makes_concurrent_sends_collide(sandbox: Harness) -> None:
    # given
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    await set_faults(sandbox, send_latency_ms=300)
    token = await sandbox.token()
    # when
    answers = await asyncio.gather(sandbox.send(token, BODY), sandbox.send(token, BODY))
    # then
    assert sorted(answer["errcode"] for answer in answers) == [0, 43108]


async def test_fault_settings_are_validated_and_reset(sandbox: Harness) -> None:
    # when
    unknown = await sandbox.client.post("/sandbox/faults", json={"gremlins": 1})
    too_big = await sandbox.client.post(
        "/sandbox/faults", json={"system_error_share": 1.5, "push_delay_ms": 5}
    )
    changed = await set_faults(sandbox, minute_limit_share=0.25, duplicate_pushes=True)
    current = (await sandbox.client.get("/sandbox/faults")).json()
    reset = (await sandbox.client.delete("/sandbox/faults")).json()
    # then
    assert unknown.status_code == 400 and "gremlins" in unknown.json()["error"]
    assert too_big.status_code == 400 and "system_error_share" in too_big.json()["error"]
    assert changed == current
    assert current["minute_limit_share"] == 0.25 and current["duplicate_pushes"] is True
    assert current["push_delay_ms"] == 0  # the refused request changed nothing
    assert reset["minute_limit_share"] == 0.0 and reset["duplicate_pushes"] is False


async def test_push_delay_holds_pushes_back(sandbox: Harness) -> None:
    # given
    await set_faults(sandbox, push_delay_ms=200)
    await sandbox.user(USER)
    # when
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    # then the push is still pending right after the answer, and arrives later
    assert (await sandbox.client.get("/sandbox/stats")).json()["pushes"]["pending"] == 1
    assert sandbox.receiver.requests == []
    [record] = await sandbox.pushes()
    assert record["delivered"] is True


STABLE_TOKEN_BODY = {"grant_type": "client_credential", "appid": defaults.APPID, "secret": defaults.SECRET}


@pytest.mark.parametrize(
    ("fault", "status"), [("token_server_error_share", 502), ("token_not_json_share", 200)]
)
async def test_token_faults_answer_what_no_client_can_read(sandbox: Harness, fault: str, status: int) -> None:
    # given a token endpoint failing every request this way
    await set_faults(sandbox, **{fault: 1.0})
    # when
    stable = await sandbox.client.post("/cgi-bin/stable_token", json=STABLE_TOKEN_BODY)
    plain = await sandbox.client.get("/cgi-bin/token", params={**STABLE_TOKEN_BODY})
    # then both answer an HTML page instead of JSON, and no token was issued
    for response in (stable, plain):
        assert response.status_code == status
        assert response.headers["content-type"].startswith("text/html")
        with pytest.raises(ValueError):
            response.json()
    assert sandbox.sandbox.state.tokens.current_stable() is None
    # and once the faults are cleared a token comes back
    await sandbox.client.delete("/sandbox/faults")
    assert (await sandbox.client.post("/cgi-bin/stable_token", json=STABLE_TOKEN_BODY)).json()["access_token"]


async def test_a_held_token_request_answers_only_after_the_hold(sandbox: Harness) -> None:
    # given token requests held for a minute
    await set_faults(sandbox, token_timeout_share=1.0, timeout_hold_ms=60_000)
    # when the caller gives up first
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sandbox.client.post("/cgi-bin/stable_token", json=STABLE_TOKEN_BODY), 0.3)
    # then nothing was answered in time
    assert sandbox.sandbox.state.counters["token_fault_held"] == 1
