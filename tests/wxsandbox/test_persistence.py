"""The sandbox's memory across a restart (SANDBOX_STATE_FILE): WeChat does not forget a user's
quotas, its access tokens or the cards it delivered because the BFF's machine restarted."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.wxsandbox.conftest import ROOM, SHIPPED, MakeHarness, shipped_data
from wxsandbox.app import create_sandbox_app
from wxsandbox.config import SandboxConfig
from wxsandbox.persistence import StateFileError

USER = "oKEEP_user_00000000000000001"


async def test_quotas_inbox_and_tokens_survive_a_restart(make_sandbox: MakeHarness, tmp_path: Path) -> None:
    # given a user with three one-time units and a long-term subscription, and one card delivered
    state_file = tmp_path / "data" / "sandbox-state.json"
    before = await make_sandbox(state_file=state_file)
    await before.user(USER)
    for _ in range(3):
        await before.subscribe(USER, {SHIPPED: "accept"}, push=False)
    await before.subscribe(USER, {ROOM: "accept"}, push=False)
    token = await before.token()
    sent = await before.send(
        token, {"touser": USER, "template_id": SHIPPED, "page": "pages/order/detail", "data": shipped_data()}
    )
    assert sent["errcode"] == 0
    delivered = (await before.client.get("/sandbox/inbox")).json()

    # when the sandbox dies without shutting down once its periodic save has run, and a new one
    # starts on the same file
    for _ in range(50):
        if state_file.exists() and str(sent["msgid"]) in state_file.read_text(encoding="utf-8"):
            break
        await asyncio.sleep(0.1)
    after = await make_sandbox(state_file=state_file)

    # then the quotas are what they were: two units left, the long-term switch on
    assert (await after.quota(USER, SHIPPED))["remaining"] == 2
    assert (await after.quota(USER, ROOM))["active"] is True
    # and the inbox still holds the delivered card, msgid and all
    assert (await after.client.get("/sandbox/inbox")).json() == delivered
    # and the access token the BFF holds still works: the next send spends the next unit
    again = await after.send(
        token, {"touser": USER, "template_id": SHIPPED, "page": "pages/order/detail", "data": shipped_data()}
    )
    assert again["errcode"] == 0, again
    assert again["msgid"] != sent["msgid"]
    assert (await after.quota(USER, SHIPPED))["remaining"] == 1


async def test_the_sandbox_writes_its_state_on_shutdown(make_sandbox: MakeHarness, tmp_path: Path) -> None:
    # given a sandbox app with a state file, running
    state_file = tmp_path / "sandbox-state.json"
    app = create_sandbox_app(SandboxConfig(state_file=state_file, seed=1))
    async with app.router.lifespan_context(app):
        app.state.sandbox.state.know(USER)
        app.state.sandbox.state.subscription(USER, "tmpl-order-progress-0001").remaining = 4

    # when it has shut down (no periodic save had to happen), then a new one knows the user's units
    revived = await make_sandbox(state_file=state_file, templates=None)
    assert (await revived.quota(USER, "tmpl-order-progress-0001"))["remaining"] == 4


def test_an_unreadable_state_file_stops_the_sandbox_with_its_name(tmp_path: Path) -> None:
    # given a state file cut short
    state_file = tmp_path / "sandbox-state.json"
    state_file.write_text('{"version": 1, "users": {', encoding="utf-8")

    # when / then
    with pytest.raises(StateFileError, match=r"sandbox-state\.json: cannot restore"):
        create_sandbox_app(SandboxConfig(state_file=state_file))
