"""The mini-program's subscription-tab documents (as in schema/operations/miniprogram.graphql) and helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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


def by_key(topics: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {topic["key"]: topic for topic in topics}
