"""GraphiQL's page and assets come from the app itself (no CDN), outside production only."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from bff.web.app import create_app
from bff.web.graphiql import ASSETS


async def test_the_graphiql_page_loads_its_scripts_and_styles_from_the_app_only(
    client: httpx.AsyncClient,
) -> None:
    # when a browser asks for /graphql
    page = await client.get("/graphql", headers={"Accept": "text/html"})

    # then every script and stylesheet is one of the app's own, and each of them is served
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "://" not in " ".join(sources)
    assets = [source for source in sources if source.startswith("/graphiql/")]
    assert sorted(asset.removeprefix("/graphiql/") for asset in assets) == sorted(ASSETS)
    for asset in assets:
        answer = await client.get(asset)
        assert answer.status_code == 200, asset
        assert answer.headers["content-type"].split(";")[0] in {"text/javascript", "text/css"}
        assert len(answer.content) > 1000, asset


async def test_the_page_tells_how_to_pass_the_session_token(client: httpx.AsyncClient) -> None:
    # when
    page = await client.get("/graphql", headers={"Accept": "text/html"})

    # then the opening comment and the Headers tab show the Authorization header
    assert '{\\"Authorization\\": \\"Bearer <token>\\"}' in page.text
    assert "Bearer <token from the login mutation>" in page.text
    assert "/sandbox/login-code" in page.text


async def test_an_unknown_asset_is_404_and_names_it(client: httpx.AsyncClient) -> None:
    # when
    answer = await client.get("/graphiql/views.py")

    # then only the listed files of the package are served
    assert answer.status_code == 404
    assert answer.text == "no GraphiQL asset 'views.py'"


@pytest.fixture
async def production_client(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    app: Any = create_app(dataclasses.replace(settings, env="production"), resources=resources)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_production_serves_neither_the_page_nor_its_assets(
    production_client: httpx.AsyncClient,
) -> None:
    # when
    page = await production_client.get("/graphql", headers={"Accept": "text/html"})
    asset = await production_client.get("/graphiql/graphiql.min.js")

    # then
    assert "GraphiQL" not in page.text
    assert asset.status_code == 404
