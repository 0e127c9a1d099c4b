"""Control paths that look after the sandbox itself: reset, clock, stats."""

from __future__ import annotations

from tests.wxsandbox.conftest import SHIPPED, Harness, shipped_data

USER = "oCTRL_user_00000000000000001"


async def test_reset_forgets_users_quota_inbox_tokens_and_faults(sandbox: Harness) -> None:
    # given a user with a delivered notice, a token and a fault
    await sandbox.user(USER, **{SHIPPED: "accept"})
    await sandbox.subscribe(USER, {SHIPPED: "accept"})
    token = await sandbox.token()
    await sandbox.send(token, {"touser": USER, "template_id": SHIPPED, "data": shipped_data()})
    await sandbox.client.post("/sandbox/faults", json={"system_error_share": 1.0})
    await sandbox.pushes()
    # when
    response = await sandbox.client.post("/sandbox/reset")
    # then
    assert response.json() == {"ok": True}
    assert (await sandbox.client.get("/sandbox/inbox")).json() == []
    assert (await sandbox.quota(USER, SHIPPED))["remaining"] == 0
    assert (await sandbox.client.get("/sandbox/faults")).json()["system_error_share"] == 0.0
    assert (await sandbox.client.get("/sandbox/pushes")).json() == []
    assert (await sandbox.send(token, b"{}"))["errcode"] == 40014
    fresh = await sandbox.send(await sandbox.token(), {"touser": USER, "template_id": SHIPPED, "data": {}})
    assert fresh["errcode"] == 40003  # the user is forgotten too


async def test_clock_moves_only_forward(sandbox: Harness) -> None:
    # when
    moved = await sandbox.client.post("/sandbox/clock", json={"advance_s": 3600})
    backwards = await sandbox.client.post("/sandbox/clock", json={"advance_s": -1})
    current = await sandbox.client.get("/sandbox/clock")
    # then
    assert moved.json()["offset_s"] == 3600
    assert backwards.status_code == 400
    assert current.json()["offset_s"] == 3600


async def test_stats_count_what_the_clients_did(sandbox: Harness) -> None:
    # given
    await sandbox.user(USER, **{SHIPPED: "accept"})
    token = await sandbox.token()
    await sandbox.token()
    body = {"touser": USER, "template_id": SHIPPED, "data": shipped_data()}
    await sandbox.send(token, body)
    await sandbox.send(token, body)
    await sandbox.send("bogus", body)
    await sandbox.pushes()
    # when
    stats = (await sandbox.client.get("/sandbox/stats")).json()
    # then
    assert stats["tokens"]["plain"] == 2
    assert stats["sends_by_errcode"] == {"0": 1, "40014": 1, "43101": 1}
    assert stats["sends_today"] == 1
    assert stats["inbox"] == 1
    assert stats["pushes"]["delivered"] == 2  # the popup and the sent event
