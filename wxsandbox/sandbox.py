"""One running sandbox: its configuration, its state and its push delivery."""

from __future__ import annotations

import httpx
from starlette.requests import Request

from wxsandbox.config import SandboxConfig
from wxsandbox.push import PushDelivery
from wxsandbox.state import SandboxState


class Sandbox:
    def __init__(self, config: SandboxConfig, *, push_client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self.state = SandboxState(config)
        self.push = PushDelivery(config, lambda: self.state.faults, push_client)


def sandbox_of(request: Request) -> Sandbox:
    sandbox = request.app.state.sandbox
    assert isinstance(sandbox, Sandbox)
    return sandbox
