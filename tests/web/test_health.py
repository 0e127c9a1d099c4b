from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from bff.web.app import create_app

METRICS_TOKEN = "metrics-token-0123456789abcdef0123"


async def test_healthz_answers_while_the_process_is_up(client: httpx.AsyncClient) -> None:
    # when
    response = await client.get("/healthz")

    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_200_when_database_and_redis_answer(client: httpx.AsyncClient) -> None:
    # when
    response = await client.get("/readyz")

    # then
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


async def test_readyz_is_503_naming_redis_when_redis_does_not_answer(
    client: httpx.AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Redis client whose server is gone
    async def refuse() -> None:
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(resources.arq, "ping", refuse)

    # when
    response = await client.get("/readyz")

    # then
    assert response.status_code == 503
    assert set(response.json()["problems"]) == {"redis"}


async def test_metrics_are_prometheus_text_and_count_requests(client: httpx.AsyncClient) -> None:
    # given
    await client.get("/healthz")

    # when
    response = await client.get("/metrics")

    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'lvyue_http_requests_total{method="GET",route="/healthz",status="200"}' in response.text


@pytest.fixture
def app_with(settings: Settings, resources: Resources) -> Callable[..., Starlette]:
    """An app whose settings differ from the suite's by `changes`."""

    def build(**changes: Any) -> Starlette:
        changed = dataclasses.replace(settings, **changes)
        return create_app(changed, resources=dataclasses.replace(resources, settings=changed))

    return build


async def get_metrics(app: Starlette, headers: dict[bytes, bytes] | None = None) -> httpx.Response:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.get("/metrics", headers=headers or {})


async def test_metrics_are_not_served_when_exposure_is_off(app_with: Callable[..., Starlette]) -> None:
    # given production's default without a metrics token
    app = app_with(env="production", metrics_exposure="off")

    # when
    response = await get_metrics(app)

    # then
    assert response.status_code == 404
    assert "lvyue_" not in response.text


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-wrong-token-wrong-token", "Basic bWV0cmljczp4", "Bearer ☃"]
)
async def test_metrics_with_token_exposure_refuse_a_missing_or_wrong_token(
    app_with: Callable[..., Starlette], authorization: str | None
) -> None:
    # given
    app = app_with(env="production", metrics_exposure="token", metrics_token=METRICS_TOKEN)

    # when
    response = await get_metrics(app, {b"Authorization": authorization.encode()} if authorization else None)

    # then
    assert response.status_code == 401
    assert "lvyue_" not in response.text


async def test_metrics_with_token_exposure_answer_the_bearer_of_the_token(
    app_with: Callable[..., Starlette],
) -> None:
    # given
    app = app_with(env="production", metrics_exposure="token", metrics_token=METRICS_TOKEN)

    # when
    response = await get_metrics(app, {b"Authorization": f"Bearer {METRICS_TOKEN}".encode()})

    # then
    assert response.status_code == 200
    assert "lvyue_http_requests_total" in response.text
