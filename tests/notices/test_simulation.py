"""The consent-spending simulation (bff/notices/simulation.py): rule vs first come first served vs oracle."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from bff.catalog.templates_file import load_templates_file
from bff.catalog.topics import Topic
from bff.notices import policy
from bff.notices.policy import Decision, NoticeFacts, UserFacts
from bff.notices.reasons import Reason
from bff.notices.simulation import SimConfig, all_order_topics_on_one_template, simulate, template_map

SMALL = SimConfig(users=400, seed=7)
BUNDLED = template_map(load_templates_file())
ONE_TEMPLATE = all_order_topics_on_one_template(load_templates_file())


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
