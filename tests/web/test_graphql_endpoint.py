from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta

import httpx
import pytest
from tortoise.context import TortoiseContext

from bff.constants import GRAPHQL_MAX_BODY_BYTES
from bff.models import User
from bff.models.consent import SubscribeRequestLog
from bff.orders import queries as order_queries
from bff.runtime.resources import Resources
from bff.sessions import issue_session_token
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


# --- hostile and broken input (issue 8, items 11 and 14) ---------------------------------------

ORDER = "query Order($orderNo: String!) { order(orderNo: $orderNo) { orderNo } }"
ORDERS = "query Orders($after: String) { viewer { orders(first: 5, after: $after) { totalCount } } }"
SLOT = (
    'mutation Slot($orderNo: String!) { chooseDeliverySlot(orderNo: $orderNo, slotId: "s1") '
    "{ userErrors { code field } } }"
)
SUBSCRIBE_REQUEST = (
    "query Ask($orderNo: String) { subscribeRequest(moment: AFTER_PAYMENT, orderNo: $orderNo) { requestId } }"
)
UPDATE_PREFERENCES = (
    "mutation Prefs($input: PreferencesInput!) { updatePreferences(input: $input) { userErrors { code } } }"
)


@pytest.fixture
async def member(db: TortoiseContext) -> User:
    return await User.create(openid="oMEMBER_graphql_edge_0001")


def session_of(resources: Resources, user: User) -> str:
    return issue_session_token(resources.settings.session_secret, user.id, timedelta(hours=1))[0]


async def test_a_body_over_the_cap_is_413(client: httpx.AsyncClient) -> None:
    # given a query padded past the cap (a 20 MB body used to be read and parsed)
    query = "{ __typename }" + " " * GRAPHQL_MAX_BODY_BYTES
    # when
    response = await client.post("/graphql", json={"query": query})
    # then
    assert response.status_code == 413
    assert response.json() == {"errors": [{"message": f"body larger than {GRAPHQL_MAX_BODY_BYTES} bytes"}]}


@pytest.mark.parametrize(
    ("text", "problem"),
    [("o\x00", "contains a NUL character at position 1"), ("o\ud800", "unpaired UTF-16 surrogate U+D800")],
)
async def test_unstorable_text_in_variables_is_400(
    client: httpx.AsyncClient, resources: Resources, member: User, text: str, problem: str
) -> None:
    # when a variable holds a NUL or a lone surrogate (JSON escapes carry both)
    body = json.dumps(
        {"query": UPDATE_PREFERENCES, "variables": {"input": {"topics": [{"key": text, "enabled": True}]}}}
    )
    response = await client.post(
        "/graphql",
        content=body,
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {session_of(resources, member)}",
        },
    )
    # then a 400 naming the variable, not an internal error when the row is written
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["message"].startswith("variables.input.topics[0].key: ")
    assert problem in error["message"]


async def test_a_nul_in_a_string_literal_is_a_validation_error(
    client: httpx.AsyncClient, resources: Resources, member: User
) -> None:
    # when the document itself escapes a NUL in a string argument
    answer = await graphql(
        client, 'query { order(orderNo: "A\\u0000B") { orderNo } }', token=session_of(resources, member)
    )
    # then nothing runs and the error says why
    assert answer["data"] is None
    assert [e["message"] for e in answer["errors"]] == [
        "String value contains a NUL character at position 1."
    ]


async def test_an_order_number_longer_than_any_is_no_order(
    client: httpx.AsyncClient, resources: Resources, member: User
) -> None:
    token = session_of(resources, member)
    long_no = "N" * 65
    # when the order tab asks for, decides on, or subscribes about a 65-character order number
    order = await graphql(client, ORDER, {"orderNo": long_no}, token)
    slot = await graphql(client, SLOT, {"orderNo": long_no}, token)
    ask = await graphql(client, SUBSCRIBE_REQUEST, {"orderNo": long_no}, token)
    # then it is an order that does not exist, not an internal error
    assert order == {"data": {"order": None}}
    assert slot == {
        "data": {"chooseDeliverySlot": {"userErrors": [{"code": "ORDER_NOT_FOUND", "field": "orderNo"}]}}
    }
    assert "errors" not in ask and ask["data"]["subscribeRequest"]["requestId"]


@pytest.mark.parametrize(
    "cursor_text",
    [
        "2026-11-20T09:00:00+08:00|9223372036854775808",
        "0001-01-01T00:00:00+08:00|1",
        "9999-12-31T23:59:59-08:00|1",
    ],
    ids=["id-past-int64", "year-1", "year-9999"],
)
async def test_a_cursor_outside_what_an_order_can_have_is_refused(
    client: httpx.AsyncClient, resources: Resources, member: User, cursor_text: str
) -> None:
    cursor = base64.urlsafe_b64encode(cursor_text.encode()).decode().rstrip("=")
    # when
    answer = await graphql(client, ORDERS, {"after": cursor}, session_of(resources, member))
    # then the public page-request error, not "Unexpected error."
    assert [e["message"] for e in answer["errors"]] == [f"after: {cursor!r} is not a cursor of this list"]


@pytest.mark.parametrize(
    ("document", "variables", "answer"),
    [
        (SUBSCRIBE_REQUEST, {}, {"subscribeRequest": None}),
        (
            UPDATE_PREFERENCES,
            {"input": {"weeklyLimit": 3}},
            {"updatePreferences": {"userErrors": [{"code": "UNAUTHENTICATED"}]}},
        ),
    ],
    ids=["subscribeRequest", "updatePreferences"],
)
async def test_a_deleted_users_valid_token_signs_nobody_in(
    client: httpx.AsyncClient,
    resources: Resources,
    member: User,
    document: str,
    variables: dict[str, object],
    answer: dict[str, object],
) -> None:
    # given a user deleted while their session token is still valid
    token = session_of(resources, member)
    await member.delete()
    # when they call
    result = await graphql(client, document, variables, token)
    # then they are answered as signed out, and nothing was written for them
    assert result == {"data": answer}
    assert await SubscribeRequestLog.all().count() == 0


async def test_errors_are_logged_in_one_short_line_without_the_document(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given a large invalid query (it used to be logged whole, at ERROR)
    query = "{ " + " ".join(f"f{i}: nope{i}" for i in range(3000)) + " }"
    caplog.set_level(logging.INFO)
    # when
    response = await client.post("/graphql", json={"query": query, "variables": {"secret": "s3cr3t-value"}})
    # then the caller gets the error, and the log has short lines without the query or variables
    assert response.status_code == 200 and response.json()["errors"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    graphql_lines = [
        r.getMessage() for r in caplog.records if r.name.startswith(("lvyue.graphql", "strawberry"))
    ]
    assert graphql_lines
    assert all(len(line) < 400 and "nope2999" not in line and "s3cr3t" not in line for line in graphql_lines)


async def test_a_resolver_failure_is_logged_at_error_with_its_traceback_but_not_the_variables(
    client: httpx.AsyncClient,
    resources: Resources,
    member: User,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a read that fails inside our code
    async def broken(user_id: int, order_no: str) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(order_queries, "get_order", broken)
    # when
    answer = await graphql(client, ORDER, {"orderNo": "private-" + "x" * 40}, session_of(resources, member))
    # then the caller sees a masked error, the log one ERROR line with the traceback
    assert [e["message"] for e in answer["errors"]] == ["Unexpected error."]
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage() == "graphql resolver failed (operation Order, path order): RuntimeError"
    assert record.exc_info is not None and "private-" not in record.getMessage()
