"""The lifecycle tab's operations as the mini-program sends them (schema/operations/miniprogram.graphql)."""

from __future__ import annotations

from tests.schema.orders.conftest import ask  # noqa: F401 - the fixture, shared with the order tab

LIFECYCLE = """
query Lifecycle {
  lifecycle {
    ownedProducts { skuCode name stage purchasedAt }
    replenishments {
      skuCode
      name
      lastPurchasedAt
      cycleDays
      predictedRunOutAt
      remindAt
      status
    }
    maintenance { skuCode title dueAt note }
    offers { id kind title description expiresAt }
  }
}
"""

SNOOZE = """
mutation SnoozeReplenishment($skuCode: String!, $days: Int!) {
  snoozeReplenishment(skuCode: $skuCode, days: $days) {
    replenishment { skuCode remindAt status }
    userErrors { code field message }
  }
}
"""

SET_CYCLE = """
mutation SetReplenishmentCycle($skuCode: String!, $cycleDays: Int!) {
  setReplenishmentCycle(skuCode: $skuCode, cycleDays: $cycleDays) {
    replenishment { skuCode cycleDays predictedRunOutAt remindAt status }
    userErrors { code field message }
  }
}
"""

DISMISS = """
mutation DismissReplenishment($skuCode: String!) {
  dismissReplenishment(skuCode: $skuCode) {
    replenishment { skuCode status }
    userErrors { code field message }
  }
}
"""
