from __future__ import annotations

import httpx

from tests.conftest import graphql


async def test_post_graphql_answers_typename_without_redirect(client: httpx.AsyncClient) -> None:
    # when
    response = await client.post("/graphql", json={"query": "{ __typename }"})

    # then: a Route, not a Mount (a Mount answers 307 to /graphql/)
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


async def test_graphiql_is_served_on_get_outside_production(client: httpx.AsyncClient) -> None:
    # when
    response = await client.get("/graphql", headers={"Accept": "text/html"})

    # then
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_anonymous_viewer_is_null(client: httpx.AsyncClient) -> None:
    # when
    answer = await graphql(client, "query Viewer { viewer { openid nickname } }")

    # then
    assert answer == {"data": {"viewer": None}}


async def test_queries_with_too_many_aliases_are_refused(client: httpx.AsyncClient) -> None:
    # given a query that asks for the same field under 25 aliases
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(25)) + " }"

    # when
    answer = await graphql(client, query)

    # then nothing is executed and the limit is named
    assert answer.get("data") is None
    assert "aliases found" in answer["errors"][0]["message"]
