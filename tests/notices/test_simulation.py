"""The consent-spending simulation (bff/notices/simulation.py): rule vs first come first served vs oracle."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bff.catalog.templates_file import load_templates_file
from bff.catalog.topics import Topic
from bff.notices import policy
from bff.notices.policy import Decision, NoticeFacts, UserFacts
from bff.notices.reasons import Reason
from bff.notices.simulation import (
    ORDER_AND_LIFECYCLE_TEMPLATE,
    SimConfig,
    SimEvent,
    SimNotice,
    SimOrder,
    SimUser,
    Tally,
    all_order_topics_on_one_template,
    order_and_lifecycle_topics_on_one_template,
    replay,
    simulate,
    template_map,
)

SMALL = SimConfig(users=400, seed=7)
SMALL_WITH_LIFECYCLE = replace(SMALL, lifecycle=True)
BUNDLED = template_map(load_templates_file())
ONE_TEMPLATE = all_order_topics_on_one_template(load_templates_file())
SHARED_WITH_LIFECYCLE = order_and_lifecycle_topics_on_one_template(load_templates_file())


@pytest.mark.parametrize("layout", [BUNDLED, ONE_TEMPLATE], ids=["bundled", "one-template"])
def test_the_rule_never_loses_to_first_come_first_served_nor_beats_the_oracle(
    layout: Mapping[Topic, str],
) -> None:
    # given a small seeded population
    # when the three ways of spending units are run on it
    result = simulate(SMALL, layout)

    # then on high-priority notices delivered: FCFS <= rule <= oracle
    assert result.fcfs.high <= result.rule.high <= result.oracle.high
    # and nobody delivers more than the oracle in total (it is the best with the same units)
    assert max(result.rule.total, result.fcfs.total) <= result.oracle.total
    # and the run had something to measure
    assert result.high_wanted > result.oracle.high > 0


def test_with_one_template_for_every_order_topic_the_rule_delivers_far_more_that_matters() -> None:
    # given the hardest case: all order topics share one template's units
    # when
    result = simulate(SMALL, ONE_TEMPLATE)

    # then keeping units for what is ahead beats spending them on the first nodes by a wide margin
    assert result.rule.high >= 3 * result.fcfs.high
    assert result.rule_reasons.get(Reason.SAVED_FOR_HIGHER_PRIORITY, 0) > 0


def test_a_run_is_deterministic_for_a_seed() -> None:
    # given the same seed twice, and another seed
    first = simulate(SMALL, ONE_TEMPLATE)
    again = simulate(SMALL, ONE_TEMPLATE)
    other = simulate(SimConfig(users=400, seed=8), ONE_TEMPLATE)

    # then the same seed gives the same figures, another seed other figures
    assert first == again
    assert (other.rule, other.fcfs, other.oracle) != (first.rule, first.fcfs, first.oracle)


def test_both_layouts_are_measured_on_the_same_orders() -> None:
    # given the same seed with two template layouts
    bundled = simulate(SMALL, BUNDLED)
    one = simulate(SMALL, ONE_TEMPLATE)

    # then the populations' orders and wanted notices are the same; only the units' sharing differs
    assert (bundled.orders, bundled.notices, bundled.high_wanted) == (
        one.orders,
        one.notices,
        one.high_wanted,
    )


def test_the_simulation_drives_the_real_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    # given the policy module's decide replaced by one that suppresses everything
    calls: list[bool] = []

    def suppress_all(
        n: NoticeFacts, u: UserFacts, now: object, *, reserve_for_ahead: bool = True
    ) -> Decision:
        calls.append(reserve_for_ahead)
        return Decision.suppress(Reason.NO_UNITS)

    monkeypatch.setattr(policy, "decide", suppress_all)

    # when
    result = simulate(SimConfig(users=20, seed=1), ONE_TEMPLATE)

    # then the rule and FCFS delivered nothing, and both modes went through decide
    assert (result.rule.total, result.fcfs.total) == (0, 0)
    assert set(calls) == {True, False}


# --------------------------------------------------------------------- lifecycle notices competing


@pytest.mark.parametrize(
    "layout", [BUNDLED, ONE_TEMPLATE, SHARED_WITH_LIFECYCLE], ids=["bundled", "one-template", "shared"]
)
def test_with_lifecycle_notices_the_rule_still_delivers_at_least_what_fcfs_does(
    layout: Mapping[Topic, str],
) -> None:
    # given the small population with lifecycle notices competing for the same units
    # when
    result = simulate(SMALL_WITH_LIFECYCLE, layout)

    # then the rule delivers at least as many high-priority notices as FCFS, never more than the
    # oracle, and no exception lost its unit to a lifecycle notice sent while its order was open
    assert result.fcfs.high <= result.rule.high <= result.oracle.high
    assert result.rule.exceptions_starved == 0
    assert result.lifecycle_wanted > 0 and result.rule.lifecycle > 0


def test_lifecycle_notices_are_added_to_the_same_orders() -> None:
    # given the same seed without and with lifecycle notices
    alone = simulate(SMALL, SHARED_WITH_LIFECYCLE)
    competing = simulate(SMALL_WITH_LIFECYCLE, SHARED_WITH_LIFECYCLE)

    # then the orders and their notices are the same; the lifecycle notices come on top
    assert competing.orders == alone.orders
    assert competing.notices - competing.lifecycle_wanted == alone.notices
    assert competing.high_wanted == alone.high_wanted
    # and with units shared, an oracle still gives every high-priority unit to order notices
    assert competing.oracle.high == alone.oracle.high


T0 = datetime(2026, 11, 2, 10, tzinfo=UTC)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def user_with_an_exception_ahead(*, lifecycle: bool) -> SimUser:
    """Two units of the one shared template; a paid stock order that has left the warehouse, then
    (optionally) a replenishment reminder and a win-back offer, then an exception that cancels the
    order, then (optionally) another replenishment reminder. Payment and outbound notices are
    switched off, so only lifecycle notices can take the units before the exception."""
    order = SimOrder(
        "SO-X",
        made_to_order=False,
        events=(
            SimEvent(hours(0), "SO-X", "paid"),
            SimEvent(hours(2), "SO-X", "node", "OUTBOUND"),
            SimEvent(hours(10), "SO-X", "exception"),
            SimEvent(hours(10.5), "SO-X", "cancel"),
        ),
    )
    notices = (
        SimNotice(hours(4), "replenishment:1:0", Topic.REPLENISHMENT, None),
        SimNotice(hours(6), "offer:1:0", Topic.WIN_BACK, None),
        SimNotice(hours(30), "replenishment:1:1", Topic.REPLENISHMENT, None),
    )
    return SimUser(
        user_id=1,
        units={ORDER_AND_LIFECYCLE_TEMPLATE: 2},
        topics_off=frozenset({Topic.ORDER_PAID, Topic.NODE_OUTBOUND}),
        orders=(order,),
        lifecycle=notices if lifecycle else (),
    )


def test_the_rule_keeps_the_unit_an_exception_ahead_needs_from_lifecycle_notices() -> None:
    # given the user with an open order and two units, lifecycle notices before its exception
    user = user_with_an_exception_ahead(lifecycle=True)

    # when the rule and FCFS replay the user
    rule, fcfs = Tally(), Tally()
    replay(user, SHARED_WITH_LIFECYCLE, reserve_for_ahead=True, tally=rule)
    replay(user, SHARED_WITH_LIFECYCLE, reserve_for_ahead=False, tally=fcfs)

    # then the rule kept units while the order was open: the exception is delivered, and the
    # reminder after the cancellation takes a unit then
    assert (rule.high, rule.lifecycle, rule.exceptions_starved) == (1, 1, 0)
    # while FCFS spent both units on the reminder and the offer: the exception had none
    assert (fcfs.high, fcfs.lifecycle, fcfs.exceptions_starved) == (0, 2, 1)


def test_without_lifecycle_notices_fcfs_delivers_that_exception() -> None:
    # given the same user without lifecycle notices
    user = user_with_an_exception_ahead(lifecycle=False)

    # when
    fcfs = Tally()
    replay(user, SHARED_WITH_LIFECYCLE, reserve_for_ahead=False, tally=fcfs)

    # then the exception gets its unit: the lifecycle notices were what took it
    assert (fcfs.high, fcfs.exceptions_starved) == (1, 0)


def test_lifecycle_notices_keep_to_the_weekly_limit() -> None:
    # given a user with no order, plenty of units and four reminders within a week
    notices = tuple(
        SimNotice(hours(24 * day), f"replenishment:2:{day}", Topic.REPLENISHMENT, None) for day in range(4)
    )
    late = SimNotice(hours(24 * 8), "maintenance:2", Topic.MAINTENANCE, None)
    user = SimUser(
        user_id=2,
        units={ORDER_AND_LIFECYCLE_TEMPLATE: 10},
        topics_off=frozenset(),
        orders=(),
        lifecycle=(*notices, late),
    )

    # when replayed with a weekly limit of 2
    tally = Tally()
    reasons: dict[str, int] = {}
    replay(user, SHARED_WITH_LIFECYCLE, reserve_for_ahead=True, tally=tally, reasons=reasons, weekly_limit=2)

    # then two of the four that week, and the one a week later once the first have aged out
    assert tally.lifecycle == 3
    assert reasons == {Reason.WEEKLY_LIMIT: 2}
