"""The WeChat sandbox as a Starlette app: WeChat's API paths plus ``/sandbox/`` control paths."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette

from wxsandbox import routes_control, routes_wechat
from wxsandbox.config import SandboxConfig
from wxsandbox.persistence import StateKeeper
from wxsandbox.sandbox import Sandbox


def create_sandbox_app(config: SandboxConfig, *, push_client: httpx.AsyncClient | None = None) -> Starlette:
    """A sandbox standing in for api.weixin.qq.com, configured by ``config``.

    ``push_client`` carries the pushes to the BFF (tests pass one on an ``ASGITransport``); without
    it the lifespan opens a real httpx client and closes it at shutdown. ``app.state.sandbox`` is
    the running ``Sandbox`` (state, clock, push records) for in-process tests.
    """
    sandbox = Sandbox(config, push_client=push_client)
    keeper = StateKeeper(sandbox.state, config.state_file) if config.state_file else None
    if keeper is not None:
        keeper.restore()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if keeper is not None:
            keeper.start()
        if sandbox.push.enabled:
            sandbox.push.open()
        try:
            yield
        finally:
            await sandbox.push.aclose()
            if keeper is not None:
                await keeper.stop()

    app = Starlette(routes=[*routes_wechat.ROUTES, *routes_control.ROUTES], lifespan=lifespan)
    app.state.sandbox = sandbox
    return app
