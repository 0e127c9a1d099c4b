"""When a lifecycle or member notice should go out: the user's best hour within the next day.

``send_at(...)`` is pure: from the user's open-hour profile (bff/notices/timing/profile.py), their
quiet hours and an hour rule (``best`` unless an experiment variant says otherwise) it returns the
start of the chosen local hour, at most 24 hours ahead, or None for "send as soon as the policy
allows". The policy turns a time into a deferral (reason BEST_HOUR) through the same mechanism as
quiet hours, so the sender and the sweeper need nothing new: a SCHEDULED notice is put to the
policy again when its time comes, and a notice that already waited for its best hour
(``Notice.reason == BEST_HOUR``) is not deferred for it a second time.

Order topics are never timed (``timed_topic``): the user asked to hear about their order now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bff.catalog.topics import Topic, TopicCategory, topic_info
from bff.notices.engagement import open_hour_histograms, population_open_hour_histogram
from bff.notices.policy import QuietHours
from bff.notices.timing.profile import HOURS, OpenHourProfile, estimate_profile

# Opens older than this leave the population profile (habits change; the aggregate stays small).
POPULATION_WINDOW = timedelta(days=90)
TIMED_CATEGORIES = frozenset({TopicCategory.LIFECYCLE, TopicCategory.MEMBER})


class HourRuleKind(StrEnum):
    BEST = "best"  # the user's best hour (or the fallback)
    NOW = "now"  # as soon as the policy allows (quiet hours still apply)
    FIXED = "fixed"  # a fixed local hour


@dataclass(frozen=True)
class HourRule:
    kind: HourRuleKind = HourRuleKind.BEST
    hour: int | None = None  # FIXED only

    def __post_init__(self) -> None:
        if (self.kind is HourRuleKind.FIXED) != (self.hour is not None):
            raise ValueError("a fixed hour rule needs an hour, the other rules none")
        if self.hour is not None and not 0 <= self.hour < HOURS:
            raise ValueError(f"hour must be 0..23, got {self.hour}")

    @classmethod
    def parse(cls, value: object) -> HourRule:
        """``"best"``, ``"now"`` or an hour 0..23; ValueError naming what is wrong otherwise."""
        if isinstance(value, bool):
            raise ValueError(f'send_hour must be "best", "now" or an hour 0..23, got {value!r}')
        if isinstance(value, int):
            return cls(HourRuleKind.FIXED, value)
        if value in (HourRuleKind.BEST, HourRuleKind.NOW):
            return cls(HourRuleKind(str(value)))
        raise ValueError(f'send_hour must be "best", "now" or an hour 0..23, got {value!r}')

    def __str__(self) -> str:
        return str(self.hour) if self.kind is HourRuleKind.FIXED else str(self.kind)


BEST = HourRule()


@dataclass(frozen=True)
class SendTimeConfig:
    """``enabled``: time lifecycle and member notices at all. ``fallback_hour``: the local hour
    used when a user has no informative profile (None: send as soon as the policy allows)."""

    enabled: bool = True
    fallback_hour: int | None = None

    def __post_init__(self) -> None:
        if self.fallback_hour is not None and not 0 <= self.fallback_hour < HOURS:
            raise ValueError(f"fallback_hour must be 0..23, got {self.fallback_hour}")


def timed_topic(topic: Topic | str) -> bool:
    """Lifecycle and member topics wait for the best hour; order topics never do."""
    return topic_info(topic).category in TIMED_CATEGORIES


def hour_allowed(hour: int, quiet: QuietHours | None, zone: ZoneInfo) -> bool:
    """Whether a send at ``hour``:00 local time falls outside the quiet hours."""
    if quiet is None:
        return True
    moment = datetime.combine(datetime(2026, 1, 1).date(), time(hour), tzinfo=zone)
    return quiet.deferral(moment) is None


def next_start_of_hour(now: datetime, hour: int, zone: ZoneInfo) -> datetime | None:
    """The next ``hour``:00 local time after ``now`` (within 24 hours), or None when ``now`` is in
    that hour already (send now)."""
    local = now.astimezone(zone)
    if local.hour == hour:
        return None
    target = datetime.combine(local.date(), time(hour), tzinfo=zone)
    if target <= local:
        target = datetime.combine(local.date() + timedelta(days=1), time(hour), tzinfo=zone)
    return target.astimezone(UTC)


def send_at(
    now: datetime,
    zone: ZoneInfo,
    profile: OpenHourProfile,
    quiet: QuietHours | None,
    rule: HourRule = BEST,
    config: SendTimeConfig = SendTimeConfig(),
) -> datetime | None:
    """When to send (the start of an hour within the next 24 h), or None: as soon as allowed.

    ``best``: the profile's best hour outside quiet hours; when the profile is not informative,
    ``config.fallback_hour`` if it is outside quiet hours; else None. ``fixed``: that hour unless
    it is inside quiet hours (then None, and quiet hours defer the notice). ``now``: None.
    """
    if not config.enabled or rule.kind is HourRuleKind.NOW:
        return None

    def allowed(hour: int) -> bool:
        return hour_allowed(hour, quiet, zone)

    hour: int | None
    if rule.kind is HourRuleKind.FIXED:
        hour = rule.hour
    else:
        hour = profile.best_hour(allowed, after=now.astimezone(zone).hour)
        if hour is None:
            hour = config.fallback_hour
    if hour is None or not allowed(hour):
        return None
    return next_start_of_hour(now, hour, zone)


async def load_profiles(user_ids: Iterable[int], *, now: datetime) -> dict[int, OpenHourProfile]:
    """The open-hour profile of every user, in two queries whatever their number."""
    users = await open_hour_histograms(user_ids)
    if not users:
        return {}
    population = await population_open_hour_histogram(since=now - POPULATION_WINDOW)
    return {user_id: estimate_profile(histogram, population) for user_id, histogram in users.items()}
