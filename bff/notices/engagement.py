"""Engagement: which notices users open, and at what hours (the history behind best send times).

The mini-program reports ``recordNoticeOpen(token, scene)`` when it starts from a tapped notice;
the token is the notice's open token (bff/notices/open_tokens.py). An open is recorded once per
notice (``NoticeOpen`` is one-to-one with its notice), with the local hour in BUSINESS_TZ, and
only for the notice's own recipient: a forwarded card opened by someone else is not its user's
engagement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count

from bff.models.notices import Notice, NoticeOpen
from bff.notices.open_tokens import verify_open_token

__all__ = [
    "NoticeOpenError",
    "OpenRefusal",
    "RecordedOpen",
    "open_hour_histogram",
    "open_hour_histograms",
    "population_open_hour_histogram",
    "record_notice_open",
]

MAX_SCENE = 1_000_000  # launch scenes are four-digit codes (1014, 1107, ...)


class OpenRefusal(StrEnum):
    INVALID_TOKEN = "INVALID_TOKEN"  # not a token we issued (or altered)
    NOTICE_NOT_FOUND = "NOTICE_NOT_FOUND"  # no such notice for this user
    INVALID_SCENE = "INVALID_SCENE"


class NoticeOpenError(ValueError):
    def __init__(self, code: OpenRefusal, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class RecordedOpen:
    notice_id: int
    first: bool  # False when this notice's open had been recorded before
    local_hour: int


async def record_notice_open(
    *,
    secret: str,
    token: str,
    user_id: int,
    scene: int | None,
    zone: ZoneInfo,
    now: datetime | None = None,
) -> RecordedOpen:
    """Record that ``user_id`` opened the mini-program from the notice of ``token``.

    Raises NoticeOpenError (INVALID_TOKEN, NOTICE_NOT_FOUND, INVALID_SCENE); changes nothing then.
    """
    if scene is not None and not 0 <= scene < MAX_SCENE:
        raise NoticeOpenError(OpenRefusal.INVALID_SCENE, f"scene must be a launch scene code, got {scene}")
    notice_id = verify_open_token(secret, token)
    if notice_id is None:
        raise NoticeOpenError(OpenRefusal.INVALID_TOKEN, "the token is not a notice token of this service")
    if not await Notice.filter(id=notice_id, user_id=user_id).exists():
        raise NoticeOpenError(OpenRefusal.NOTICE_NOT_FOUND, "no such notice for this user")
    opened_at = now or datetime.now(UTC)
    local_hour = opened_at.astimezone(zone).hour
    existing = await NoticeOpen.get_or_none(notice_id=notice_id)
    if existing is not None:
        return RecordedOpen(notice_id, first=False, local_hour=existing.local_hour)
    try:
        await NoticeOpen.create(
            notice_id=notice_id, user_id=user_id, scene=scene, opened_at=opened_at, local_hour=local_hour
        )
    except IntegrityError:  # a concurrent report of the same open won
        winner = await NoticeOpen.get(notice_id=notice_id)
        return RecordedOpen(notice_id, first=False, local_hour=winner.local_hour)
    return RecordedOpen(notice_id, first=True, local_hour=local_hour)


async def open_hour_histogram(user_id: int) -> list[int]:
    """How many notices the user opened in each local hour 0..23 (index = hour)."""
    rows = (
        await NoticeOpen.filter(user_id=user_id)
        .annotate(opens=Count("id"))
        .group_by("local_hour")
        .values("local_hour", "opens")
    )
    histogram = [0] * 24
    for row in rows:
        histogram[int(row["local_hour"])] = int(row["opens"])
    return histogram


async def open_hour_histograms(user_ids: Iterable[int]) -> dict[int, list[int]]:
    """``open_hour_histogram`` for many users in one query (every asked user has an entry)."""
    ids = sorted(set(user_ids))
    histograms = {user_id: [0] * 24 for user_id in ids}
    if not ids:
        return histograms
    rows = (
        await NoticeOpen.filter(user_id__in=ids)
        .annotate(opens=Count("id"))
        .group_by("user_id", "local_hour")
        .values_list("user_id", "local_hour", "opens")
    )
    for user_id, hour, opens in rows:
        histograms[int(user_id)][int(hour)] = int(opens)
    return histograms


async def population_open_hour_histogram(*, since: datetime | None = None) -> list[int]:
    """How many notices all users opened in each local hour 0..23 (since ``since``, if given)."""
    query = NoticeOpen.all() if since is None else NoticeOpen.filter(opened_at__gte=since)
    rows = await query.annotate(opens=Count("id")).group_by("local_hour").values_list("local_hour", "opens")
    histogram = [0] * 24
    for hour, opens in rows:
        histogram[int(hour)] = int(opens)
    return histogram
