"""A sandbox per test, driven in-process over httpx, with a small template set of its own."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bff.catalog.templates_file import TemplateConfig
from wxsandbox import defaults
from wxsandbox.app import create_sandbox_app
from wxsandbox.config import SandboxConfig
from wxsandbox.sandbox import Sandbox

SHIPPED = "TPL_SHIPPED_000000000000000000000000001"
SHIPPED_AGAIN = "TPL_SHIPPED_SAME_TITLE_0000000000000002"  # same title as SHIPPED
REMINDER = "TPL_REMINDER_0000000000000000000000003"
ROOM = "TPL_LONG_TERM_ROOM_00000000000000000004"  # long-term, with an enum keyword

TEMPLATES = [
    TemplateConfig(
        template_id=SHIPPED,
        title="订单发货通知",
        type=2,
        content="订单编号:{{character_string1.DATA}}\n商品名称:{{thing2.DATA}}\n发货时间:{{time3.DATA}}\n"
        "订单金额:{{amount4.DATA}}\n",
        topics=(),
        page="pages/order/detail?orderNo={order_no}",
        data={},
        enum_values={},
    ),
    TemplateConfig(
        template_id=SHIPPED_AGAIN,
        title="订单发货通知",
        type=2,
        content="订单编号:{{character_string1.DATA}}\n",
        topics=(),
        page="",
        data={},
        enum_values={},
    ),
    TemplateConfig(
        template_id=REMINDER,
        title="补货提醒",
        type=2,
        content="商品名称:{{thing1.DATA}}\n提醒状态:{{phrase2.DATA}}\n",
        topics=(),
        page="",
        data={},
        enum_values={},
    ),
    TemplateConfig(
        template_id=ROOM,
        title="会议提醒",
        type=3,
        content="会议时间:{{time1.DATA}}\n会议地点:{{enum_string2.DATA}}\n",
        topics=(),
        page="",
        data={},
        enum_values={"enum_string2": ("客厅", "书房")},
    ),
]


def shipped_data(**overrides: str) -> dict[str, dict[str, str]]:
    values = {
        "character_string1": "SO20260101000001",
        "thing2": "有机燕麦片 1kg",
        "time3": "2026年01月01日 10:00",
        "amount4": "¥99.00",
        **overrides,
    }
    return {code: {"value": value} for code, value in values.items()}


@dataclass
class PushReceiver:
    """A stand-in for the BFF's /wechat/push: records every request, answers from a script."""

    statuses: list[int] = field(default_factory=list)  # answered in order, then 200
    stall_s: list[float] = field(default_factory=list)  # per request: sleep before answering
    requests: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def push(request: Request) -> Response:
            index = len(self.requests)
            self.requests.append(
                {
                    "query": dict(request.query_params),
                    "body": await request.body(),
                    "content_type": request.headers.get("content-type"),
                }
            )
            if index < len(self.stall_s):
                await asyncio.sleep(self.stall_s[index])
            status = self.statuses[index] if index < len(self.statuses) else 200
            return PlainTextResponse("success" if status == 200 else "nope", status_code=status)

        return Starlette(routes=[Route("/wechat/push", push, methods=["POST"])])


@dataclass
class Harness:
    client: httpx.AsyncClient
    sandbox: Sandbox
    receiver: PushReceiver

    async def token(self) -> str:
        response = await self.client.get(
            "/cgi-bin/token",
            params={"grant_type": "client_credential", "appid": defaults.APPID, "secret": defaults.SECRET},
        )
        token = response.json()["access_token"]
        assert isinstance(token, str)
        return token

    async def user(self, openid: str, **answers: str) -> None:
        """Make ``openid`` a user; ``answers`` maps template ids to popup answers."""
        await self.client.post("/sandbox/login-code", json={"openid": openid})
        if answers:
            await self.subscribe(openid, answers)

    async def subscribe(self, openid: str, answers: dict[str, str], **extra: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/sandbox/subscribe", json={"openid": openid, "answers": answers, **extra}
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert isinstance(result, dict)
        return result

    async def send(self, token: str, body: dict[str, Any] | bytes) -> dict[str, Any]:
        url = "/cgi-bin/message/subscribe/send"
        if isinstance(body, bytes):
            response = await self.client.post(url, params={"access_token": token}, content=body)
        else:
            response = await self.client.post(url, params={"access_token": token}, json=body)
        assert response.status_code == 200
        answer = response.json()
        assert isinstance(answer, dict)
        return answer

    async def quota(self, openid: str, template_id: str) -> dict[str, Any]:
        response = await self.client.get(
            "/sandbox/quota", params={"openid": openid, "template_id": template_id}
        )
        answer = response.json()
        assert isinstance(answer, dict)
        return answer

    async def pushes(self) -> list[dict[str, Any]]:
        records = (await self.client.get("/sandbox/pushes", params={"wait_s": 10})).json()
        assert isinstance(records, list)
        return records


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_sandbox() -> AsyncIterator[MakeHarness]:
    """``await make_sandbox(**config_fields)``: a running sandbox whose pushes reach a PushReceiver."""
    async with contextlib.AsyncExitStack() as stack:

        async def factory(**overrides: Any) -> Harness:
            receiver = PushReceiver()
            push_client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=receiver.app()), base_url="http://bff")
            )
            fields: dict[str, Any] = {
                "templates": TEMPLATES,
                "push_url": "http://bff/wechat/push",
                "seed": 1234,
            }
            config = SandboxConfig(**{**fields, **overrides})
            app = create_sandbox_app(config, push_client=push_client)
            await stack.enter_async_context(app.router.lifespan_context(app))
            client = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")
            )
            sandbox = app.state.sandbox
            assert isinstance(sandbox, Sandbox)
            return Harness(client=client, sandbox=sandbox, receiver=receiver)

        yield factory


@pytest.fixture
async def sandbox(make_sandbox: MakeHarness) -> Harness:
    return await make_sandbox()
