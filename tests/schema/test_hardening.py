"""What the GraphQL endpoint gives away: production hides the schema, development shows it."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from bff.web.app import create_app
from schema import MAX_DEPTH

INTROSPECTION = "{ __schema { queryType { name } types { name } } }"
TYPO_IN_FIELD = "{ viewr { openid } }"
TYPO_IN_ENUM = "query { subscribeRequest(moment: AFTER_PAYMENTT) { __typename } }"
TYPO_IN_ENUM_VARIABLE = "query Q($m: SubscribeMoment!) { subscribeRequest(moment: $m) { __typename } }"
# Too deep only when the introspection fields are counted.
DEEP_INTROSPECTION = (
    '{ __type(name: "Query") { fields { type '
    + "{ ofType " * (MAX_DEPTH - 2)
    + "{ name }"
    + " }" * (MAX_DEPTH - 2)
    + " } } }"
)


async def post(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def messages(answer: dict[str, Any]) -> list[str]:
    return [error["message"] for error in answer.get("errors", [])]


@pytest.fixture
async def production_client(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    production = dataclasses.replace(settings, env="production")
    app = create_app(production, resources=dataclasses.replace(resources, settings=production))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_production_refuses_introspection(production_client: httpx.AsyncClient) -> None:
    # when
    answer = await post(production_client, INTROSPECTION)

    # then
    assert answer.get("data") is None
    assert any("introspection" in message for message in messages(answer)), answer


async def test_development_answers_introspection_for_graphiql(client: httpx.AsyncClient) -> None:
    # when
    answer = await post(client, INTROSPECTION)

    # then
    assert answer["data"]["__schema"]["queryType"] == {"name": "Query"}


@pytest.mark.parametrize(
    ("query", "variables"),
    [(TYPO_IN_FIELD, None), (TYPO_IN_ENUM, None), (TYPO_IN_ENUM_VARIABLE, {"m": "AFTER_PAYMENTT"})],
    ids=["field", "enum-literal", "enum-variable"],
)
async def test_production_errors_suggest_no_names(
    production_client: httpx.AsyncClient,
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None,
) -> None:
    # given development suggests the right name
    assert any("Did you mean" in message for message in messages(await post(client, query, variables)))

    # when
    answer = await post(production_client, query, variables)

    # then the same error, without the hint
    assert messages(answer), answer
    assert not any("Did you mean" in message for message in messages(answer)), answer


async def test_production_depth_limit_counts_introspection_fields(
    production_client: httpx.AsyncClient,
) -> None:
    # when
    answer = await post(production_client, DEEP_INTROSPECTION)

    # then
    assert answer.get("data") is None
    assert f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}" in messages(answer), answer


async def test_production_still_answers_ordinary_queries(production_client: httpx.AsyncClient) -> None:
    # when
    answer = await post(production_client, "{ __typename viewer { openid } }")

    # then
    assert answer == {"data": {"__typename": "Query", "viewer": None}}
