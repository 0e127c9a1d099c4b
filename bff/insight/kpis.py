"""The KPI report over a date range (docs/operators.md, "Insight"): notice outcomes in total, by
day, topic and template; message-led repurchase against experiment holdouts; fulfilment NPS;
on-time delivery; fill rate; exception response time. Every figure is one grouped query."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bff.catalog.templates_file import TemplatesFile
from bff.insight.outcomes import NoticeOutcomes, OutcomeTally, Ratio
from bff.insight.period import Period
from bff.insight.sql import as_int, epoch, hour_bucket, rows
from bff.models.orders import DecidedBy, OrderStatus
from bff.notices.experiments.report import two_proportion_test
from bff.notices.reasons import Reason

REPURCHASE_WINDOWS_DAYS = (7, 30)


@dataclass(frozen=True)
class DayOutcomes:
    day: date
    outcomes: NoticeOutcomes


@dataclass(frozen=True)
class TopicOutcomes:
    topic: str
    outcomes: NoticeOutcomes


@dataclass(frozen=True)
class TemplateOutcomes:
    template_id: str
    title: str | None
    outcomes: NoticeOutcomes


@dataclass(frozen=True)
class Repurchase:
    window_days: int
    opened: Ratio  # users with an opened notice → of them, users who ordered within the window
    holdout: Ratio | None  # experiment holdout users of the same topics; None without a holdout
    lift: float | None
    p_value: float | None


@dataclass(frozen=True)
class Nps:
    responses: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self) -> float | None:
        return 100.0 * (self.promoters - self.detractors) / self.responses if self.responses else None


@dataclass(frozen=True)
class ExceptionResponse:
    raised: int
    decided_by_user: int
    decided_by_default: int
    open: int
    median_minutes: float | None
    p90_minutes: float | None


@dataclass(frozen=True)
class KpiReport:
    first: date
    last: date
    outcomes: NoticeOutcomes
    by_day: tuple[DayOutcomes, ...]
    by_topic: tuple[TopicOutcomes, ...]
    by_template: tuple[TemplateOutcomes, ...]
    repurchase: tuple[Repurchase, ...]
    nps: Nps
    on_time_delivery: Ratio
    fill_rate: Ratio
    exception_response: ExceptionResponse


def _in_range(column: str) -> str:
    return f"{epoch(column)} >= ? AND {epoch(column)} < ?"


def _bounds(period: Period) -> list[float]:
    return [period.start.timestamp(), period.end.timestamp()]


_OUTCOME_COLUMNS = (
    "n.status AS status, "
    "CASE WHEN n.status = 'SUPPRESSED' THEN n.reason END AS reason, "
    "CASE WHEN n.status = 'FAILED' THEN n.errcode END AS errcode, "
    "COUNT(*) AS notices, COUNT(o.id) AS opened"
)


async def kpi_report(period: Period, templates: TemplatesFile, *, now: datetime) -> KpiReport:
    """The KPI report of notices created, orders placed and receipts confirmed within ``period``."""
    total = OutcomeTally()
    days: dict[date, OutcomeTally] = defaultdict(OutcomeTally)
    for row in await rows(
        f"SELECT {hour_bucket('n.created_at')} AS hour, {_OUTCOME_COLUMNS} "
        "FROM notices n LEFT JOIN notice_opens o ON o.notice_id = n.id "
        f"WHERE {_in_range('n.created_at')} GROUP BY 1, 2, 3, 4",
        _bounds(period),
    ):
        day = period.day_of(datetime.fromtimestamp(as_int(row["hour"]) * 3600, UTC))
        for tally in (total, days[day]):
            tally.add(
                row["status"], row["reason"], row["errcode"], as_int(row["notices"]), as_int(row["opened"])
            )
    topics: dict[str, OutcomeTally] = defaultdict(OutcomeTally)
    by_template: dict[str, OutcomeTally] = defaultdict(OutcomeTally)
    for row in await rows(
        f"SELECT n.topic AS topic, n.template_id AS template_id, {_OUTCOME_COLUMNS} "
        "FROM notices n LEFT JOIN notice_opens o ON o.notice_id = n.id "
        f"WHERE {_in_range('n.created_at')} GROUP BY 1, 2, 3, 4, 5",
        _bounds(period),
    ):
        args = (row["status"], row["reason"], row["errcode"], as_int(row["notices"]), as_int(row["opened"]))
        topics[row["topic"]].add(*args)
        by_template[row["template_id"]].add(*args)
    return KpiReport(
        first=period.first,
        last=period.last,
        outcomes=total.outcomes(),
        by_day=tuple(DayOutcomes(day, days[day].outcomes()) for day in period.days()),
        by_topic=tuple(TopicOutcomes(topic, topics[topic].outcomes()) for topic in sorted(topics)),
        by_template=tuple(
            TemplateOutcomes(tid, _title(templates, tid), by_template[tid].outcomes())
            for tid in sorted(by_template)
        ),
        repurchase=tuple([await repurchase(period, days_, now=now) for days_ in REPURCHASE_WINDOWS_DAYS]),
        nps=await nps(period),
        on_time_delivery=await on_time_delivery(period),
        fill_rate=await fill_rate(period),
        exception_response=await exception_response(period),
    )


def _title(templates: TemplatesFile, template_id: str) -> str | None:
    template = templates.by_id(template_id)
    return template.title if template is not None else None


def _ordered_within(anchor: str, window_s: float) -> tuple[str, list[float]]:
    """SQL: 1 when the user ``f.user_id`` placed a (not cancelled) order within the window after
    ``anchor`` (seconds), else 0; and its parameters."""
    return (
        "CASE WHEN EXISTS (SELECT 1 FROM orders r WHERE r.user_id = f.user_id "
        f"AND r.status <> '{OrderStatus.CANCELLED}' "
        f"AND {epoch('r.placed_at')} > {anchor} AND {epoch('r.placed_at')} <= {anchor} + ?) "
        "THEN 1 ELSE 0 END",
        [window_s],
    )


async def repurchase(period: Period, window_days: int, *, now: datetime) -> Repurchase:
    """Message-led repurchase: each user's first open of a notice created in the range; whether they
    placed an order within ``window_days`` after it. Only users whose window has passed by ``now``
    count (a young window is not biased low). Holdout: users an experiment held out of a notice of
    one of the opened notices' topics in the range, from the decision that withheld it."""
    window_s = float(window_days * 86400)
    ripe = (now - timedelta(days=window_days)).timestamp()
    hit, hit_params = _ordered_within("f.at", window_s)
    opened_rows = await rows(
        f"SELECT COUNT(*) AS users, SUM({hit}) AS bought FROM ("
        f"SELECT o.user_id AS user_id, MIN({epoch('o.opened_at')}) AS at "
        "FROM notice_opens o JOIN notices n ON n.id = o.notice_id "
        f"WHERE {_in_range('n.created_at')} GROUP BY o.user_id) f WHERE f.at <= ?",
        [*hit_params, *_bounds(period), ripe],
    )
    opened = Ratio(as_int(opened_rows[0]["bought"]), as_int(opened_rows[0]["users"]))
    held_rows = await rows(
        f"SELECT COUNT(*) AS users, SUM({hit}) AS bought FROM ("
        f"SELECT a.user_id AS user_id, MIN({epoch('a.assigned_at')}) AS at "
        "FROM experiment_assignments a JOIN notices n ON n.id = a.notice_id "
        f"WHERE a.holdout = ? AND n.reason = '{Reason.EXPERIMENT_HOLDOUT}' AND {_in_range('a.assigned_at')} "
        "AND a.topic IN (SELECT DISTINCT n2.topic FROM notices n2 "
        "JOIN notice_opens o2 ON o2.notice_id = n2.id "
        f"WHERE {_in_range('n2.created_at')}) GROUP BY a.user_id) f WHERE f.at <= ?",
        [*hit_params, True, *_bounds(period), *_bounds(period), ripe],
    )
    holdout_users = as_int(held_rows[0]["users"])
    if not holdout_users:
        return Repurchase(window_days, opened, None, None, None)
    holdout = Ratio(as_int(held_rows[0]["bought"]), holdout_users)
    test = two_proportion_test(opened.numerator, opened.denominator, holdout.numerator, holdout.denominator)
    lift = None
    if opened.rate is not None and holdout.rate is not None:
        lift = opened.rate - holdout.rate
    return Repurchase(window_days, opened, holdout, lift, test.p_value if test else None)


async def nps(period: Period) -> Nps:
    """Fulfilment NPS from ratings (0..10) of receipts confirmed in the range."""
    row = (
        await rows(
            "SELECT COUNT(*) AS responses, "
            "SUM(CASE WHEN rating >= 9 THEN 1 ELSE 0 END) AS promoters, "
            "SUM(CASE WHEN rating BETWEEN 7 AND 8 THEN 1 ELSE 0 END) AS passives, "
            "SUM(CASE WHEN rating <= 6 THEN 1 ELSE 0 END) AS detractors "
            f"FROM order_receipts WHERE rating IS NOT NULL AND {_in_range('confirmed_at')}",
            _bounds(period),
        )
    )[0]
    return Nps(
        as_int(row["responses"]), as_int(row["promoters"]), as_int(row["passives"]), as_int(row["detractors"])
    )


async def on_time_delivery(period: Period) -> Ratio:
    """Orders delivered in the range (their first DELIVERED node) that had a promised ETA → those
    delivered by it. The promise is the first ETA the customer saw: ``estimated_arrival`` of the
    order's earliest node event that carried one; without any, the supply chain's expected time of
    DELIVERED (order_node_expectations). Orders without either are not counted."""
    first_eta = (
        f"(SELECT {epoch('e2.estimated_arrival')} FROM order_node_events e2 "
        "WHERE e2.order_id = d.order_id AND e2.estimated_arrival IS NOT NULL "
        "ORDER BY e2.occurred_at, e2.id LIMIT 1)"
    )
    expected = (
        f"(SELECT {epoch('x.expected_at')} FROM order_node_expectations x "
        "WHERE x.order_id = d.order_id AND x.node = 'DELIVERED')"
    )
    row = (
        await rows(
            "SELECT COUNT(*) AS delivered, SUM(CASE WHEN t.at <= t.eta THEN 1 ELSE 0 END) AS on_time FROM ("
            f"SELECT d.at AS at, COALESCE({first_eta}, {expected}) AS eta FROM ("
            f"SELECT e.order_id AS order_id, MIN({epoch('e.occurred_at')}) AS at FROM order_node_events e "
            "WHERE e.node = 'DELIVERED' GROUP BY e.order_id) d) t "
            "WHERE t.eta IS NOT NULL AND t.at >= ? AND t.at < ?",
            _bounds(period),
        )
    )[0]
    return Ratio(as_int(row["on_time"]), as_int(row["delivered"]))


async def fill_rate(period: Period) -> Ratio:
    """Orders placed in the range without a STOCKOUT exception linked to them / orders placed."""
    row = (
        await rows(
            "SELECT COUNT(*) AS placed, SUM(CASE WHEN EXISTS (SELECT 1 FROM order_exception_links l "
            "JOIN order_exceptions x ON x.id = l.exception_id "
            "WHERE l.order_id = r.id AND x.kind = 'STOCKOUT') "
            f"THEN 0 ELSE 1 END) AS filled FROM orders r WHERE {_in_range('r.placed_at')}",
            _bounds(period),
        )
    )[0]
    return Ratio(as_int(row["filled"]), as_int(row["placed"]))


async def exception_response(period: Period) -> ExceptionResponse:
    """Exceptions raised for orders in the range (an exception × order link, created when the
    exception reached the order) and how long until decided, by the user or by the deadline's
    default. Percentiles are nearest-rank over the decided links."""
    row = (
        await rows(
            "SELECT COUNT(*) AS raised, "
            f"SUM(CASE WHEN decided_by = '{DecidedBy.USER}' THEN 1 ELSE 0 END) AS by_user, "
            f"SUM(CASE WHEN decided_by = '{DecidedBy.DEFAULT}' THEN 1 ELSE 0 END) AS by_default, "
            "SUM(CASE WHEN decided_at IS NULL THEN 1 ELSE 0 END) AS still_open "
            f"FROM order_exception_links WHERE {_in_range('created_at')}",
            _bounds(period),
        )
    )[0]
    decided = as_int(row["by_user"]) + as_int(row["by_default"])

    async def percentile(p: float) -> float | None:
        if not decided:
            return None
        rank = max(1, math.ceil(p * decided))
        found = await rows(
            f"SELECT ({epoch('decided_at')} - {epoch('created_at')}) / 60.0 AS minutes "
            f"FROM order_exception_links WHERE decided_at IS NOT NULL AND {_in_range('created_at')} "
            "ORDER BY 1 LIMIT 1 OFFSET ?",
            [*_bounds(period), rank - 1],
        )
        return float(found[0]["minutes"]) if found else None

    return ExceptionResponse(
        raised=as_int(row["raised"]),
        decided_by_user=as_int(row["by_user"]),
        decided_by_default=as_int(row["by_default"]),
        open=as_int(row["still_open"]),
        median_minutes=await percentile(0.5),
        p90_minutes=await percentile(0.9),
    )
