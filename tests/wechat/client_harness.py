"""An in-process WeChat sandbox for tests of the client, the push receiver and login.

``running_sandbox(**config)`` starts ``wxsandbox`` on an httpx ``ASGITransport``; the client under
test gets that transport as its HTTP client and ``http://sandbox`` as its base URL, so only the
base URL differs from production. With ``push_app`` (the BFF's ASGI app) the sandbox delivers
its message pushes to the BFF's ``/wechat/push`` in-process too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import Redis
from starlette.applications import Starlette

from bff.wechat.client import WeChatClient
from bff.wechat.tokens import TokenCache
from wxsandbox import defaults
from wxsandbox.app import create_sandbox_app
from wxsandbox.config import SandboxConfig
from wxsandbox.sandbox import Sandbox

SANDBOX_BASE = "http://sandbox"
# A template of the bundled templates file (the sandbox serves the same file by default).
PROGRESS = "tmpl-order-progress-0001"
PROGRESS_VALUES = {
    "character_string1": "SO20261120000001",
    "phrase2": "已出库",
    "time3": "2026年11月20日 09:30",
    "thing4": "杭州仓已发出",
}


class DeadlineASGITransport(httpx.ASGITransport):
    """An ASGITransport that enforces the request's read timeout like a real socket would: when
    the app has not answered in time the request has been delivered, and httpx raises ReadTimeout."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {}).get("read")
        try:
            return await asyncio.wait_for(super().handle_async_request(request), timeout)
        except TimeoutError:
            raise httpx.ReadTimeout("timed out reading the answer", request=request) from None


@dataclass
class SandboxHarness:
    app: Starlette
    http: httpx.AsyncClient  # what the client under test uses (and the control paths)

    @property
    def sandbox(self) -> Sandbox:
        sandbox = self.app.state.sandbox
        assert isinstance(sandbox, Sandbox)
        return sandbox

    def client(
        self,
        redis: Redis,
        *,
        appid: str = defaults.APPID,
        secret: str = defaults.SECRET,
        http: httpx.AsyncClient | None = None,
        token_cache: TokenCache | None = None,
    ) -> WeChatClient:
        return WeChatClient(
            http or self.http,
            redis,
            appid=appid,
            secret=secret,
            api_base=SANDBOX_BASE,
            token_cache=token_cache,
        )

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    async def login_code(self, openid: str | None = None, **extra: Any) -> str:
        body = {"openid": openid, **extra} if openid else extra
        answer = await self._json("POST", "/sandbox/login-code", json=body)
        return str(answer["code"])

    async def subscribe(self, openid: str, answers: dict[str, str], **extra: Any) -> dict[str, Any]:
        result: dict[str, Any] = await self._json(
            "POST", "/sandbox/subscribe", json={"openid": openid, "answers": answers, **extra}
        )
        return result

    async def change_setting(self, openid: str, template_id: str, status: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._json(
            "POST", "/sandbox/settings", json={"openid": openid, "template_id": template_id, "status": status}
        )
        return result

    async def faults(self, **changes: Any) -> None:
        await self._json("POST", "/sandbox/faults", json=changes)

    async def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._json("GET", "/sandbox/stats")
        return result

    async def inbox(self, openid: str | None = None) -> list[dict[str, Any]]:
        params = {"openid": openid} if openid else {}
        result: list[dict[str, Any]] = await self._json("GET", "/sandbox/inbox", params=params)
        return result

    async def ban(self, template_id: str) -> None:
        await self._json("POST", "/sandbox/ban", json={"template_id": template_id})

    async def advance_clock(self, seconds: float) -> None:
        await self._json("POST", "/sandbox/clock", json={"advance_s": seconds})

    async def register_payment(self, **keys: str) -> None:
        await self._json("POST", "/sandbox/payments", json=keys)

    async def shipping(self) -> list[dict[str, Any]]:
        """Every payment WeChat knows, with its order_state and last shipping upload."""
        result: list[dict[str, Any]] = await self._json("GET", "/sandbox/shipping")
        return result

    async def pushes(self) -> list[dict[str, Any]]:
        """Every push record, after waiting for the deliveries under way."""
        result: list[dict[str, Any]] = await self._json("GET", "/sandbox/pushes", params={"wait_s": 10})
        return result

    async def force_refresh_elsewhere(self) -> str:
        """Another party calls stable_token with force_refresh: every earlier stable token dies."""
        answer = await self._json(
            "POST",
            "/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": defaults.APPID,
                "secret": defaults.SECRET,
                "force_refresh": True,
            },
        )
        return str(answer["access_token"])


@contextlib.asynccontextmanager
async def running_sandbox(
    *,
    push_app: Starlette | None = None,
    transport: Callable[[Starlette], httpx.AsyncBaseTransport] | None = None,
    http_timeout: httpx.Timeout | None = None,
    **config: Any,
) -> AsyncIterator[SandboxHarness]:
    """A running sandbox; ``config`` are SandboxConfig fields (seeded, pushes to ``push_app``)."""
    async with contextlib.AsyncExitStack() as stack:
        push_client = None
        if push_app is not None:
            push_client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=push_app), base_url="http://bff")
            )
            config.setdefault("push_url", "http://bff/wechat/push")
        config.setdefault("seed", 7)
        app = create_sandbox_app(SandboxConfig(**config), push_client=push_client)
        await stack.enter_async_context(app.router.lifespan_context(app))
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=transport(app) if transport else httpx.ASGITransport(app=app),
                base_url=SANDBOX_BASE,
                timeout=http_timeout or httpx.Timeout(10.0),
            )
        )
        yield SandboxHarness(app=app, http=http)
