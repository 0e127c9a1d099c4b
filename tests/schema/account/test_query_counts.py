"""`Login` and `Viewer` cost a fixed number of SQL statements, the same for a user with two orders,
owned products and units as for a user with twenty (tests/querycount.py, SQLite and PostgreSQL
alike). WeChat is the sandbox, as in test_login.py."""

from __future__ import annotations

from typing import Any

from bff.models import User
from tests.conftest import graphql
from tests.operations import OPERATIONS
from tests.querycount import count_queries
from tests.schema.account.test_login import LoginWorld
from tests.schema.orders.conftest import Ask
from tests.schema.sizes import assert_statements, counted, two_users

LOGIN = OPERATIONS["Login"]
VIEWER = OPERATIONS["Viewer"]


async def test_the_viewer_costs_two_statements(ask: Ask) -> None:
    # given
    small, large = await two_users()

    # when
    one, few = await counted(ask, VIEWER, None, small)
    many, more = await counted(ask, VIEWER, None, large)

    # then session, the user
    assert one["viewer"]["nickname"] == "小" and many["viewer"]["nickname"] == "大"
    assert_statements("Viewer", few, more, 2)


async def login(world: LoginWorld, user: User) -> tuple[dict[str, Any], list[str]]:
    code = await world.sandbox.login_code(user.openid)
    with count_queries() as statements:
        answer = await graphql(world.client, LOGIN, {"code": code})
    assert "errors" not in answer, answer
    return answer["data"]["login"], statements


async def test_a_returning_user_logs_in_with_two_statements(world: LoginWorld) -> None:
    # given
    small, large = await two_users()

    # when each logs in again
    one, few = await login(world, small)
    many, more = await login(world, large)

    # then signed in, at the same cost: the user by openid (get_or_create finds it), the
    # last-seen UPDATE (no session check: Login carries no token)
    assert one["viewer"] == {"openid": small.openid} and many["viewer"] == {"openid": large.openid}
    assert_statements("Login (returning user)", few, more, 2)


async def test_a_first_login_costs_a_fixed_number_of_statements(world: LoginWorld) -> None:
    # given a user WeChat knows and the BFF does not (nothing of theirs can be stored yet)
    code = await world.sandbox.login_code("oSIZE_newcomer_0000000003")

    # when
    with count_queries() as statements:
        answer = await graphql(world.client, LOGIN, {"code": code})

    # then signed in: get_or_create's SELECT, then its INSERT (in a transaction)
    assert answer["data"]["login"]["viewer"] == {"openid": "oSIZE_newcomer_0000000003"}
    print(f"\nLogin (new user): {len(statements)} statements")
    assert len(statements) == 2, "\n".join(statements)
