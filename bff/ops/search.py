"""What operators look up: notices, supply-chain commands, alerts and the audit log, in keyset
pages newest first (bff/runtime/page_cursors.py: opaque cursors, rows added meanwhile never shift
a page). Openids are only shown masked (bff/runtime/logsafe.py); a notice carries whether it may
be resent, by the rule the resend applies (bff/ops/rules.py).

Every list takes ``first`` (1..MAX_PAGE_SIZE) and ``after`` (a cursor of the same list); a bad
value raises ``OpsRequestError`` naming it, and nothing is read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.expressions import F, Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from bff.models.commands import CommandStatus, OutboxCommand
from bff.models.consent import OpsAlert
from bff.models.notices import Notice, NoticeOpen, NoticeStatus
from bff.models.ops import OpsAudit
from bff.models.users import User
from bff.ops.rules import Refusal, load_resend_facts, resend_refusal
from bff.runtime.logsafe import mask
from bff.runtime.page_cursors import CursorError, decode_cursor, encode_cursor

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_RANGE_DAYS",
    "AlertView",
    "NoticeFilter",
    "NoticeView",
    "OpsRequestError",
    "Page",
    "alert_view",
    "command_uuid",
    "list_alerts",
    "list_audit",
    "list_commands",
    "list_notices",
    "notice_view",
    "parse_row_id",
]

MAX_PAGE_SIZE = 100
MAX_RANGE_DAYS = 366
_TEXT_MAX = 255  # longer filter values match nothing (no column is that wide)

T = TypeVar("T")
M = TypeVar("M", bound=Model)


class OpsRequestError(ValueError):
    """A request the operator must fix (a page size, a cursor, a filter value)."""


@dataclass(frozen=True)
class Page(Generic[T]):
    nodes: list[T]
    end_cursor: str | None
    has_next_page: bool


@dataclass(frozen=True)
class NoticeFilter:
    user_id: str | None = None
    openid: str | None = None
    order_no: str | None = None
    topic: str | None = None
    status: str | None = None
    reason: str | None = None
    from_day: date | None = None
    to_day: date | None = None


@dataclass(frozen=True)
class NoticeView:
    id: int
    user_id: int
    openid_masked: str
    order_no: str | None
    topic: str
    template_id: str
    status: str
    reason: str | None
    errcode: int | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    opened_at: datetime | None
    resend_refusal: Refusal | None

    @property
    def can_resend(self) -> bool:
        return self.resend_refusal is None


@dataclass(frozen=True)
class AlertView:
    id: int
    kind: str
    template_id: str | None
    user_masked: str | None
    count: int
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


def parse_row_id(raw: str) -> int | None:
    """A row id given as text; None when it cannot be one (the row then does not exist)."""
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value < 2**63 else None


def _check_first(first: int) -> None:
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise OpsRequestError(f"first: must be between 1 and {MAX_PAGE_SIZE}, got {first}")


def _after(list_name: str, after: str | None, time_field: str) -> Q | None:
    if after is None:
        return None
    try:
        at, row_id = decode_cursor(list_name, after)
    except CursorError as exc:
        raise OpsRequestError(str(exc)) from None
    older: dict[str, Any] = {f"{time_field}__lt": at}
    same_time: dict[str, Any] = {time_field: at, "id__lt": row_id}
    return Q(**older) | Q(**same_time)


async def _page(
    query: QuerySet[M], list_name: str, time_field: str, first: int, after: str | None
) -> tuple[list[M], str | None, bool]:
    _check_first(first)
    keyset = _after(list_name, after, time_field)
    if keyset is not None:
        query = query.filter(keyset)
    rows = await query.order_by(f"-{time_field}", "-id").limit(first + 1)
    nodes = rows[:first]
    end = None
    if nodes:
        last = nodes[-1]
        end = encode_cursor(list_name, getattr(last, time_field), int(last.pk))
    return nodes, end, len(rows) > first


# -- notices ---------------------------------------------------------------------------------------


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _notice_query(spec: NoticeFilter, zone: ZoneInfo) -> QuerySet[Notice] | None:
    """The filtered notices; None when the filter can match nothing (an id no row can have)."""
    query = Notice.all()
    if spec.user_id is not None:
        user_id = parse_row_id(spec.user_id)
        if user_id is None:
            return None
        query = query.filter(user_id=user_id)
    texts = (spec.openid, spec.order_no, spec.topic, spec.reason)
    if any(value is not None and len(value) > _TEXT_MAX for value in texts):
        return None
    if spec.openid is not None:
        query = query.filter(user__openid=spec.openid)
    if spec.order_no is not None:
        query = query.filter(order_no=spec.order_no)
    if spec.topic is not None:
        query = query.filter(topic=spec.topic)
    if spec.status is not None:
        if spec.status not in NoticeStatus.__members__:
            known = ", ".join(NoticeStatus.__members__)
            raise OpsRequestError(f"filter.status: must be one of {known}, got {spec.status[:40]!r}")
        query = query.filter(status=NoticeStatus(spec.status))
    if spec.reason is not None:
        query = query.filter(reason=spec.reason)
    if spec.from_day is not None and spec.to_day is not None:
        if spec.from_day > spec.to_day:
            raise OpsRequestError(f"filter.from: {spec.from_day} is after filter.to {spec.to_day}")
        days = (spec.to_day - spec.from_day).days + 1
        if days > MAX_RANGE_DAYS:
            raise OpsRequestError(f"filter: the range spans {days} days, at most {MAX_RANGE_DAYS}")
    if spec.from_day is not None:
        query = query.filter(created_at__gte=_day_start(spec.from_day, zone))
    if spec.to_day is not None:
        query = query.filter(created_at__lt=_day_start(spec.to_day + timedelta(days=1), zone))
    return query


async def _notice_views(notices: Sequence[Notice], now: datetime) -> list[NoticeView]:
    """Views of a page of notices: one query each for the openids, the opens and the resend facts."""
    if not notices:
        return []
    ids = [n.id for n in notices]
    openids = dict(await User.filter(id__in=sorted({n.user_id for n in notices})).values_list("id", "openid"))
    opened = dict(await NoticeOpen.filter(notice_id__in=ids).values_list("notice_id", "opened_at"))
    facts = await load_resend_facts(notices)
    return [
        NoticeView(
            id=n.id,
            user_id=n.user_id,
            openid_masked=mask(openids.get(n.user_id)),
            order_no=n.order_no,
            topic=n.topic,
            template_id=n.template_id,
            status=n.status.value,
            reason=n.reason,
            errcode=n.errcode,
            attempts=n.attempts,
            created_at=n.created_at,
            sent_at=n.sent_at,
            opened_at=opened.get(n.id),
            resend_refusal=resend_refusal(n, facts.get(n.id), now),
        )
        for n in notices
    ]


async def list_notices(
    spec: NoticeFilter, *, zone: ZoneInfo, first: int, after: str | None, now: datetime | None = None
) -> Page[NoticeView]:
    """Notices matching ``spec``, newest first (created_at, id); dates are days in ``zone``."""
    _check_first(first)
    query = _notice_query(spec, zone)
    if query is None:
        _after("notices", after, "created_at")  # a bad cursor is still an error
        return Page([], None, False)
    rows, end, more = await _page(query, "notices", "created_at", first, after)
    return Page(await _notice_views(rows, now or datetime.now(UTC)), end, more)


async def notice_view(notice_id: int, now: datetime | None = None) -> NoticeView | None:
    notice = await Notice.get_or_none(id=notice_id)
    if notice is None:
        return None
    [view] = await _notice_views([notice], now or datetime.now(UTC))
    return view


# -- commands, alerts, audit -------------------------------------------------------------------------


async def list_commands(*, status: str | None, first: int, after: str | None) -> Page[OutboxCommand]:
    """Supply-chain commands, newest first (created_at, id), of one state or all."""
    query = OutboxCommand.all()
    if status is not None:
        if status not in CommandStatus.__members__:
            known = ", ".join(CommandStatus.__members__)
            raise OpsRequestError(f"status: must be one of {known}, got {status[:40]!r}")
        query = query.filter(status=CommandStatus(status))
    rows, end, more = await _page(query, "commands", "created_at", first, after)
    return Page(rows, end, more)


def command_uuid(raw: str) -> UUID | None:
    """A command's id (its commandId) given as text; None when it cannot be one."""
    try:
        return UUID(raw.strip()) if len(raw) <= 64 else None
    except ValueError:
        return None


async def _alert_views(alerts: Sequence[OpsAlert]) -> list[AlertView]:
    user_ids = sorted({a.user_id for a in alerts if a.user_id is not None})
    openids = dict(await User.filter(id__in=user_ids).values_list("id", "openid")) if user_ids else {}
    return [
        AlertView(
            id=a.id,
            kind=a.kind,
            template_id=a.template_id,
            user_masked=None if a.user_id is None else mask(openids.get(a.user_id)),
            count=a.count,
            first_seen_at=a.first_seen_at,
            last_seen_at=a.last_seen_at,
            acknowledged_at=a.acknowledged_at,
            acknowledged_by=a.acknowledged_by,
        )
        for a in alerts
    ]


async def alert_view(alert_id: int) -> AlertView | None:
    alert = await OpsAlert.get_or_none(id=alert_id)
    return None if alert is None else (await _alert_views([alert]))[0]


async def list_alerts(*, include_acknowledged: bool, first: int, after: str | None) -> Page[AlertView]:
    """Alerts, newest ``last_seen_at`` first. Without ``include_acknowledged``: those needing
    attention, i.e. not resolved and never acknowledged or seen again since (last_seen_at later
    than acknowledged_at); with it, every alert."""
    query = OpsAlert.all()
    if not include_acknowledged:
        query = query.filter(
            Q(resolved_at__isnull=True),
            Q(acknowledged_at__isnull=True) | Q(last_seen_at__gt=F("acknowledged_at")),
        )
    rows, end, more = await _page(query, "alerts", "last_seen_at", first, after)
    return Page(await _alert_views(rows), end, more)


async def list_audit(*, first: int, after: str | None) -> Page[OpsAudit]:
    """The audit log, newest first."""
    rows, end, more = await _page(OpsAudit.all(), "audit", "at", first, after)
    return Page(rows, end, more)
