"""No N+1 on the lifecycle tab: each operation costs a fixed number of SQL statements, the same for
a user with two owned products, orders and units as for a user with twenty of each.

Counted on tortoise's `tortoise.db_client` logger (tests/querycount.py), SQLite and PostgreSQL
alike. Every authenticated request starts with the session check (`SELECT 1 FROM users`).
"""

from __future__ import annotations

import pytest

from tests.schema.lifecycle.conftest import DISMISS, LIFECYCLE, SET_CYCLE, SNOOZE
from tests.schema.orders.conftest import Ask
from tests.schema.sizes import assert_statements, counted, two_users


async def test_the_lifecycle_tab_costs_eight_statements(ask: Ask) -> None:
    # given
    small, large = await two_users()

    # when
    one, few = await counted(ask, LIFECYCLE, None, small)
    many, more = await counted(ask, LIFECYCLE, None, large)

    # then everything is shown, at the same cost: session; the tab (owned products, their SKUs,
    # replenishments, last order per SKU, last notice opened); the offers from those rows (the
    # user's member record, the names of the SKUs they may recommend)
    assert len(one["lifecycle"]["ownedProducts"]) == 2 + 3  # two owned, three of the delivered orders
    assert len(many["lifecycle"]["ownedProducts"]) == 20 + 3
    assert len(many["lifecycle"]["replenishments"]) == 10 + 1
    assert many["lifecycle"]["maintenance"] and many["lifecycle"]["offers"]
    assert_statements("Lifecycle", few, more, 8)


@pytest.mark.parametrize(
    ("document", "variables"),
    [(SNOOZE, {"days": 5}), (SET_CYCLE, {"cycleDays": 40}), (DISMISS, {})],
    ids=["SnoozeReplenishment", "SetReplenishmentCycle", "DismissReplenishment"],
)
async def test_an_answer_to_a_replenishment_costs_four_statements(
    ask: Ask, document: str, variables: dict[str, object]
) -> None:
    # given
    small, large = await two_users()

    # when each answers about their first consumable
    one, few = await counted(ask, document, {"skuCode": "SKU-S-000", **variables}, small)
    many, more = await counted(ask, document, {"skuCode": "SKU-L-000", **variables}, large)

    # then session, the row locked (SELECT … FOR UPDATE), its UPDATE, the row read back
    for answer in (one, many):
        (payload,) = answer.values()
        assert payload["userErrors"] == [] and payload["replenishment"] is not None
    name = document.split("(")[0].split()[-1]
    assert_statements(name, few, more, 4)
