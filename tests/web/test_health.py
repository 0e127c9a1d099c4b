from __future__ import annotations

import httpx
import pytest

from bff.runtime.resources import Resources


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
