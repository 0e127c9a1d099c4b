"""Run the subscription tab's operations through the real schema, as a given user or anonymously."""

from __future__ import annotations

from typing import Any

import pytest
from tortoise.context import TortoiseContext

from bff.models import User
from bff.runtime.resources import Resources
from schema import schema
from schema.context import Context
from tests.schema.orders.conftest import ask  # noqa: F401 - the order tab's fixture (test_query_counts)
from tests.schema.subscriptions.documents import Run


@pytest.fixture
async def user(db: TortoiseContext) -> User:
    return await User.create(openid="oUSER_schema_sub_0001")


@pytest.fixture
async def other_user(db: TortoiseContext) -> User:
    return await User.create(openid="oUSER_schema_sub_0002")


@pytest.fixture
def run(resources: Resources) -> Run:
    """`await run(document, variables, viewer=user)`: the result's data; GraphQL errors fail the test."""

    async def execute(
        document: str, variables: dict[str, Any] | None = None, viewer: User | None = None
    ) -> Any:
        context = Context(resources=resources, viewer_id=viewer.id if viewer is not None else None)
        result = await schema.execute(document, variable_values=variables or {}, context_value=context)
        assert result.errors is None, [error.message for error in result.errors]
        return result.data

    return execute
