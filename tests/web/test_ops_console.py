"""The operators' console page and its files, as the app serves them (tests/web/test_ops_console_browser.py
drives it in a real browser against the real /ops/graphql)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import httpx
from graphql import parse, validate

from bff.catalog.topics import TOPICS
from bff.runtime.settings import Settings
from bff.web.ops_console import ASSETS, CSP, asset_bytes, boot_json
from schema.ops import ops_schema_for

# The one URL of another origin the files may name: SVG's XML namespace (an identifier, never fetched).
ALLOWED_FOREIGN_URLS = {"http://www.w3.org/2000/svg"}


class Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.styles = 0
        self.style_attributes = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        if tag == "style":
            self.styles += 1
        if any(name == "style" or name.startswith("on") for name, _ in attrs):
            self.style_attributes += 1


async def test_the_console_page_is_served_in_chinese_with_a_strict_content_security_policy(
    client: httpx.AsyncClient,
) -> None:
    # when an operator opens /ops/
    response = await client.get("/ops/")

    # then they get the console's HTML, in Chinese, under `default-src 'self'`
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CSP
    assert CSP.startswith("default-src 'self';")
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    page = response.text
    for label in ("运营控制台", "发送量", "打开率", "复购", "准时率", "满足率", "运营密钥", "消息查询"):
        assert label in page
    script = (await client.get("/ops/static/console.js")).text
    for label in ("退订", "重发", "确认"):
        assert label in script
    # and no script or style is inline (the CSP would block it): scripts come from /ops/static,
    # the only inline block is JSON data
    parsed = Scripts()
    parsed.feed(page)
    assert {s.get("src") for s in parsed.scripts if s.get("src")} == {
        "/ops/static/charts.js",
        "/ops/static/console.js",
    }
    assert [s.get("type") for s in parsed.scripts if not s.get("src")] == ["application/json"]
    assert (parsed.styles, parsed.style_attributes) == (0, 0)


async def test_the_page_starts_from_today_in_the_business_time_zone_and_knows_the_topic_titles(
    settings: Settings,
) -> None:
    # given 23:30 UTC, already the next day in Shanghai
    boot = json.loads(boot_json(settings, datetime(2026, 11, 30, 23, 30, tzinfo=UTC)))
    assert settings.business_tz == "Asia/Shanghai"
    assert boot["today"] == "2026-12-01"
    assert boot["timeZone"] == "Asia/Shanghai"
    assert boot["topics"]["NODE_OUTBOUND"] == "已出库"
    assert set(boot["topics"]) == {str(topic) for topic in TOPICS}


async def test_each_file_comes_with_its_content_type_and_the_policy(client: httpx.AsyncClient) -> None:
    for name, media_type in ASSETS.items():
        response = await client.get(f"/ops/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == media_type
        assert response.headers["content-security-policy"] == CSP
        assert response.content


async def test_nothing_is_loaded_from_another_origin(client: httpx.AsyncClient) -> None:
    # The machine running the console may have no internet: no file names a URL it would fetch.
    bodies = [(await client.get("/ops/")).text]
    bodies += [(await client.get(f"/ops/static/{name}")).text for name in ASSETS]
    url = re.compile(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'`)]*")
    foreign = {found for body in bodies for found in url.findall(body)}
    assert foreign <= ALLOWED_FOREIGN_URLS
    assert not any("@import" in body for body in bodies)


async def test_unknown_files_and_paths_outside_the_folder_are_not_served(client: httpx.AsyncClient) -> None:
    for path in (
        "/ops/static/index.html.bak",
        "/ops/static/..%2Fops_console.py",
        "/ops/static/%2E%2E%2F%2E%2E%2Fapp.py",
        "/ops/static/",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "def " not in response.text


async def test_the_bare_path_redirects_to_the_console(client: httpx.AsyncClient) -> None:
    response = await client.get("/ops")
    assert response.status_code == 308
    assert response.headers["location"] == "/ops/"


def console_documents() -> dict[str, str]:
    """Every GraphQL document console.js sends, by operation name (each is one literal)."""
    script = asset_bytes("console.js").decode("utf-8")
    documents = re.findall(r"`(\s*(?:query|mutation)\b[^`]*)`", script)
    named = {re.search(r"(?:query|mutation)\s+(\w+)", d).group(1): d for d in documents}  # type: ignore[union-attr]
    assert len(named) == len(documents)
    return named


def test_every_document_the_console_sends_is_valid_against_the_ops_schema() -> None:
    schema = ops_schema_for(production=True)._schema
    documents = console_documents()
    # the console reads every part of the API: its queries and its three actions
    assert {"Operator", "Kpis", "Inventory", "Regions", "Presale", "Experiments", "Alerts", "Acknowledge",
            "Commands", "Retry", "Notices", "Resend"} == set(documents)
    for name, document in documents.items():
        assert validate(schema, parse(document)) == [], name
