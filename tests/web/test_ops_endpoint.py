"""POST /ops/graphql: who gets in (OPS_API_KEY), who does not, and that a refusal changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from arq.connections import ArqRedis
from arq.constants import default_queue_name

from bff.constants import GRAPHQL_MAX_BODY_BYTES
from bff.models import Notice, NoticeStatus, OpsAudit, User
from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from bff.sessions import issue_session_token
from tests.notices.send_fixtures import ORDER_PROGRESS, make_user
from tests.ops.fixtures import ALICE_KEY, BOB_KEY, app_client, failed_notice, ops, with_ops_keys

OPERATOR = "query Who { operator { name } }"
RESEND = "mutation Resend($id: ID!) { resendNotice(id: $id) { notice { status } userErrors { code } } }"


@pytest.fixture
async def client_with_keys(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(resources, with_ops_keys(settings)) as client:
        yield client


def session_token(settings: Settings, user: User) -> str:
    return issue_session_token(settings.session_secret, user.id, timedelta(hours=1))[0]


async def post(
    client: httpx.AsyncClient, path: str, query: str, token: str | None, **variables: str
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await client.post(path, json={"query": query, "variables": variables}, headers=headers)


async def test_each_key_is_its_operator(client_with_keys: httpx.AsyncClient) -> None:
    assert await ops(client_with_keys, OPERATOR) == {"data": {"operator": {"name": "alice"}}}
    assert await ops(client_with_keys, OPERATOR, key=BOB_KEY) == {"data": {"operator": {"name": "bob"}}}


async def test_without_ops_api_key_the_api_is_disabled_with_503(client: httpx.AsyncClient) -> None:
    # given the suite's settings (OPS_API_KEY unset), when even a plausible key calls
    response = await post(client, "/ops/graphql", OPERATOR, ALICE_KEY)
    # then
    assert response.status_code == 503
    assert response.json()["errors"][0]["message"] == "OPS_API_KEY is not set"


@pytest.mark.parametrize("token", [None, "", "not-a-key", ALICE_KEY[:-1], ALICE_KEY + "x"])
async def test_no_key_or_a_wrong_key_is_401(client_with_keys: httpx.AsyncClient, token: str | None) -> None:
    response = await post(client_with_keys, "/ops/graphql", OPERATOR, token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "data" not in response.json()


async def test_a_mini_program_session_gets_401_on_ops(
    client_with_keys: httpx.AsyncClient, settings: Settings, db: object
) -> None:
    user = await make_user()
    response = await post(client_with_keys, "/ops/graphql", OPERATOR, session_token(settings, user))
    assert response.status_code == 401


async def test_an_ops_key_gets_401_on_the_mini_program_api(client_with_keys: httpx.AsyncClient) -> None:
    response = await post(client_with_keys, "/graphql", "query Viewer { viewer { openid } }", BOB_KEY)
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"message": "an operators' key is not accepted here; use /ops/graphql"}]
    }
    # while the mini-program's anonymous calls still work
    anonymous = await post(client_with_keys, "/graphql", "query Viewer { viewer { openid } }", None)
    assert anonymous.json() == {"data": {"viewer": None}}


async def test_get_is_not_served(client_with_keys: httpx.AsyncClient) -> None:
    response = await client_with_keys.get("/ops/graphql", headers={"Authorization": f"Bearer {ALICE_KEY}"})
    assert response.status_code == 405


async def test_refused_callers_change_nothing(
    client_with_keys: httpx.AsyncClient, settings: Settings, arq_pool: ArqRedis, db: object
) -> None:
    # given a failed notice that may be resent
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await failed_notice(user)

    # when the resend comes from a session token, from nobody, and with an ops key on /graphql
    session = session_token(settings, user)
    refused = [
        await post(client_with_keys, "/ops/graphql", RESEND, session, id=str(notice.id)),
        await post(client_with_keys, "/ops/graphql", RESEND, None, id=str(notice.id)),
        await post(client_with_keys, "/graphql", RESEND, ALICE_KEY, id=str(notice.id)),
    ]

    # then each is 401 and the notice, the queue and the audit log are as they were
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert (await Notice.get(id=notice.id)).status is NoticeStatus.FAILED
    assert await arq_pool.zcard(default_queue_name) == 0
    assert await OpsAudit.all().count() == 0

    # and the same mutation with a key does resend it (the refusals were not for another reason)
    done = await ops(client_with_keys, RESEND, {"id": str(notice.id)})
    assert done == {"data": {"resendNotice": {"notice": {"status": "QUEUED"}, "userErrors": []}}}


async def test_the_limits_of_graphql_apply(client_with_keys: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {ALICE_KEY}"}
    # a body past the cap
    big = await client_with_keys.post(
        "/ops/graphql", json={"query": "{ __typename }" + " " * GRAPHQL_MAX_BODY_BYTES}, headers=headers
    )
    assert big.status_code == 413
    # too many aliases
    aliased = await ops(client_with_keys, "{ " + " ".join(f"a{i}: __typename" for i in range(25)) + " }")
    assert "aliases found" in aliased["errors"][0]["message"]
    # a page over 100
    page = await ops(client_with_keys, "query P { notices(first: 101) { hasNextPage } }")
    assert page["errors"][0]["message"] == "first: must be between 1 and 100, got 101"


DEEP = (
    "query Deep { __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType "
    "{ ofType { name } } } } } } } } } } }"
)


async def test_production_counts_introspection_in_the_depth_and_refuses_it(
    settings: Settings, resources: Resources
) -> None:
    # given the app as production builds it (introspection off, depth counting __schema)
    production = with_ops_keys(replace(settings, env="production"))
    async with app_client(resources, production) as client:
        # when a query deeper than 10 asks for the schema
        answer = await ops(client, DEEP)
    # then nothing runs and both limits are named
    assert answer.get("data") is None
    messages = " ".join(error["message"] for error in answer["errors"])
    assert "exceeds maximum operation depth of 10" in messages
    assert "introspection" in messages.lower()
