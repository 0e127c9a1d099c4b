"""No N+1 on the subscription tab: each operation costs a fixed number of SQL statements, the same
for a user with one order, owned product, unit and switch as for a user with twenty of each.

Counted on tortoise's `tortoise.db_client` logger (tests/querycount.py), SQLite and PostgreSQL
alike. Every authenticated request starts with the session check (`SELECT 1 FROM users`).
"""

from __future__ import annotations

from typing import Any

import pytest

from bff.catalog.topics import TOPICS
from bff.models import User
from tests.operations import OPERATIONS
from tests.schema.orders.conftest import Ask
from tests.schema.sizes import assert_statements, counted, two_users

CENTER = OPERATIONS["SubscriptionCenter"]
SUBSCRIBE_REQUEST = OPERATIONS["SubscribeRequest"]
REPORT = OPERATIONS["ReportSubscribeResult"]
UPDATE = OPERATIONS["UpdatePreferences"]


async def test_the_subscription_center_costs_four_statements(ask: Ask) -> None:
    # given
    small, large = await two_users()

    # when
    one, few = await counted(ask, CENTER, None, small)
    many, more = await counted(ask, CENTER, None, large)

    # then session, preferences, topic switches, ledger
    assert len(one["subscriptionCenter"]["topics"]) == len(many["subscriptionCenter"]["topics"]) > 10
    assert_statements("SubscriptionCenter", few, more, 4)


# moment → (order number suffix or None, statements). "today's asks": one SELECT of both counts
# of the rate limit (this moment and order; every moment but EXCEPTION).
MOMENTS: dict[str, tuple[str | None, int]] = {
    # session, today's asks, order, its production nodes reported and announced, a chosen slot,
    # preferences, switches, ledger, the INSERT of the request
    "AFTER_PAYMENT": ("O000", 10),
    "ORDER_DETAIL": ("O000", 10),
    # session, today's asks, preferences, switches, ledger, INSERT
    "EXCEPTION": ("O000", 6),
    "SUBSCRIPTION_CENTER": (None, 6),
    # session, today's asks, the SKUs of the order's lines (one SELECT with a subquery),
    # preferences, switches, ledger, INSERT
    "RECEIPT": ("D000", 7),
    # session; the offers (user, owned products, SKUs, last order per SKU, last open, dismissed,
    # SKU names, decided notices of the offers); today's asks; replenishment due, owned products,
    # their SKUs; preferences, switches, ledger, INSERT (16 for a user without offers)
    "LIFECYCLE": (None, 17),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
async def test_a_subscribe_request_costs_a_fixed_number_of_statements(ask: Ask, moment: str) -> None:
    # given
    small, large = await two_users()
    suffix, expected = MOMENTS[moment]

    def variables(prefix: str) -> dict[str, Any]:
        return {"moment": moment, "orderNo": f"{prefix}{suffix}" if suffix else None}

    # when
    one, few = await counted(ask, SUBSCRIBE_REQUEST, variables("S"), small)
    many, more = await counted(ask, SUBSCRIBE_REQUEST, variables("L"), large)

    # then both are asked for templates (the request is stored), at the same cost
    assert one["subscribeRequest"]["templateIds"] and many["subscribeRequest"]["templateIds"]
    assert_statements(f"SubscribeRequest({moment})", few, more, expected)


async def report_all(ask: Ask, user: User, status: str, templates: int = 3) -> tuple[Any, list[str]]:
    """Ask at the subscription center (not counted), then report ``status`` for ``templates`` of
    the three templates asked for."""
    asked, _ = await counted(ask, SUBSCRIBE_REQUEST, {"moment": "SUBSCRIPTION_CENTER"}, user)
    request = asked["subscribeRequest"]
    assert len(request["templateIds"]) == 3
    chosen = request["templateIds"][:templates]
    results = [{"templateId": template_id, "status": status} for template_id in chosen]
    report = {"requestId": request["requestId"], "results": results, "mainSwitch": True}
    return await counted(ask, REPORT, {"input": report}, user)


# status → statements for a report of three templates (the same for one or five)
REPORTS = {
    # session, the request, main switch (one upsert); the accepts of every template at once:
    # the ledger rows ensured (one INSERT … ON CONFLICT DO NOTHING), locked (one SELECT … FOR
    # UPDATE), the keys already counted, unmatched popup pushes, INSERT of the credits (one
    # executemany), their ids, UPDATE of the ledger rows, INSERT of the grant moves; the
    # request's results; the center (3)
    "ACCEPT": 15,
    # session, the request, main switch; the rows ensured, one UPDATE of their status; results;
    # the center
    "REJECT": 9,
}


@pytest.mark.parametrize("status", list(REPORTS))
async def test_a_report_costs_a_fixed_number_of_statements(ask: Ask, status: str) -> None:
    # given
    small, large = await two_users()

    # when each reports the three templates they were asked for
    one, few = await report_all(ask, small, status)
    many, more = await report_all(ask, large, status)

    # then
    assert one["reportSubscribeResult"]["userErrors"] == many["reportSubscribeResult"]["userErrors"] == []
    assert_statements(f"ReportSubscribeResult(3 × {status})", few, more, REPORTS[status])


async def test_a_report_of_one_template_costs_what_a_report_of_three_costs(ask: Ask) -> None:
    # given
    small, large = await two_users()

    # when the small user reports one accept, the large one three
    one, few = await report_all(ask, small, "ACCEPT", templates=1)
    many, more = await report_all(ask, large, "ACCEPT", templates=3)

    # then
    assert one["reportSubscribeResult"]["userErrors"] == many["reportSubscribeResult"]["userErrors"] == []
    assert_statements("ReportSubscribeResult(1 vs 3 accepts)", few, more, REPORTS["ACCEPT"])


SWITCHABLE = [str(topic) for topic, info in TOPICS.items() if info.opt_out_allowed]


@pytest.mark.parametrize("switches", [1, len(SWITCHABLE)], ids=["one-switch", "every-switch"])
async def test_updating_preferences_costs_six_statements_however_many_switches(
    ask: Ask, switches: int
) -> None:
    # given
    small, large = await two_users()
    update = {
        "topics": [{"key": key, "enabled": False} for key in SWITCHABLE[:switches]],
        "quietHours": {"start": "23:00", "end": "07:00"},
        "weeklyLimit": 3,
    }

    # when
    one, few = await counted(ask, UPDATE, {"input": update}, small)
    many, more = await counted(ask, UPDATE, {"input": update}, large)

    # then what was asked is shown, at the same cost: session, one upsert of the preferences row,
    # one of every switch, the preferences and switches read back, the ledger
    for answer in (one, many):
        center = answer["updatePreferences"]["center"]
        assert center["weeklyLimit"] == 3 and center["quietHours"] == {"start": "23:00", "end": "07:00"}
        off = {topic["key"] for topic in center["topics"] if not topic["enabled"]}
        assert set(SWITCHABLE[:switches]) & {topic["key"] for topic in center["topics"]} <= off
    assert_statements(f"UpdatePreferences({switches} switches)", few, more, 6)
