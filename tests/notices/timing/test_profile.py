"""The open-hour profile (bff/notices/timing/profile.py): smoothing, shrinkage toward the population."""

from __future__ import annotations

import pytest

from bff.notices.timing.profile import (
    HOURS,
    POPULATION_MIN_OPENS,
    PRIOR_STRENGTH,
    estimate_profile,
    population_shares,
    smooth,
)


def opens_at(**hours: int) -> list[int]:
    """A histogram from keyword hours: opens_at(h20=3) is three opens at 20:xx."""
    histogram = [0] * HOURS
    for name, count in hours.items():
        histogram[int(name.removeprefix("h"))] = count
    return histogram


MORNING_CROWD = opens_at(h9=300, h10=200)  # the population opens in the morning


def test_smoothing_spreads_an_open_over_its_neighbours_and_wraps_at_midnight() -> None:
    # given one open at 23:xx
    # when it is smoothed
    smoothed = smooth(opens_at(h23=4))

    # then half stays, a quarter goes to 22:xx and a quarter to 00:xx
    assert (smoothed[22], smoothed[23], smoothed[0]) == (1.0, 2.0, 1.0)
    assert sum(smoothed) == pytest.approx(4.0)


def test_a_user_without_opens_gets_the_population_profile() -> None:
    # given a user who never opened a notice, and a population that opens in the morning
    profile = estimate_profile([0] * HOURS, MORNING_CROWD)

    # then their profile is the population's, and their best hour the population's
    assert profile.shares == pytest.approx(population_shares(MORNING_CROWD))
    assert profile.informative
    assert profile.best_hour() == 9


def test_few_opens_are_shrunk_toward_the_population_and_many_opens_win() -> None:
    # given a user who opens in the evening, against a morning population
    two = estimate_profile(opens_at(h20=2), MORNING_CROWD)
    twenty = estimate_profile(opens_at(h20=20), MORNING_CROWD)

    # then with 2 opens (k = 4 prior opens) the user's share at 20:xx is their own half-weight
    # mixed with the population's: (½·2 + k·q(20)) / (2 + k)
    q = population_shares(MORNING_CROWD)
    assert two.shares[20] == pytest.approx((0.5 * 2 + PRIOR_STRENGTH * q[20]) / (2 + PRIOR_STRENGTH))
    # and two opens do not yet outweigh the crowd's morning; twenty do
    assert two.best_hour() == 9
    assert twenty.best_hour() == 20
    assert twenty.shares[20] > 0.4 > two.shares[20]
    assert sum(twenty.shares) == pytest.approx(1.0)


def test_without_enough_population_opens_a_user_without_opens_has_no_profile() -> None:
    # given a population below the minimum, and a user without opens
    profile = estimate_profile([0] * HOURS, opens_at(h9=POPULATION_MIN_OPENS - 1))

    # then the profile says nothing (the fallback applies)
    assert not profile.informative
    assert profile.best_hour() is None
    # but one open of their own is enough (against a flat prior)
    assert estimate_profile(opens_at(h18=1), [0] * HOURS).best_hour() == 18


def test_the_best_hour_skips_hours_that_are_not_allowed() -> None:
    # given an evening user whose 19–21 are not allowed
    profile = estimate_profile(opens_at(h20=10, h8=2), MORNING_CROWD)

    # then the next best allowed hour is chosen
    assert profile.best_hour(lambda hour: hour not in (19, 20, 21)) in (8, 9)
    assert profile.best_hour(lambda hour: False) is None


@pytest.mark.parametrize(
    ("user", "message"),
    [([0] * 23, "24 hourly counts"), ([-1] + [0] * 23, "negative count")],
)
def test_bad_histograms_are_refused(user: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        estimate_profile(user, [0] * HOURS)
