"""The operators' console in a real browser: log in, read a KPI, find a failed notice, resend it.

Real processes: the WeChat sandbox (`python -m wxsandbox`), `bff web` (uvicorn) with OPS_API_KEY set
and `bff worker` (arq), all on the suite's database and Redis. Debian's chromium, driven by
playwright, reaches nothing but 127.0.0.1. The seeded data: a user of the sandbox with three sent
order notices (one opened) and one that FAILED after WeChat stayed busy, whose unit the user still
has. The operator logs in (a wrong key first), reads the 发送量 and 打开率 tiles, searches the failed
notice by its order number and clicks 重发: the worker sends it and the card arrives in the sandbox
inbox exactly once. A screenshot is left in the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from arq.connections import ArqRedis
from playwright.async_api import Route, async_playwright
from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic, topic_info
from bff.consent import ledger
from bff.models import Notice, NoticeOpen, NoticeStatus, User
from bff.notices.open_tokens import verify_open_token
from bff.runtime.settings import Settings
from tests.web.test_graphiql_browser import CHROMIUM, CHROMIUM_FLAGS, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
OPS_NAME = "lead"
OPS_KEY = "ops-console-browser-key-0123456789abcdef"
OPENID = "oOPS_console_browser_00000001"
SHIPPING = "tmpl-order-shipping-0001"
FAILED_ORDER = "SO-OPS-FAILED-0001"
VALUES = {
    "node_phrase": "已出库",
    "occurred_at": "2026年12月01日 09:30",
    "note": "杭州仓已发出",
    "location": "杭州仓",
    "carrier": "顺丰速运",
    "tracking_no": "SF1234567890",
}
KPIS = "query($from: Date!, $to: Date!) { kpis(from: $from, to: $to) { outcomes { sent opened openRate } } }"
RESEND = "mutation($id: ID!) { resendNotice(id: $id) { notice { status } userErrors { code } } }"


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process this test started; stopped (and waited for) however the test ends."""
    with log.open("wb") as out:
        child = subprocess.Popen(args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait(timeout=15)


async def wait_for(what: str, check: Callable[[], Awaitable[bool]], deadline_s: float = 60) -> None:
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > deadline_s:
            raise AssertionError(f"{what}: not reached within {deadline_s:.0f}s")
        await asyncio.sleep(0.2)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@dataclass
class Stack:
    web: str
    sandbox: httpx.AsyncClient


@pytest.fixture
async def stack(
    settings: Settings, db: TortoiseContext, arq_pool: ArqRedis, tmp_path: Path
) -> AsyncIterator[Stack]:
    """The sandbox, `bff web` with an ops key and `bff worker`, on free ports."""
    sandbox_port, web_port = free_port(), free_port()
    sandbox_base = f"http://127.0.0.1:{sandbox_port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WECHAT_API_BASE": sandbox_base,
        "OPS_API_KEY": f"{OPS_NAME}={OPS_KEY}",
    }
    env.pop("SANDBOX_PUSH_URL", None)
    python = sys.executable
    web = f"http://127.0.0.1:{web_port}"
    async with httpx.AsyncClient(base_url=sandbox_base, timeout=10) as sandbox:

        def up(url: str, child: subprocess.Popen[bytes], log: Path) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                assert child.poll() is None, tail(log)
                try:
                    return (await sandbox.get(url)).status_code == 200
                except httpx.TransportError:
                    return False

            return check

        sandbox_log, web_log = tmp_path / "sandbox.log", tmp_path / "web.log"
        with (
            process([python, "-m", "wxsandbox", "--host", "127.0.0.1", "--port", str(sandbox_port)],
                    env, sandbox_log) as sandbox_child,
            process([python, "-m", "bff.cli", "web", "--host", "127.0.0.1", "--port", str(web_port)],
                    env, web_log) as web_child,
            process([python, "-m", "bff.cli", "worker"], env, tmp_path / "worker.log"),
        ):
            await wait_for("sandbox up", up(f"{sandbox_base}/sandbox/stats", sandbox_child, sandbox_log))
            await wait_for("web up", up(f"{web}/healthz", web_child, web_log))
            yield Stack(web=web, sandbox=sandbox)


def notice(user: User, order_no: str, status: NoticeStatus, now: datetime, **fields: Any) -> Notice:
    return Notice(
        user_id=user.id,
        order_no=order_no,
        topic=Topic.NODE_OUTBOUND,
        template_id=SHIPPING,
        dedupe_key=f"ops-console:{order_no}",
        priority=topic_info(Topic.NODE_OUTBOUND).priority,
        status=status,
        values={**VALUES, "order_no": order_no},
        occurred_at=now,
        expires_at=now + timedelta(days=3),
        **fields,
    )


async def seed(sandbox: httpx.AsyncClient) -> Notice:
    """Three sent notices (one opened) and one FAILED after WeChat stayed busy; the user still has
    its unit."""
    user = await User.create(openid=OPENID, nickname="运营测试", region="上海")
    # WeChat knows the user, who accepted the shipping template once (the unit the failed send gave back)
    assert (await sandbox.post("/sandbox/login-code", json={"openid": OPENID})).status_code == 200
    answer = {"openid": OPENID, "answers": {SHIPPING: "accept"}, "push": False}
    assert (await sandbox.post("/sandbox/subscribe", json=answer)).status_code == 200
    await ledger.credit(user.id, SHIPPING, 1)
    now = datetime.now(UTC)
    sent = [
        notice(user, f"SO-OPS-SENT-000{n}", NoticeStatus.SENT, now, attempts=1, sent_at=now, msgid=f"9{n}")
        for n in range(1, 4)
    ]
    await Notice.bulk_create(sent)
    opened = await Notice.get(order_no="SO-OPS-SENT-0001")
    await NoticeOpen.create(notice_id=opened.id, user_id=user.id, opened_at=now, local_hour=10)
    failed = notice(
        user, FAILED_ORDER, NoticeStatus.FAILED, now, attempts=5, reason="RETRIES_EXHAUSTED", errcode=-1,
        detail="system error",
    )
    await failed.save()
    return failed


async def test_an_operator_logs_in_reads_a_kpi_and_resends_a_failed_notice_that_arrives_once(
    settings: Settings, stack: Stack, arq_pool: ArqRedis, tmp_path: Path
) -> None:
    # given seeded notices, one of them FAILED with the user's unit still there
    failed = await seed(stack.sandbox)
    outside: list[str] = []

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    assert os.access(CHROMIUM, os.X_OK), "this test needs Debian's chromium: apt-get install -y chromium"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = await browser.new_page(
                viewport={"width": 1400, "height": 1000}, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            await page.route("**/*", only_local)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            statuses: list[tuple[int, str]] = []
            page.on("response", lambda r: statuses.append((r.status, urlsplit(r.url).path)))

            # when the operator opens the console, the login form asks for the key
            await page.goto(f"{stack.web}/ops/", wait_until="load")
            await page.wait_for_selector("#login-form")
            # and a wrong key brings it back with a message
            await page.fill("#ops-key", "not-the-ops-key-0123456789")
            await page.click("#login-submit")
            await page.locator("#login-message").get_by_text("运营密钥无效").wait_for()
            assert await page.is_hidden("#console-view")

            # when they log in with the key
            await page.fill("#ops-key", OPS_KEY)
            await page.click("#login-submit")
            await page.wait_for_selector('[data-kpi="sent"][data-state="ready"]', timeout=30_000)

            # then the tiles show the range's sends and open rate, as the API and SQL count them
            assert await page.text_content("#operator-name") == OPS_NAME
            shown_sent = (await page.text_content('[data-kpi="sent"] .value') or "").strip()
            shown_rate = (await page.text_content('[data-kpi="openRate"] .value') or "").strip()
            day_from = await page.input_value("#range-from")
            day_to = await page.input_value("#range-to")
            async with httpx.AsyncClient(base_url=stack.web, timeout=30) as api:
                auth = {"Authorization": f"Bearer {OPS_KEY}"}
                body = {"query": KPIS, "variables": {"from": day_from, "to": day_to}}
                kpis = (await api.post("/ops/graphql", json=body, headers=auth)).json()["data"]["kpis"]
            sql_sent = await Notice.filter(status=NoticeStatus.SENT).count()
            sql_opened = await NoticeOpen.all().count()
            assert (kpis["outcomes"]["sent"], kpis["outcomes"]["opened"]) == (sql_sent, sql_opened) == (3, 1)
            assert shown_sent == "3"
            assert shown_rate == "33.3%"
            today = datetime.now(settings.zone).date()
            assert (day_from, day_to) == ((today - timedelta(days=29)).isoformat(), today.isoformat())
            # and the charts show today's sends by outcome and its open rate
            day = today.isoformat()
            bars = page.locator(f'#chart-outcomes rect[data-day="{day}"] title')
            assert await bars.all_text_contents() == [f"{day} 已发送：3", f"{day} 失败：1"]
            dot = page.locator(f'#chart-open-rate circle[data-day="{day}"] title')
            assert await dot.all_text_contents() == [f"{day} 打开率：33.3%"]

            # when they pick a range without notices, the tiles say so; 近30天 brings today back
            await page.fill("#range-from", "2025-01-01")
            await page.fill("#range-to", "2025-01-31")
            await page.click("#range-form button[type=submit]")
            sent_tile = page.locator('[data-kpi="sent"][data-state="ready"] .value')
            await sent_tile.get_by_text("0", exact=True).wait_for()
            assert (await page.text_content('[data-kpi="openRate"] .value') or "").strip() == "—"
            await page.click('button[data-days="30"]')
            await sent_tile.get_by_text("3", exact=True).wait_for()
            # and a reload keeps them logged in (the key stays in the tab's sessionStorage)
            await page.reload(wait_until="load")
            await page.wait_for_selector('[data-kpi="sent"][data-state="ready"]')
            assert await page.is_hidden("#login-view")

            # when they search the failed notice by its order number
            await page.fill("#f-order", FAILED_ORDER)
            await page.click("#search-submit")  # the table is "loading" until the answer is drawn
            await page.wait_for_selector('#notices-table[data-state="ready"]')
            row = page.locator(f'#notices-table tr[data-notice="{failed.id}"]')
            assert await page.locator("#notices-table tbody tr").count() == 1
            assert await row.get_attribute("data-status") == "FAILED"
            await page.screenshot(path=str(tmp_path / "ops-console-before-resend.png"), full_page=True)

            # and click 重发
            await row.get_by_role("button", name="重发").click()
            await page.locator("#search-message").get_by_text(f"消息 #{failed.id} 已重新提交发送").wait_for()

            # then the worker sends it: the card reaches the sandbox inbox
            async def sent() -> bool:
                return (await Notice.get(id=failed.id)).status is NoticeStatus.SENT

            await wait_for("the resent notice sent", sent)
            # and searching again shows it sent, with no 重发 button left
            await page.click("#search-submit")
            await page.locator(f'#notices-table tr[data-notice="{failed.id}"][data-status="SENT"]').wait_for()
            assert await row.get_by_role("button", name="重发").count() == 0
            await page.screenshot(path=str(tmp_path / "ops-console.png"), full_page=True)
        finally:
            await browser.close()

    # and a second resend is refused, changing nothing
    async with httpx.AsyncClient(base_url=stack.web, timeout=30) as api:
        again = await api.post(
            "/ops/graphql",
            json={"query": RESEND, "variables": {"id": str(failed.id)}},
            headers={"Authorization": f"Bearer {OPS_KEY}"},
        )
    assert again.json()["data"]["resendNotice"]["userErrors"] != []

    async def no_send_queued() -> bool:
        return not [job for job in await arq_pool.zrange("arq:queue", 0, -1) if job.startswith(b"send:")]

    await wait_for("no send job left", no_send_queued)
    # and the message arrived exactly once (the seeded "sent" notices never went through the sandbox)
    inbox = (await stack.sandbox.get("/sandbox/inbox", params={"openid": OPENID})).json()
    delivered = [
        verify_open_token(settings.session_secret, parse_qs(urlsplit(m["page"]).query)["n"][0]) for m in inbox
    ]
    assert delivered == [failed.id]
    assert inbox[0]["template_id"] == SHIPPING
    # and the browser asked nothing outside this machine, and nothing failed but the wrong key
    assert outside == []
    assert errors == []
    assert [s for s in statuses if s[0] >= 400] == [(401, "/ops/graphql")]
