"""The estimator: the SKU's prior, shrunk toward the user's own intervals (docs/replenishment.md)."""

from __future__ import annotations

import pytest

from bff.lifecycle import estimator
from bff.lifecycle.estimator import UserCycle, cycle_days, estimate_days_per_unit, prior_for
from bff.models import PriorSource


def test_without_evidence_the_estimate_is_the_prior() -> None:
    assert estimate_days_per_unit(30, []) == pytest.approx(30)


def test_one_interval_moves_the_estimate_part_of_the_way_not_all_of_it() -> None:
    # given a SKU of 30 days per unit and a user who came back after 20
    estimate = estimate_days_per_unit(30, [20])

    # then the estimate lies strictly between prior and sample
    assert 20 < estimate < 30
    k = estimator.PRIOR_WEIGHT * estimator.DECAY
    assert estimate == pytest.approx((k * 30 + 20) / (k + 1))


def test_consistent_intervals_outweigh_the_prior_as_they_accumulate() -> None:
    after = [estimate_days_per_unit(30, [20] * n) for n in (1, 3, 6)]

    # then each purchase brings the estimate closer to the user's 20 days
    assert after[0] > after[1] > after[2] > 20
    assert after[2] - 20 < 1.5


def test_newer_intervals_weigh_more_than_older_ones() -> None:
    # given a user who used to take 40 days and now takes 20
    slowing_down = estimate_days_per_unit(30, [20, 20, 40, 40])
    speeding_up = estimate_days_per_unit(30, [40, 40, 20, 20])

    # then the recent pace wins
    assert speeding_up < 30 < slowing_down


def test_the_users_own_cycle_is_strong_evidence_that_fades_as_purchases_follow() -> None:
    told = estimate_days_per_unit(30, [], UserCycle(10))
    one_interval = estimate_days_per_unit(30, [10])

    # then being told weighs more than one observed interval
    assert told < one_interval
    # and what was said long ago counts for less than what was said now
    assert estimate_days_per_unit(
        30, [30, 30, 30], UserCycle(10, intervals_since=3)
    ) > estimate_days_per_unit(30, [30, 30, 30], UserCycle(10, intervals_since=0))


def test_an_absurd_interval_is_clipped() -> None:
    # a user away for a year does not make a 30-day tea last a year
    estimate = estimate_days_per_unit(30, [365])
    k = estimator.PRIOR_WEIGHT * estimator.DECAY
    assert estimate == pytest.approx((k * 30 + 30 * estimator.CLIP) / (k + 1))


def test_the_prior_comes_from_the_sku_else_other_users_else_the_default() -> None:
    assert prior_for(25, [5, 6, 7]) == estimator.Prior(25, PriorSource.SKU)
    assert prior_for(None, [5, 9, 7]) == estimator.Prior(7, PriorSource.POPULATION)
    assert prior_for(None, [5, 9]) == estimator.Prior(estimator.DEFAULT_DAYS_PER_UNIT, PriorSource.DEFAULT)


def test_a_cycle_is_the_units_times_the_days_per_unit_at_least_a_day() -> None:
    assert cycle_days(12.4, 3) == 37
    assert cycle_days(0.1, 1) == 1
