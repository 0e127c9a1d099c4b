"""The KPI report (bff/insight/kpis.py): outcomes by business day, topic and template, repurchase
against the holdout, NPS, on-time delivery, fill rate, exception response — and the figures agree
with counts made directly in SQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic
from bff.insight.kpis import kpi_report
from bff.insight.outcomes import CountByKey
from bff.insight.period import PeriodError, period
from bff.models import ExperimentAssignment, Notice, NoticeOpen, NoticeStatus
from bff.notices.reasons import Reason
from bff.orders.deadlines import apply_exception_defaults
from bff.orders.decisions import confirm_receipt, resolve_exception
from bff.supply_chain import builders as b
from tests.insight.world import SHANGHAI, TEMPLATES, events, local, notice, user
from tests.querycount import count_queries

RANGE = period(date(2026, 10, 1), date(2026, 10, 3), SHANGHAI)
NOW = local(11, 15)
SENT, SUPPRESSED, FAILED = NoticeStatus.SENT, NoticeStatus.SUPPRESSED, NoticeStatus.FAILED


async def given_notices() -> None:
    a, c, h = await user("oA", "浙江省杭州市"), await user("oC", "上海市"), await user("oH", "上海市")
    # 23:30 on Oct 1 in Shanghai is still Oct 1 (15:30 UTC); 00:30 on Oct 2 is Oct 2 (16:30 UTC Oct 1)
    await notice(a, Topic.NODE_OUTBOUND, local(10, 1, 23, 30), opened=local(10, 1, 23, 40))
    await notice(c, Topic.REPLENISHMENT, local(10, 2, 0, 30), opened=local(10, 2, 1, 0))
    await notice(c, Topic.NODE_DELIVERED, local(10, 2, 9))
    await notice(a, Topic.NODE_OUTBOUND, local(10, 2, 10), SUPPRESSED, reason=Reason.NO_UNITS)
    await notice(c, Topic.NODE_OUTBOUND, local(10, 3, 10), SUPPRESSED, reason=Reason.NO_UNITS)
    await notice(c, Topic.NODE_DELIVERED, local(10, 3, 11), SUPPRESSED, reason=Reason.TOPIC_OFF)
    await notice(a, Topic.NODE_DELIVERED, local(10, 3, 12), FAILED, reason="QUOTA_EXHAUSTED", errcode=43101)
    await notice(a, Topic.ORDER_PAID, local(10, 3, 13), NoticeStatus.PLANNED)
    held = await notice(h, Topic.REPLENISHMENT, local(10, 2, 8), SUPPRESSED, reason=Reason.EXPERIMENT_HOLDOUT)
    await ExperimentAssignment.create(
        experiment="tip-1",
        file_version=1,
        variant="holdout",
        holdout=True,
        user_id=h.id,
        notice_id=held.id,
        topic="REPLENISHMENT",
        assigned_at=local(10, 2, 8),
    )
    # outside the range: 23:00 on Sep 30 and 00:00 on Oct 4 in Shanghai
    await notice(a, Topic.NODE_OUTBOUND, local(9, 30, 23), opened=local(9, 30, 23, 5))
    await notice(a, Topic.NODE_OUTBOUND, local(10, 4, 0))
    # repurchases: A within 7 days of their open, C within 30 (not 7); the holdout user never
    await events(
        b.placed("LV-A-2", "oA", local(10, 5)),
        b.placed("LV-C-2", "oC", local(10, 20)),
        b.placed("LV-C-3", "oC", local(12, 20)),
    )


async def test_notice_outcomes_are_counted_per_business_day_topic_and_template(db: TortoiseContext) -> None:
    # given
    await given_notices()

    # when
    report = await kpi_report(RANGE, TEMPLATES, now=NOW)

    # then
    total = report.outcomes
    assert (total.planned, total.sent, total.suppressed, total.failed, total.opened) == (9, 3, 4, 1, 2)
    assert total.open_rate == pytest.approx(2 / 3)
    assert total.suppressed_by_reason == (
        CountByKey("NO_UNITS", 2),
        CountByKey("EXPERIMENT_HOLDOUT", 1),
        CountByKey("TOPIC_OFF", 1),
    )
    assert total.failed_by_errcode == (CountByKey("43101", 1),)
    assert [(d.day.day, d.outcomes.planned, d.outcomes.sent, d.outcomes.opened) for d in report.by_day] == [
        (1, 1, 1, 1),
        (2, 4, 2, 1),
        (3, 4, 0, 0),
    ]
    topics = {t.topic: t.outcomes for t in report.by_topic}
    assert list(topics) == sorted(topics)
    assert (
        topics["NODE_OUTBOUND"].planned,
        topics["NODE_OUTBOUND"].sent,
        topics["NODE_OUTBOUND"].opened,
    ) == (3, 1, 1)
    assert topics["NODE_DELIVERED"].failed_by_errcode == (CountByKey("43101", 1),)
    templates = {t.template_id: t for t in report.by_template}
    shipping = TEMPLATES.for_topic(Topic.NODE_OUTBOUND)
    assert shipping is not None and templates[shipping.template_id].title == shipping.title
    # and the figures agree with counts made directly in SQL
    in_range = {"created_at__gte": RANGE.start, "created_at__lt": RANGE.end}
    assert total.planned == await Notice.filter(**in_range).count()
    assert total.sent == await Notice.filter(status=SENT, **in_range).count()
    assert (
        total.opened
        == await NoticeOpen.filter(
            notice__status=SENT, notice__created_at__gte=RANGE.start, notice__created_at__lt=RANGE.end
        ).count()
    )
    assert sum(t.outcomes.planned for t in report.by_template) == total.planned
    assert sum(d.outcomes.planned for d in report.by_day) == total.planned


async def test_repurchase_counts_users_who_ordered_after_an_open_against_the_holdout(
    db: TortoiseContext,
) -> None:
    # given
    await given_notices()

    # when
    report = await kpi_report(RANGE, TEMPLATES, now=NOW)

    # then A ordered 4 days after the open, C 18 days after; the held-out user never did
    seven, thirty = report.repurchase
    assert (seven.window_days, seven.opened.numerator, seven.opened.denominator) == (7, 1, 2)
    assert (thirty.window_days, thirty.opened.numerator, thirty.opened.denominator) == (30, 2, 2)
    assert seven.holdout is not None and (seven.holdout.numerator, seven.holdout.denominator) == (0, 1)
    assert seven.lift == pytest.approx(0.5)
    assert seven.p_value is not None and 0 < seven.p_value < 1


async def test_windows_not_yet_over_are_left_out_and_no_holdout_means_null(db: TortoiseContext) -> None:
    # given an open on Oct 2 and "now" 10 days later
    c = await user("oC")
    await notice(c, Topic.NODE_OUTBOUND, local(10, 2), opened=local(10, 2, 13))

    # when
    report = await kpi_report(RANGE, TEMPLATES, now=local(10, 12))

    # then the 7-day window counts the user, the 30-day window does not yet; no experiment: no holdout
    seven, thirty = report.repurchase
    assert (seven.opened.denominator, thirty.opened.denominator) == (1, 0)
    assert thirty.opened.rate is None and seven.holdout is None and seven.lift is None


async def given_orders() -> None:
    buyer = await user("oB")
    at = local(10, 1, 9)
    await events(
        b.placed("LV-1", "oB", at),
        b.paid("LV-1", at),
        b.node("LV-1", "OUTBOUND", local(10, 1, 10), estimated_arrival=local(10, 3, 12)),
        # a later, later ETA does not excuse missing the first promise
        b.node("LV-1", "TRUNK_TRANSIT", local(10, 2, 10), estimated_arrival=local(10, 4, 12)),
        b.node("LV-1", "DELIVERED", local(10, 3, 18)),
        b.placed("LV-2", "oB", at),
        b.paid("LV-2", at),
        b.node("LV-2", "OUTBOUND", local(10, 1, 10), expected=[("DELIVERED", local(10, 5))]),
        b.node("LV-2", "DELIVERED", local(10, 2, 18)),
        b.placed("LV-3", "oB", at),
        b.paid("LV-3", at),
        b.placed("LV-4", "oB", at),
        b.paid("LV-4", at),
        b.placed("LV-5", "oB", at),
        b.paid("LV-5", at),
        b.placed("LV-6", "oB", local(10, 9)),  # placed after the range
        now=at,
    )
    raised = local(10, 2, 10)
    await events(
        b.exception("EX-STOCK", raised, local(10, 4), order_nos=["LV-3"], kind="STOCKOUT"),
        b.exception("EX-DELAY", raised, local(10, 2, 12), order_nos=["LV-4"], kind="DELAY"),
        b.exception("EX-OPEN", raised, local(10, 9), order_nos=["LV-5"], kind="DELAY"),
        now=raised,
    )
    await resolve_exception(buyer.id, "LV-3", "EX-STOCK", "WAIT", now=raised + timedelta(minutes=30))
    await apply_exception_defaults(now=local(10, 2, 12))  # EX-DELAY's deadline: 120 minutes after
    for order_no, rating in (("LV-1", 10), ("LV-2", 3)):
        await confirm_receipt(buyer.id, order_no, rating, now=local(10, 3, 20))


async def test_delivery_fill_rate_exception_response_and_nps(db: TortoiseContext) -> None:
    # given
    await given_orders()

    # when
    report = await kpi_report(RANGE, TEMPLATES, now=NOW)

    # then LV-1 missed its first ETA, LV-2 met its expected delivery
    assert (report.on_time_delivery.numerator, report.on_time_delivery.denominator) == (1, 2)
    # five orders placed in the range, one with a stock-out
    assert (report.fill_rate.numerator, report.fill_rate.denominator) == (4, 5)
    response = report.exception_response
    assert (response.raised, response.decided_by_user, response.decided_by_default, response.open) == (
        3,
        1,
        1,
        1,
    )
    assert response.median_minutes == pytest.approx(30) and response.p90_minutes == pytest.approx(120)
    assert (report.nps.responses, report.nps.promoters, report.nps.detractors) == (2, 1, 1)
    assert report.nps.score == pytest.approx(0.0)


async def test_nps_buckets_ratings_into_promoters_passives_and_detractors(db: TortoiseContext) -> None:
    # given ratings 10, 9, 7, 3 confirmed in the range
    buyer = await user("oN")
    for i, rating in enumerate((10, 9, 7, 3)):
        no = f"LV-N{i}"
        await events(
            b.placed(no, "oN", local(10, 1)),
            b.paid(no, local(10, 1)),
            b.node(no, "DELIVERED", local(10, 1, 18)),
        )
        await confirm_receipt(buyer.id, no, rating, now=local(10, 2))

    # when
    nps = (await kpi_report(RANGE, TEMPLATES, now=NOW)).nps

    # then
    assert (nps.responses, nps.promoters, nps.passives, nps.detractors) == (4, 2, 1, 1)
    assert nps.score == pytest.approx(25.0)


def test_a_range_ending_before_it_starts_or_longer_than_366_days_is_refused() -> None:
    with pytest.raises(PeriodError, match="before it starts"):
        period(date(2026, 10, 3), date(2026, 10, 1), SHANGHAI)
    with pytest.raises(PeriodError, match="367 days"):
        period(date(2026, 1, 1), date(2027, 1, 2), SHANGHAI)
    assert len(period(date(2026, 1, 1), date(2027, 1, 1), SHANGHAI).days()) == 366


async def test_the_report_costs_the_same_statements_for_ten_notices_as_for_one(db: TortoiseContext) -> None:
    # given one notice, then ten more on other days and topics
    who = await user("oQ")
    await notice(who, Topic.NODE_OUTBOUND, local(10, 1), opened=local(10, 1, 13))
    with count_queries() as few:
        await kpi_report(RANGE, TEMPLATES, now=NOW)
    for i in range(10):
        topic = (Topic.NODE_DELIVERED, Topic.ORDER_PAID)[i % 2]
        await notice(who, topic, local(10, 1 + i % 3, 9 + i), opened=local(10, 3, 22) if i % 3 else None)

    # when
    with count_queries() as many:
        await kpi_report(RANGE, TEMPLATES, now=NOW)

    # then every figure is aggregated by the database: no statement per notice, day or topic
    assert len(many) == len(few) <= 12
