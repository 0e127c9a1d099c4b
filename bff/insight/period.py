"""The date range of an insight read: inclusive business days (BUSINESS_TZ), at most 366 of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 366


class PeriodError(ValueError):
    """A date range the insight reads refuse (end before start, longer than MAX_DAYS)."""


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive
    zone: ZoneInfo

    @property
    def start(self) -> datetime:
        """The first day's midnight in the business time zone, as UTC."""
        return datetime.combine(self.first, time(0), self.zone).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The midnight after the last day (exclusive), as UTC."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self.zone).astimezone(UTC)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()


def period(first: date, last: date, zone: ZoneInfo) -> Period:
    """The range ``first``..``last`` inclusive; PeriodError when it is empty or too long."""
    if last < first:
        raise PeriodError(f"the range ends ({last.isoformat()}) before it starts ({first.isoformat()})")
    days = (last - first).days + 1
    if days > MAX_DAYS:
        raise PeriodError(f"the range covers {days} days; at most {MAX_DAYS} are allowed")
    return Period(first, last, zone)
