"""Offer rules: which offers a user has at a moment, as pure functions of facts (docs/offers.md).

The lifecycle tab (``store.offers_of``) and the offers scan (``scan.scan_offers``) call the same
``offers_for``, so what a user sees and what a notice announces never disagree.

    kind           when                                          valid (in BUSINESS_TZ)
    UPGRADE        an owned product is in RENEWAL and the         from the day it entered RENEWAL,
                   recommender knows a successor of its           for ``renewal_offer_days``
                   category (what its buyers bought next)
    TRADE_IN       an owned product is in RENEWAL, no successor   the same
    WIN_BACK       the user is DORMANT                            from the day they turned DORMANT,
                                                                  for ``win_back_offer_days``
    MEMBER_DAY     a member (member.upsert seen), every month     that whole day: ``member_day``
                                                                  (the month's last day if shorter)
    BIRTHDAY       a member with a birthday (MM-DD)               from the birthday, for
                                                                  ``birthday_offer_days`` (29 Feb:
                                                                  28 Feb in other years)
    POINTS_EXPIRY  points > 0 expiring within                     from expiry − window until the
                   ``points_expiry_window_days``                  points expire

Each offer's id names its period (``MEMBER_DAY:2026-12``, ``BIRTHDAY:2026``,
``UPGRADE:20261201:<sku>`` ...): one offer, and so at most one notice, per user × offer period.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bff.catalog.topics import Topic
from bff.runtime.settings import Settings


class OfferKind(StrEnum):
    """runtime.md offer ``kind``."""

    UPGRADE = "UPGRADE"
    TRADE_IN = "TRADE_IN"
    WIN_BACK = "WIN_BACK"
    MEMBER_DAY = "MEMBER_DAY"
    BIRTHDAY = "BIRTHDAY"
    POINTS_EXPIRY = "POINTS_EXPIRY"


# The notice topic of each kind (contracts: RENEWAL_OFFER, WIN_BACK, MEMBER_BENEFIT).
TOPIC_OF: Mapping[OfferKind, Topic] = {
    OfferKind.UPGRADE: Topic.RENEWAL_OFFER,
    OfferKind.TRADE_IN: Topic.RENEWAL_OFFER,
    OfferKind.WIN_BACK: Topic.WIN_BACK,
    OfferKind.MEMBER_DAY: Topic.MEMBER_BENEFIT,
    OfferKind.BIRTHDAY: Topic.MEMBER_BENEFIT,
    OfferKind.POINTS_EXPIRY: Topic.MEMBER_BENEFIT,
}

# Stages as the lifecycle reports them (runtime.md owned product ``stage``).
RENEWAL = "RENEWAL"
DORMANT = "DORMANT"


@dataclass(frozen=True)
class OfferRules:
    """The numbers the offers follow (bff/runtime/settings.py reads the configurable ones)."""

    member_day: int = 18  # MEMBER_DAY: day of the month, 1–31
    points_expiry_window_days: int = 30  # POINTS_EXPIRY: announced this long before the points expire
    birthday_offer_days: int = 7
    renewal_offer_days: int = 30
    win_back_offer_days: int = 30

    def __post_init__(self) -> None:
        if not 1 <= self.member_day <= 31:
            raise ValueError(f"member_day must be 1 to 31, got {self.member_day}")
        for name in ("points_expiry_window_days", "birthday_offer_days", "renewal_offer_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.win_back_offer_days < 1:
            raise ValueError(f"win_back_offer_days must be at least 1, got {self.win_back_offer_days}")


DEFAULT_RULES = OfferRules()


def rules_from_settings(settings: Settings) -> OfferRules:
    """The offer rules with the configured member day and points-expiry window."""
    return OfferRules(
        member_day=settings.member_day, points_expiry_window_days=settings.points_expiry_window_days
    )


# ------------------------------------------------------------------------------------------ facts


@dataclass(frozen=True)
class MemberFacts:
    """What member.upsert told us (``known``: a member record was received at all)."""

    user_id: int
    known: bool
    points: int = 0
    points_expire_at: datetime | None = None
    birthday: str | None = None  # MM-DD


@dataclass(frozen=True)
class OwnedStage:
    """An owned product as the lifecycle sees it: its stage and since when it is in that stage.

    This is the input the lifecycle package provides (the lead wires it, see docs/offers.md):
    for RENEWAL ``since`` = latest delivery + the SKU's renewalAfterDays.
    """

    sku_code: str
    name: str
    category: str | None
    stage: str
    since: datetime
    purchased_at: datetime  # the latest delivery (the recommender orders purchases by it)


@dataclass(frozen=True)
class UserLifecycle:
    """A user's owned products, since when the user is DORMANT (None: not dormant), and the SKUs
    the user dismissed (their replenishment): never recommended."""

    owned: tuple[OwnedStage, ...] = ()
    dormant_since: datetime | None = None
    dismissed: frozenset[str] = frozenset()


NO_LIFECYCLE = UserLifecycle()


@dataclass(frozen=True)
class Recommendation:
    sku_code: str
    name: str


@dataclass(frozen=True)
class Offer:
    """An offer valid in [starts_at, expires_at); ``id`` names the user's offer period."""

    user_id: int
    id: str
    kind: OfferKind
    title: str
    description: str
    starts_at: datetime
    expires_at: datetime
    sku_code: str | None = None  # UPGRADE / TRADE_IN: the owned product it is about
    recommended: Recommendation | None = None
    points: int = 0  # member offers: the points shown in the notice

    @property
    def topic(self) -> Topic:
        return TOPIC_OF[self.kind]

    @property
    def dedupe_key(self) -> str:
        """One notice per user × offer period, ever."""
        return f"offer:{self.user_id}:{self.id}"

    def is_valid(self, now: datetime) -> bool:
        return self.starts_at <= now < self.expires_at


# ------------------------------------------------------------------------------------------ dates


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S")


def member_day_of(year: int, month: int, rules: OfferRules) -> date:
    """The member day of a month: the configured day, or the month's last day when it is shorter."""
    return date(year, month, min(rules.member_day, calendar.monthrange(year, month)[1]))


def birthday_in(year: int, birthday: str) -> date | None:
    """The birthday's date in ``year``: 29 Feb falls on 28 Feb outside leap years; None if malformed."""
    try:
        month, day = (int(part) for part in birthday.split("-"))
    except ValueError:
        return None
    if month == 2 and day == 29 and not calendar.isleap(year):
        day = 28
    try:
        return date(year, month, day)
    except ValueError:
        return None


def format_day(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y年%m月%d日")


# ------------------------------------------------------------------------------------------ rules


def member_day_offer(member: MemberFacts, now: datetime, zone: ZoneInfo, rules: OfferRules) -> Offer | None:
    if not member.known:
        return None
    local = now.astimezone(zone)
    day = member_day_of(local.year, local.month, rules)
    starts = _local_midnight(day, zone)
    expires = _local_midnight(day + timedelta(days=1), zone)
    return Offer(
        user_id=member.user_id,
        id=f"{OfferKind.MEMBER_DAY}:{day:%Y-%m}",
        kind=OfferKind.MEMBER_DAY,
        title="会员日专享优惠",
        description=f"{day.month}月{day.day}日会员日，全场会员专享折扣，当天有效。",
        starts_at=starts,
        expires_at=expires,
        points=member.points,
    )


def birthday_offer(member: MemberFacts, now: datetime, zone: ZoneInfo, rules: OfferRules) -> Offer | None:
    """This year's birthday offer, or last year's while it is still valid (a birthday on 30 Dec
    is still celebrated on 2 Jan)."""
    if not member.known or not member.birthday:
        return None
    local = now.astimezone(zone)
    for year in (local.year, local.year - 1):
        day = birthday_in(year, member.birthday)
        if day is None:
            return None
        starts = _local_midnight(day, zone)
        expires = _local_midnight(day + timedelta(days=rules.birthday_offer_days), zone)
        if starts <= now < expires:
            return Offer(
                user_id=member.user_id,
                id=f"{OfferKind.BIRTHDAY}:{year}",
                kind=OfferKind.BIRTHDAY,
                title="生日礼遇",
                description=f"生日快乐！生日礼券{rules.birthday_offer_days}天内有效。",
                starts_at=starts,
                expires_at=expires,
                points=member.points,
            )
    return None


def points_expiry_offer(
    member: MemberFacts, now: datetime, zone: ZoneInfo, rules: OfferRules
) -> Offer | None:
    expire_at = member.points_expire_at
    if not member.known or member.points <= 0 or expire_at is None:
        return None
    starts = expire_at - timedelta(days=rules.points_expiry_window_days)
    return Offer(
        user_id=member.user_id,
        id=f"{OfferKind.POINTS_EXPIRY}:{_stamp(expire_at)}",
        kind=OfferKind.POINTS_EXPIRY,
        title="积分即将过期",
        description=f"您有{member.points}积分将于{format_day(expire_at, zone)}过期，快来兑换吧。",
        starts_at=starts,
        expires_at=expire_at,
        points=member.points,
    )


def renewal_offer(
    user_id: int,
    product: OwnedStage,
    successor: Recommendation | None,
    rules: OfferRules,
) -> Offer | None:
    """UPGRADE to a known successor, else TRADE_IN, from the day the product entered RENEWAL."""
    if product.stage != RENEWAL:
        return None
    kind = OfferKind.UPGRADE if successor is not None else OfferKind.TRADE_IN
    if successor is not None:
        title, description = (
            "升级换新优惠",
            f"您的{product.name}已使用多时，升级到{successor.name}享专属换新价。",
        )
    else:
        title, description = "以旧换新优惠", f"您的{product.name}已使用多时，以旧换新可抵扣新品货款。"
    return Offer(
        user_id=user_id,
        id=f"{kind}:{_stamp(product.since)}:{product.sku_code}",
        kind=kind,
        title=title,
        description=description,
        starts_at=product.since,
        expires_at=product.since + timedelta(days=rules.renewal_offer_days),
        sku_code=product.sku_code,
        recommended=successor,
    )


def win_back_offer(user_id: int, dormant_since: datetime | None, rules: OfferRules) -> Offer | None:
    if dormant_since is None:
        return None
    return Offer(
        user_id=user_id,
        id=f"{OfferKind.WIN_BACK}:{_stamp(dormant_since)}",
        kind=OfferKind.WIN_BACK,
        title="回归专享福利",
        description=f"好久不见！回归礼券{rules.win_back_offer_days}天内有效。",
        starts_at=dormant_since,
        expires_at=dormant_since + timedelta(days=rules.win_back_offer_days),
    )


def offers_for(
    member: MemberFacts,
    lifecycle: UserLifecycle,
    now: datetime,
    zone: ZoneInfo,
    *,
    successors: Mapping[str, Recommendation] | None = None,
    recommended: Recommendation | None = None,
    rules: OfferRules = DEFAULT_RULES,
) -> list[Offer]:
    """The user's offers valid at ``now``, soonest expiry first.

    ``successors``: per owned SKU in RENEWAL, the product to upgrade to (makes it UPGRADE).
    ``recommended``: the one product the user's other offers carry (co-purchase, not owned or
    dismissed).
    """
    successors = successors or {}
    found: list[Offer | None] = [
        win_back_offer(member.user_id, lifecycle.dormant_since, rules),
        member_day_offer(member, now, zone, rules),
        birthday_offer(member, now, zone, rules),
        points_expiry_offer(member, now, zone, rules),
    ]
    found = [_with_recommendation(offer, recommended) for offer in found]
    found += [
        renewal_offer(member.user_id, product, successors.get(product.sku_code), rules)
        for product in lifecycle.owned
    ]
    valid = [offer for offer in found if offer is not None and offer.is_valid(now)]
    return sorted(valid, key=lambda offer: (offer.expires_at, offer.id))


def _with_recommendation(offer: Offer | None, recommended: Recommendation | None) -> Offer | None:
    if offer is None or recommended is None:
        return offer
    return replace(offer, recommended=recommended)


def owned_by_recency(owned: Sequence[OwnedStage]) -> list[tuple[str, datetime]]:
    """(SKU, latest delivery) of the owned products, the input of the recommender."""
    return [(product.sku_code, product.purchased_at) for product in owned]
