"""Offer rules (bff/offers/rules.py): which offers a user has at a moment, and until when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bff.catalog.topics import Topic
from bff.offers.rules import (
    DEFAULT_RULES,
    MemberFacts,
    Offer,
    OfferKind,
    OfferRules,
    OwnedStage,
    Recommendation,
    UserLifecycle,
    birthday_in,
    offers_for,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")
NO_LIFE = UserLifecycle()


def member(**fields: object) -> MemberFacts:
    return MemberFacts(user_id=7, known=True, **fields)  # type: ignore[arg-type]


def kinds(offers: list[Offer]) -> list[str]:
    return [str(o.kind) for o in offers]


def local(zone: ZoneInfo, year: int, month: int, day: int, *clock: int) -> datetime:
    hour, minute, second = (*clock, 0, 0, 0)[:3]
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


# ---------------------------------------------------------------------------------- member day


@pytest.mark.parametrize(
    ("moment", "valid"),
    [
        (local(SHANGHAI, 2026, 12, 17, 23, 59, 59), False),
        (local(SHANGHAI, 2026, 12, 18, 0, 0, 0), True),
        (local(SHANGHAI, 2026, 12, 18, 23, 59, 59), True),
        (local(SHANGHAI, 2026, 12, 19, 0, 0, 0), False),
    ],
)
def test_the_member_day_offer_is_valid_for_that_whole_day_in_the_business_zone(
    moment: datetime, valid: bool
) -> None:
    # given a member and the default member day (the 18th)
    # when the offers are read at a moment around the member day
    offers = offers_for(member(points=50), NO_LIFE, moment.astimezone(UTC), SHANGHAI)

    # then the member-day offer is there exactly on the 18th, Shanghai time
    assert kinds(offers) == (["MEMBER_DAY"] if valid else [])
    if valid:
        (offer,) = offers
        assert offer.id == "MEMBER_DAY:2026-12"
        assert offer.expires_at == local(SHANGHAI, 2026, 12, 19)
        assert offer.topic is Topic.MEMBER_BENEFIT


def test_a_member_day_past_the_end_of_a_short_month_falls_on_its_last_day() -> None:
    # given the member day configured as the 31st
    rules = OfferRules(member_day=31)

    # then February's member day is the 28th (2027 is not a leap year), April's the 30th
    feb = offers_for(member(), NO_LIFE, local(SHANGHAI, 2027, 2, 28, 12), SHANGHAI, rules=rules)
    apr = offers_for(member(), NO_LIFE, local(SHANGHAI, 2027, 4, 30, 12), SHANGHAI, rules=rules)
    assert [o.id for o in feb + apr] == ["MEMBER_DAY:2027-02", "MEMBER_DAY:2027-04"]


def test_a_user_the_member_system_never_described_gets_no_member_offers() -> None:
    unknown = MemberFacts(user_id=7, known=False, points=500, birthday="12-18")
    assert offers_for(unknown, NO_LIFE, local(SHANGHAI, 2026, 12, 18, 12), SHANGHAI) == []


def test_a_member_day_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="member_day must be 1 to 31"):
        OfferRules(member_day=0)


# ---------------------------------------------------------------------------------- birthday


def test_the_birthday_starts_at_midnight_in_the_business_zone_not_in_utc() -> None:
    # given a member born on 03-05
    born = member(birthday="03-05")
    shanghai_midnight = local(SHANGHAI, 2027, 3, 5)  # 2027-03-04 16:00 UTC

    # then in Shanghai the offer starts at Shanghai's midnight, before the UTC date turns
    assert offers_for(born, NO_LIFE, shanghai_midnight - timedelta(seconds=1), SHANGHAI) == []
    assert kinds(offers_for(born, NO_LIFE, shanghai_midnight, SHANGHAI)) == ["BIRTHDAY"]
    # and with Los Angeles as the business zone that same instant is still the 4th there
    assert offers_for(born, NO_LIFE, shanghai_midnight, LOS_ANGELES) == []
    assert kinds(offers_for(born, NO_LIFE, local(LOS_ANGELES, 2027, 3, 5), LOS_ANGELES)) == ["BIRTHDAY"]


def test_a_birthday_at_year_end_stays_valid_into_the_new_year_with_last_years_id() -> None:
    # given a member born on 12-30 and a birthday offer valid 7 days
    born = member(birthday="12-30")

    # when the offers are read on 2 January and on 6 January (the last of the 7 days), then 7 January
    jan2 = offers_for(born, NO_LIFE, local(SHANGHAI, 2027, 1, 2, 9), SHANGHAI)
    jan5 = offers_for(born, NO_LIFE, local(SHANGHAI, 2027, 1, 5, 23, 59), SHANGHAI)
    jan6 = offers_for(born, NO_LIFE, local(SHANGHAI, 2027, 1, 6, 0, 0), SHANGHAI)

    # then it is the 2026 birthday offer, until 6 January at midnight
    assert [o.id for o in jan2] == ["BIRTHDAY:2026"]
    assert jan2[0].expires_at == local(SHANGHAI, 2027, 1, 6)
    assert [o.id for o in jan5] == ["BIRTHDAY:2026"]
    assert jan6 == []


def test_a_29_february_birthday_is_celebrated_on_28_february_outside_leap_years() -> None:
    born = member(birthday="02-29")
    assert birthday_in(2027, "02-29") == datetime(2027, 2, 28).date()
    assert birthday_in(2028, "02-29") == datetime(2028, 2, 29).date()
    assert [o.id for o in offers_for(born, NO_LIFE, local(SHANGHAI, 2027, 2, 28, 8), SHANGHAI)] == [
        "BIRTHDAY:2027"
    ]
    # in a leap year the 28th is not the birthday yet
    assert offers_for(born, NO_LIFE, local(SHANGHAI, 2028, 2, 28, 8), SHANGHAI) == []
    assert [o.id for o in offers_for(born, NO_LIFE, local(SHANGHAI, 2028, 2, 29, 8), SHANGHAI)] == [
        "BIRTHDAY:2028"
    ]


# ---------------------------------------------------------------------------------- points


def test_points_expiry_is_offered_from_the_window_start_until_the_points_expire() -> None:
    # given 300 points expiring at the end of 2026 and a 30-day window
    expire = local(SHANGHAI, 2027, 1, 1)
    holder = member(points=300, points_expire_at=expire)
    window_start = expire - timedelta(days=30)

    # then: nothing before the window, the offer from its first instant to the last, nothing after
    assert offers_for(holder, NO_LIFE, window_start - timedelta(seconds=1), SHANGHAI) == []
    (offer,) = offers_for(holder, NO_LIFE, window_start, SHANGHAI)
    assert (offer.kind, offer.expires_at, offer.points) == (OfferKind.POINTS_EXPIRY, expire, 300)
    assert "300积分" in offer.description and "2027年01月01日" in offer.description
    assert offers_for(holder, NO_LIFE, expire - timedelta(seconds=1), SHANGHAI) != []
    assert offers_for(holder, NO_LIFE, expire, SHANGHAI) == []


def test_no_points_or_no_expiry_means_no_points_offer() -> None:
    soon = local(SHANGHAI, 2027, 1, 1)
    now = soon - timedelta(days=3)
    assert offers_for(member(points=0, points_expire_at=soon), NO_LIFE, now, SHANGHAI) == []
    assert offers_for(member(points=10, points_expire_at=None), NO_LIFE, now, SHANGHAI) == []


def test_the_points_window_is_configurable() -> None:
    expire = local(SHANGHAI, 2027, 1, 1)
    holder = member(points=5, points_expire_at=expire)
    now = expire - timedelta(days=10)
    assert offers_for(holder, NO_LIFE, now, SHANGHAI, rules=OfferRules(points_expiry_window_days=7)) == []
    assert offers_for(holder, NO_LIFE, now, SHANGHAI, rules=OfferRules(points_expiry_window_days=14)) != []


# ---------------------------------------------------------------------------------- lifecycle


def product(sku: str, stage: str, since: datetime) -> OwnedStage:
    return OwnedStage(sku, "净水器 A1", "净水", stage, since, since - timedelta(days=365))


def test_a_product_reaching_renewal_gets_an_upgrade_with_a_successor_or_else_a_trade_in() -> None:
    # given two products that entered RENEWAL on 1 December, one with a known successor
    since = local(SHANGHAI, 2026, 12, 1, 10)
    life = UserLifecycle(owned=(product("SKU-A1", "RENEWAL", since), product("SKU-B1", "RENEWAL", since)))
    successors = {"SKU-A1": Recommendation("SKU-A2", "净水器 A2")}

    # when the offers are read a day later
    offers = offers_for(member(), life, since + timedelta(days=1), SHANGHAI, successors=successors)

    # then A1 gets an UPGRADE carrying A2, B1 a TRADE_IN, both on the RENEWAL_OFFER topic for 30 days
    by_sku = {o.sku_code: o for o in offers}
    assert (by_sku["SKU-A1"].kind, by_sku["SKU-A1"].recommended) == (OfferKind.UPGRADE, successors["SKU-A1"])
    assert "净水器 A2" in by_sku["SKU-A1"].description
    assert (by_sku["SKU-B1"].kind, by_sku["SKU-B1"].recommended) == (OfferKind.TRADE_IN, None)
    assert {o.topic for o in offers} == {Topic.RENEWAL_OFFER}
    assert by_sku["SKU-A1"].expires_at == since + timedelta(days=DEFAULT_RULES.renewal_offer_days)
    # and a month later they are gone
    assert offers_for(member(), life, since + timedelta(days=30), SHANGHAI, successors=successors) == []


def test_products_in_other_stages_get_no_renewal_offer() -> None:
    since = local(SHANGHAI, 2026, 12, 1)
    life = UserLifecycle(owned=(product("SKU-A1", "USAGE", since), product("SKU-B1", "PURCHASE", since)))
    assert offers_for(member(), life, since + timedelta(days=1), SHANGHAI) == []


def test_a_dormant_user_gets_a_win_back_offer_valid_from_the_day_they_turned_dormant() -> None:
    since = local(SHANGHAI, 2026, 11, 20)
    life = UserLifecycle(dormant_since=since)
    recommended = Recommendation("SKU-T1", "龙井茶礼盒")

    offers = offers_for(member(), life, since + timedelta(days=3), SHANGHAI, recommended=recommended)

    assert [(o.kind, o.topic, o.recommended) for o in offers] == [
        (OfferKind.WIN_BACK, Topic.WIN_BACK, recommended)
    ]
    assert offers_for(member(), life, since - timedelta(seconds=1), SHANGHAI) == []
    assert offers_for(member(), life, since + timedelta(days=30), SHANGHAI) == []


def test_offers_are_listed_soonest_expiry_first_and_their_ids_name_the_period() -> None:
    now = local(SHANGHAI, 2026, 12, 18, 12)
    holder = member(points=80, points_expire_at=local(SHANGHAI, 2026, 12, 25), birthday="12-15")
    offers = offers_for(holder, UserLifecycle(dormant_since=local(SHANGHAI, 2026, 12, 1)), now, SHANGHAI)
    assert [o.id for o in offers] == [
        "MEMBER_DAY:2026-12",
        "BIRTHDAY:2026",
        "POINTS_EXPIRY:20261224T160000",
        "WIN_BACK:20261130T160000",
    ]
    assert all(o.dedupe_key == f"offer:7:{o.id}" for o in offers)
