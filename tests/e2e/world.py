"""The whole service in one process, talking to the WeChat sandbox the way it talks to WeChat.

``open_world(...)`` runs: the BFF app (GraphQL, /hooks/supply-chain, /wechat/push) on an ASGI
transport; the sandbox (tests/wechat/client_harness.py) whose pushes go to the BFF's /wechat/push;
and real arq burst workers with every job of tasks/worker.py, whose HTTP client reaches the
sandbox. Only the network is in-process: the mini-program's calls go through GraphQL, the supply
chain's through the signed webhook, WeChat's through its push URL.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from arq.connections import ArqRedis
from arq.worker import Worker

from bff.models import Notice, NoticeStatus
from bff.notices.locks import LockWait
from bff.notices.open_tokens import verify_open_token
from bff.notices.sender import SEND_RETRY
from bff.runtime.backoff import RetryPolicy
from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from bff.supply_chain.signing import signed_headers
from tasks.worker import FUNCTIONS
from tests.conftest import graphql
from tests.schema.subscriptions.documents import CENTER, REPORT, SUBSCRIBE_REQUEST, UPDATE
from tests.wechat.client_harness import DeadlineASGITransport, SandboxHarness, running_sandbox

LOGIN = """
mutation Login($code: String!) {
  login(code: $code) { token viewer { openid } userErrors { code field message } }
}
"""

# Retries in seconds rather than minutes (WeChat's floors, 1 s for -1 and 43108, still apply).
E2E_RETRY = replace(SEND_RETRY, base_s=0.2, cap_s=1.0)
E2E_LOCK_WAIT = LockWait(retry_min_s=0.05, retry_max_s=0.2)

WorkerFactory = Callable[..., Awaitable[Worker]]
MAX_DEFER_S = 60


@dataclass
class World:
    settings: Settings
    arq: ArqRedis
    bff: httpx.AsyncClient  # the BFF's HTTP surface
    sandbox: SandboxHarness  # WeChat, with its /sandbox/ control paths
    make_worker: WorkerFactory
    retry: RetryPolicy = E2E_RETRY
    lock_wait: LockWait = E2E_LOCK_WAIT
    worker_runs: list[int] = field(default_factory=list)

    # -- the mini-program ------------------------------------------------------------------------

    async def login(self, openid: str) -> str:
        code = await self.sandbox.login_code(openid)
        answer = await graphql(self.bff, LOGIN, {"code": code})
        login = answer["data"]["login"]
        assert login["userErrors"] == [], login
        return str(login["token"])

    async def accept(
        self, token: str, openid: str, template_ids: Sequence[str], order_no: str | None = None
    ) -> None:
        """One subscribe popup on an order's detail page in which the user accepts ``template_ids``:
        WeChat pushes the accepts and the mini-program reports them (one unit each, counted once)."""
        asked = (
            await self.graphql(SUBSCRIBE_REQUEST, {"moment": "ORDER_DETAIL", "orderNo": order_no}, token)
        )["subscribeRequest"]
        assert set(template_ids) <= set(asked["templateIds"]), asked
        await self.sandbox.subscribe(openid, dict.fromkeys(template_ids, "accept"))
        results = [{"templateId": template_id, "status": "ACCEPT"} for template_id in template_ids]
        reported = await self.graphql(
            REPORT, {"input": {"requestId": asked["requestId"], "results": results}}, token
        )
        assert reported["reportSubscribeResult"]["userErrors"] == [], reported

    async def no_quiet_hours(self, token: str) -> None:
        answer = await self.graphql(UPDATE, {"input": {"quietHours": None}}, token)
        assert answer["updatePreferences"]["userErrors"] == [], answer

    async def switch(self, token: str, topic: str, enabled: bool) -> None:
        answer = await self.graphql(
            UPDATE, {"input": {"topics": [{"key": topic, "enabled": enabled}]}}, token
        )
        assert answer["updatePreferences"]["userErrors"] == [], answer

    async def center(self, token: str) -> dict[str, dict[str, Any]]:
        topics = (await self.graphql(CENTER, None, token))["subscriptionCenter"]["topics"]
        return {topic["key"]: topic for topic in topics}

    async def graphql(
        self, query: str, variables: dict[str, Any] | None, token: str | None
    ) -> dict[str, Any]:
        answer = await graphql(self.bff, query, variables, token)
        assert "errors" not in answer, answer
        return answer["data"]  # type: ignore[no-any-return]

    # -- the supply chain ------------------------------------------------------------------------

    async def supply_chain(self, *events: b.Event) -> dict[str, Any]:
        body = b.body(*events)
        response = await self.bff.post(
            "/hooks/supply-chain",
            content=body,
            headers=signed_headers(self.settings.supply_chain_secret, body),
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    # -- the workers -----------------------------------------------------------------------------

    async def settle(self, *, rounds: int = 30) -> None:
        """Run workers until no job is left and WeChat has no push on its way."""
        for _ in range(rounds):
            await self.sandbox.pushes()  # waits until the sandbox's pushes are delivered
            jobs = await self.arq.queued_jobs()
            if not jobs:
                return
            # A burst worker waits for deferred jobs too; one deferred for hours is a test bug.
            far = [job for job in jobs if job.score and job.score / 1000 > time.time() + MAX_DEFER_S]
            assert not far, f"jobs deferred beyond {MAX_DEFER_S}s: {[(j.function, j.args) for j in far]}"
            worker = await self.make_worker(
                functions=FUNCTIONS,
                ctx={
                    "settings": self.settings,
                    "http": self.sandbox.http,
                    "worker_id": "e2e",
                    "started_at": datetime.now(UTC),
                    "notice_retry_policy": self.retry,
                    "notice_lock_wait": self.lock_wait,
                },
                max_jobs=20,
            )
            self.worker_runs.append(await worker.run_check())
        raise AssertionError(f"still busy after {rounds} worker runs")

    # -- what happened ---------------------------------------------------------------------------

    async def inbox(self, openid: str | None = None) -> list[dict[str, Any]]:
        return await self.sandbox.inbox(openid)

    def notice_of(self, message: dict[str, Any]) -> int:
        """The notice a delivered card opens (its page's open token)."""
        token = parse_qs(urlsplit(message["page"]).query)["n"][0]
        notice_id = verify_open_token(self.settings.session_secret, token)
        assert notice_id is not None, message["page"]
        return notice_id


async def notices_by_status() -> dict[NoticeStatus, list[Notice]]:
    found: dict[NoticeStatus, list[Notice]] = {}
    for notice in await Notice.all().order_by("id"):
        found.setdefault(notice.status, []).append(notice)
    return found


@contextlib.asynccontextmanager
async def open_world(
    settings: Settings,
    arq: ArqRedis,
    make_worker: WorkerFactory,
    *,
    read_timeout: float = 10.0,
    **sandbox_config: Any,
) -> AsyncIterator[World]:
    """The BFF and the sandbox wired to each other; ``read_timeout`` is the BFF's HTTP read timeout
    towards WeChat (enforced in-process like a socket's)."""
    from bff.web.app import create_app

    # The app reads its resources per request, so the sandbox client can be put in once it exists.
    resources = Resources(settings=settings, arq=arq, http=httpx.AsyncClient())
    app = create_app(settings, resources=resources)
    timeout = httpx.Timeout(connect=2.0, read=read_timeout, write=2.0, pool=2.0)
    async with contextlib.AsyncExitStack() as stack:
        placeholder = resources.http
        stack.push_async_callback(placeholder.aclose)
        sandbox = await stack.enter_async_context(
            running_sandbox(
                push_app=app,
                transport=lambda sandbox_app: DeadlineASGITransport(app=sandbox_app),
                http_timeout=timeout,
                **sandbox_config,
            )
        )
        resources.http = sandbox.http
        await stack.enter_async_context(app.router.lifespan_context(app))
        bff = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        )
        yield World(settings=settings, arq=arq, bff=bff, sandbox=sandbox, make_worker=make_worker)


def t(minutes: float) -> datetime:
    """A moment ``minutes`` from now (events happen now, so nothing has expired)."""
    return datetime.now(UTC) + timedelta(minutes=minutes)


def unique(prefix: str) -> str:
    return f"{prefix}{time.time_ns() % 10**12:012d}"
