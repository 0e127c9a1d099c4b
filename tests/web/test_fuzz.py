"""Fuzzing the two public write edges over HTTP: whatever arrives, the answer is never a 5xx nor
an internal error ("Unexpected error."), and a refused batch stores nothing (issue 8, "Done when").

Bounded (a fixed number of examples, no deadline flakiness) so each runs in a few seconds.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bff.models import SupplyChainEvent, User
from bff.runtime.resources import Resources
from bff.sessions import issue_session_token
from bff.supply_chain import builders as b
from bff.supply_chain.signing import signed_headers

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=CST)

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text a caller can send: any code point including NUL and lone surrogates, plus known troublemakers.
hostile_text = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=40),
    st.sampled_from(["\x00", "\ud800", "N" * 65, "x" * 2000, "'; DROP TABLE users; --", "0001-01-01", ""]),
)
NUMBER_LITERALS = [
    "1e300000",
    "-1e1000000",
    "1E-400",
    "123456789012345678901234567890",
    "9223372036854775808",
]
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    hostile_text,
)
json_value = st.recursive(
    json_scalar,
    lambda children: st.lists(children, max_size=6) | st.dictionaries(hostile_text, children, max_size=6),
    max_leaves=25,
)

# --- /graphql -----------------------------------------------------------------------------------

OPERATIONS: dict[str, tuple[str, ...]] = {
    "query O($orderNo: String!) { order(orderNo: $orderNo) { orderNo status items { name } } }": ("orderNo",),
    "query L($first: Int!, $after: String, $status: OrderStatus) { viewer { orders(first: $first, "
    "after: $after, status: $status) { totalCount edges { cursor } } } }": ("first", "after", "status"),
    "query A($moment: SubscribeMoment!, $orderNo: String) { subscribeRequest(moment: $moment, "
    "orderNo: $orderNo) { requestId templateIds } }": ("moment", "orderNo"),
    "mutation R($input: SubscribeResultInput!) { reportSubscribeResult(input: $input) "
    "{ userErrors { code } } }": ("input",),
    "mutation P($input: PreferencesInput!) { updatePreferences(input: $input) { userErrors { code } } }": (
        "input",
    ),
    "mutation S($orderNo: String!, $slotId: ID!) { chooseDeliverySlot(orderNo: $orderNo, slotId: $slotId) "
    "{ userErrors { code } } }": ("orderNo", "slotId"),
    "mutation C($orderNo: String!, $rating: Int, $comment: String) { confirmReceipt(orderNo: $orderNo, "
    "rating: $rating, comment: $comment) { userErrors { code } } }": ("orderNo", "rating", "comment"),
    "mutation Login($code: String!) { login(code: $code) { userErrors { code } } }": ("code",),
}


@st.composite
def graphql_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["operation", "operation", "operation", "any-json", "any-bytes"]))
    if kind == "any-bytes":
        return draw(st.binary(max_size=200))
    if kind == "any-json":
        return json.dumps(draw(json_value)).encode()
    query, names = draw(st.sampled_from(sorted(OPERATIONS.items())))
    if draw(st.booleans()):
        query = draw(hostile_text) + query  # a broken document now and then
    variables = {name: draw(json_value) for name in names if draw(st.integers(0, 4))}
    body = json.dumps({"query": query, "variables": variables})
    if draw(st.booleans()):  # numbers JSON can write but Python's json.dumps cannot
        body = body.replace("null", draw(st.sampled_from(NUMBER_LITERALS)), 1)
    return body.encode()


@FUZZ
@given(body=graphql_bodies(), signed_in=st.booleans())
async def test_graphql_never_answers_5xx_or_an_internal_error(
    client: httpx.AsyncClient, resources: Resources, body: bytes, signed_in: bool
) -> None:
    headers = {"Content-Type": "application/json"}
    if signed_in:
        user, _ = await User.get_or_create(openid="oFUZZ_graphql_000000000001")
        token, _ = issue_session_token(resources.settings.session_secret, user.id, timedelta(hours=1))
        headers["Authorization"] = f"Bearer {token}"
    response = await client.post("/graphql", content=body, headers=headers)
    assert response.status_code < 500, response.text[:300]
    assert "Unexpected error" not in response.text, response.text[:300]


# --- /hooks/supply-chain -----------------------------------------------------------------------


def valid_events() -> list[dict[str, Any]]:
    return [
        b.placed("SO-FUZZ-1", "oFUZZ_hook_00000000000001", T0),
        b.paid("SO-FUZZ-1", T0 + timedelta(minutes=1)),
        b.node("SO-FUZZ-1", "OUTBOUND", T0 + timedelta(days=1)),
        b.presale_progress("SO-FUZZ-1", T0, "采摘", 30, date(2026, 12, 1)),
        b.delivery_slots(
            "SO-FUZZ-1",
            T0,
            T0 + timedelta(days=1),
            [("s1", "上午", T0 + timedelta(days=2), T0 + timedelta(days=2, hours=3))],
        ),
        b.exception("EX-FUZZ-1", T0, T0 + timedelta(days=1), order_nos=["SO-FUZZ-1"]),
        b.cancelled("SO-FUZZ-1", T0 + timedelta(days=3)),
        b.sku_upsert("SKU-FUZZ-1", T0),
        b.member_upsert("oFUZZ_hook_00000000000001", T0),
    ]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a scalar inside a JSON document (swapping those keeps the shape readable,
    so hostile values reach the deeper checks rather than the first type error)."""
    found = [] if isinstance(value, dict | list) else [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(paths(item, (*prefix, index)))
    return found


def replace_at(document: Any, path: tuple[Any, ...], new: Any) -> None:
    for step in path[:-1]:
        document = document[step]
    document[path[-1]] = new


NUMBER_MARK = "__number_literal__"


def value_at(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


@st.composite
def hook_bodies(draw: st.DrawFn) -> bytes:
    events = valid_events()
    chosen = draw(st.lists(st.sampled_from(range(len(events))), min_size=1, max_size=3))
    document: dict[str, Any] = {"events": [events[i] for i in chosen]}
    leaves = paths(document)
    texts = [path for path in leaves if isinstance(value_at(document, path), str)]
    numbers = [path for path in leaves if type(value_at(document, path)) is int]
    # One well-aimed change keeps the rest valid, so it reaches storage; several random ones
    # exercise the validators.
    mode = draw(st.sampled_from(["text", "number", "any"] if numbers else ["text", "any"]))
    if mode == "text":
        replace_at(document, draw(st.sampled_from(texts)), draw(hostile_text))
    elif mode == "number":
        replace_at(document, draw(st.sampled_from(numbers)), NUMBER_MARK)
    else:
        for _ in range(draw(st.integers(1, 3))):
            new = draw(st.one_of(st.just(NUMBER_MARK), hostile_text, json_value))
            replace_at(document, draw(st.sampled_from(leaves)), new)
    body = json.dumps(document)
    if NUMBER_MARK in body:
        body = body.replace(f'"{NUMBER_MARK}"', draw(st.sampled_from(NUMBER_LITERALS)))
    return body.encode()


@FUZZ
@given(body=hook_bodies())
async def test_the_hook_answers_200_or_422_and_a_refused_batch_stores_nothing(
    client: httpx.AsyncClient, resources: Resources, body: bytes
) -> None:
    stored_before = await SupplyChainEvent.all().count()
    headers = signed_headers(resources.settings.supply_chain_secret, body)
    response = await client.post("/hooks/supply-chain", content=body, headers=headers)
    assert response.status_code in (200, 422), response.text[:300]
    if response.status_code == 422:
        assert response.json()["errors"]
        assert await SupplyChainEvent.all().count() == stored_before
