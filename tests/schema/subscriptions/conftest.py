"""Run the subscription tab's operations through the real schema, as a given user or anonymously."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from bff.models import User
from bff.resources import Resources
from schema import schema
from schema.context import Context

Run = Callable[..., Awaitable[dict[str, Any]]]

CENTER = """
query SubscriptionCenter {
  subscriptionCenter {
    mainSwitch
    quietHours { start end }
    weeklyLimit
    topics { key title description category enabled optOutAllowed templateId remainingQuota wechatStatus }
  }
}
"""

SUBSCRIBE_REQUEST = """
query SubscribeRequest($moment: SubscribeMoment!, $orderNo: String) {
  subscribeRequest(moment: $moment, orderNo: $orderNo) { requestId templateIds topics { key title } }
}
"""

REPORT = """
mutation ReportSubscribeResult($input: SubscribeResultInput!) {
  reportSubscribeResult(input: $input) {
    center { topics { key templateId remainingQuota wechatStatus } mainSwitch }
    userErrors { code field message }
  }
}
"""

UPDATE = """
mutation UpdatePreferences($input: PreferencesInput!) {
  updatePreferences(input: $input) {
    center { quietHours { start end } weeklyLimit topics { key enabled } }
    userErrors { code field message }
  }
}
"""


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


def by_key(topics: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {topic["key"]: topic for topic in topics}
