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
from schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS

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


TOO_MANY_ALIASES = "{ " + " ".join(f"a{n}: __typename" for n in range(MAX_ALIASES + 1)) + " }"
TOO_MANY_TOKENS = "{ " + "__typename " * MAX_TOKENS + "}"
SUBSCRIBE_REQUEST = "query Q($m: SubscribeMoment!) { subscribeRequest(moment: $m) { __typename } }"


@pytest.mark.parametrize(
    ("query", "refusal"),
    [
        (TOO_MANY_ALIASES, f"{MAX_ALIASES + 1} aliases found. Allowed: {MAX_ALIASES}"),
        (TOO_MANY_TOKENS, f"Syntax Error: Document contains more than {MAX_TOKENS} tokens. Parsing aborted."),
        (DEEP_INTROSPECTION, f"'anonymous' exceeds maximum operation depth of {MAX_DEPTH}"),
    ],
    ids=["aliases", "tokens", "depth"],
)
async def test_a_refused_document_is_refused_alike_every_time(
    production_client: httpx.AsyncClient, query: str, refusal: str
) -> None:
    # when the same document comes three times
    answers = [await post(production_client, query) for _ in range(3)]

    # then each answer is the first one's refusal
    assert refusal in messages(answers[0]), answers[0]
    assert answers[0].get("data") is None
    assert answers[1] == answers[0] and answers[2] == answers[0], answers


async def test_a_document_seen_before_still_has_its_variables_checked(
    production_client: httpx.AsyncClient,
) -> None:
    # given the document answered once with a valid variable
    first = await post(production_client, SUBSCRIBE_REQUEST, {"m": "AFTER_PAYMENT"})
    assert not messages(first), first

    # when it comes again with a value the enum does not have
    answer = await post(production_client, SUBSCRIBE_REQUEST, {"m": "AFTER_PAYMENTT"})

    # then it is refused like a first request would be
    assert answer.get("data") is None
    assert any("AFTER_PAYMENTT" in message for message in messages(answer)), answer


async def test_introspection_answered_in_development_is_still_refused_in_production(
    client: httpx.AsyncClient, production_client: httpx.AsyncClient
) -> None:
    # given development answered the document (and so remembers it as valid)
    assert (await post(client, INTROSPECTION))["data"]["__schema"]["queryType"] == {"name": "Query"}

    # when production gets the same text
    answer = await post(production_client, INTROSPECTION)

    # then production refuses it
    assert answer.get("data") is None
    assert any("introspection" in message for message in messages(answer)), answer
