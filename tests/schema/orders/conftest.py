"""The order tab's operations as the mini-program sends them, and orders fed in by the supply chain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from tortoise.context import TortoiseContext

from bff.inbound.supply_chain import ingest_body
from bff.models import User
from bff.runtime.resources import Resources
from bff.sessions import issue_session_token
from bff.supply_chain import builders as b
from tests.conftest import graphql
from tests.operations import OPERATIONS

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=CST)

# The mini-program's own documents (schema/operations/miniprogram.graphql)
ORDER_LIST = OPERATIONS["OrderList"]
ORDER_DETAIL = OPERATIONS["OrderDetail"]

Ask = Callable[..., Awaitable[dict[str, Any]]]


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


async def feed(*events: b.Event) -> None:
    """Events in, as the supply chain's webhook would deliver them."""
    await ingest_body(b.body(*events))


@pytest.fixture
async def alice(db: TortoiseContext) -> User:
    return await User.create(openid="oALICE_orders_000000000001", nickname="阿丽")


@pytest.fixture
async def bob(db: TortoiseContext) -> User:
    return await User.create(openid="oBOB_orders_00000000000002", nickname="阿博")


def token_for(resources: Resources, user: User) -> str:
    token, _ = issue_session_token(resources.settings.session_secret, user.id, timedelta(hours=1))
    return token


@pytest.fixture
def ask(client: httpx.AsyncClient, resources: Resources) -> Ask:
    """`await ask(QUERY, variables, as_user=user)`: POST /graphql with that user's session."""

    async def run(
        query: str, variables: dict[str, Any] | None = None, *, as_user: User | None
    ) -> dict[str, Any]:
        token = token_for(resources, as_user) if as_user is not None else None
        return await graphql(client, query, variables, token)

    return run
