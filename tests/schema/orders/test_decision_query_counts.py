"""No N+1 in the order tab's decisions: each costs a fixed number of SQL statements, the same for a
user with two orders as for a user with twenty (an exception linked to twenty orders, a slot offer
on each), answer included. The order tab's queries: test_query_counts.py.

Counted on tortoise's `tortoise.db_client` logger (tests/querycount.py), SQLite and PostgreSQL
alike. Every authenticated request starts with the session check (`SELECT 1 FROM users`).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.operations import OPERATIONS
from tests.schema.orders.conftest import Ask
from tests.schema.sizes import assert_statements, counted, two_users

# operation → (variables by prefix, statements, which)
DECISIONS: dict[str, tuple[dict[str, Any], int]] = {
    # session; the order locked, the slot offer, its conditional UPDATE, the outbox command's
    # INSERT; the answer's slot offer (its DataLoader)
    "ChooseDeliverySlot": ({"orderNo": "{p}O000", "slotId": "S1"}, 6),
    # session; the order locked, the exception, its link to the order, the link's conditional
    # UPDATE, the command's INSERT; the answer's exception links (+ exception, joined)
    "ResolveException": ({"orderNo": "{p}O000", "exceptionId": "EX-{p}O", "option": "WAIT"}, 7),
    # session; the order locked, a receipt already?, the order's conditional UPDATE, the receipt's
    # INSERT, the command's INSERT; the answer's receipt
    "ConfirmReceipt": ({"orderNo": "{p}D000", "rating": 9}, 7),
}


def variables_for(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {
        key: value.format(p=prefix) if isinstance(value, str) else value for key, value in template.items()
    }


@pytest.mark.parametrize("operation", list(DECISIONS))
async def test_a_decision_costs_a_fixed_number_of_statements(ask: Ask, operation: str) -> None:
    # given
    small, large = await two_users()
    template, expected = DECISIONS[operation]

    # when
    one, few = await counted(ask, OPERATIONS[operation], variables_for(template, "S"), small)
    many, more = await counted(ask, OPERATIONS[operation], variables_for(template, "L"), large)

    # then both are recorded, at the same cost
    for answer in (one, many):
        (payload,) = answer.values()
        assert payload["userErrors"] == [] and payload["order"] is not None
    assert_statements(operation, few, more, expected)
