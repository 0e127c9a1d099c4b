"""GraphiQL works in a real browser on a machine without internet.

A real `bff web` (uvicorn) serves /graphql; Debian's chromium, driven by playwright, loads it
with every request outside 127.0.0.1 refused, puts a session token in the Headers tab, runs
Viewer and sees the user's data in the result pane. A screenshot is left in the test's tmp dir.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Page, Route, async_playwright
from tortoise.context import TortoiseContext

from bff.models import User
from bff.runtime.settings import Settings
from bff.sessions import issue_session_token

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# The flags that work in this project's containers and CI (no GPU, no sandbox, no background calls).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No name but localhost resolves: a CDN asset could not load even if routing let it through.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
OPENID = "oGRAPHIQL_browser_0000000001"
VIEWER = "query Viewer { viewer { openid nickname } }"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def web_server(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """`bff web` on a free port, on the suite's database and Redis; yields its base URL."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bff.cli", "web", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, (tmp_path / "web.log").read_text()
            assert time.monotonic() < deadline, "bff web did not start"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


async def set_editor(page: Page, selector: str, text: str) -> None:
    """Replace the text of a GraphiQL (CodeMirror) editor, as typing would."""
    await page.wait_for_selector(f"{selector} .CodeMirror")
    await page.eval_on_selector(f"{selector} .CodeMirror", "(el, text) => el.CodeMirror.setValue(text)", text)


async def test_graphiql_renders_offline_and_runs_a_query_with_the_bearer_token(
    db: TortoiseContext, settings: Settings, web_server: str, tmp_path: Path
) -> None:
    # given a user, their session token and a browser that can reach nothing but 127.0.0.1
    user = await User.create(openid=OPENID, nickname="GraphiQL tester")
    token, _ = issue_session_token(settings.session_secret, user.id, timedelta(hours=1))
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
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.route("**/*", only_local)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            failed: list[str] = []
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)

            # when the developer opens /graphql
            await page.goto(f"{web_server}/graphql", wait_until="load")
            await page.wait_for_selector(".graphiql-query-editor .CodeMirror", timeout=20_000)
            await page.screenshot(path=str(tmp_path / "graphiql-welcome.png"))

            # then GraphiQL is up (not "Loading…") and opens with how to pass the token
            welcome = await page.eval_on_selector(
                ".graphiql-query-editor .CodeMirror", "el => el.CodeMirror.getValue()"
            )
            assert '"Authorization": "Bearer <token>"' in welcome
            assert "mutation Login" in welcome

            # when they put the token in the Headers tab and run Viewer
            await page.get_by_role("button", name="Headers").click()
            headers = json.dumps({"Authorization": f"Bearer {token}"})
            await set_editor(page, ".graphiql-editor-tool .graphiql-editor:not(.hidden)", headers)
            await set_editor(page, ".graphiql-query-editor", VIEWER)
            # GraphiQL takes editor changes in after a debounce; it stores them when it has them.
            await page.wait_for_function(
                "([query, headers]) => localStorage.getItem('graphiql:query') === query"
                " && localStorage.getItem('graphiql:headers') === headers",
                arg=[VIEWER, headers],
            )
            await page.click(".graphiql-execute-button")

            # then the result pane shows that user's data
            result = page.locator(".result-window")
            await result.get_by_text(OPENID).wait_for(timeout=20_000)
            await page.screenshot(path=str(tmp_path / "graphiql.png"))
            shown = await page.eval_on_selector(
                ".result-window .CodeMirror", "el => el.CodeMirror.getValue()"
            )
        finally:
            await browser.close()

    assert json.loads(shown) == {"data": {"viewer": {"openid": OPENID, "nickname": "GraphiQL tester"}}}
    # and nothing was fetched from outside the machine, every request succeeded, no script failed
    assert outside == []
    assert failed == []
    assert errors == []
