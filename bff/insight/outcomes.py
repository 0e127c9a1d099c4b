"""Notice outcomes (planned, sent, suppressed by reason, failed by errcode, opened) counted from
grouped rows, shared by the KPI report's total, days, topics and templates."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bff.models.notices import NoticeStatus


@dataclass(frozen=True)
class CountByKey:
    key: str
    count: int


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class NoticeOutcomes:
    planned: int  # notices created in the range, in any state
    sent: int
    suppressed: int
    failed: int
    opened: int  # sent notices with an open
    suppressed_by_reason: tuple[CountByKey, ...]  # count desc, then key
    failed_by_errcode: tuple[CountByKey, ...]  # key: the errcode as text ("none" without one)

    @property
    def open_rate(self) -> float | None:
        return self.opened / self.sent if self.sent else None


def _ranked(counter: Counter[str]) -> tuple[CountByKey, ...]:
    return tuple(
        CountByKey(key, count) for key, count in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    )


@dataclass
class OutcomeTally:
    """Adds grouped rows (status, reason, errcode, notices, opened) up into NoticeOutcomes."""

    planned: int = 0
    sent: int = 0
    suppressed: int = 0
    failed: int = 0
    opened: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    errcodes: Counter[str] = field(default_factory=Counter)

    def add(self, status: str, reason: str | None, errcode: int | None, count: int, opened: int) -> None:
        self.planned += count
        if status == NoticeStatus.SENT:
            self.sent += count
            self.opened += opened
        elif status == NoticeStatus.SUPPRESSED:
            self.suppressed += count
            self.reasons[reason or "none"] += count
        elif status == NoticeStatus.FAILED:
            self.failed += count
            self.errcodes["none" if errcode is None else str(errcode)] += count

    def outcomes(self) -> NoticeOutcomes:
        return NoticeOutcomes(
            planned=self.planned,
            sent=self.sent,
            suppressed=self.suppressed,
            failed=self.failed,
            opened=self.opened,
            suppressed_by_reason=_ranked(self.reasons),
            failed_by_errcode=_ranked(self.errcodes),
        )
