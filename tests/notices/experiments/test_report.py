"""The experiment report (bff/notices/experiments/report.py): counts, repurchase windows, the test,
the winner."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tortoise.context import TortoiseContext

from bff.catalog.templates_file import load_templates_file
from bff.catalog.topics import Topic
from bff.models import (
    ExperimentAssignment,
    Notice,
    NoticeOpen,
    NoticeStatus,
    Order,
    OrderItem,
    OrderStatus,
    User,
)
from bff.notices.experiments.definitions import loads_experiments_file
from bff.notices.experiments.report import (
    Repurchase,
    VariantResult,
    WinnerRule,
    decide_winner,
    experiment_report,
    two_proportion_test,
)
from bff.notices.reasons import Reason

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 10, 1, 20, 0, tzinfo=SHANGHAI)
NOW = T0 + timedelta(days=40)
EXPERIMENTS = loads_experiments_file(
    """
version = 1
[[experiment]]
key = "tip-1"
topic = "REPLENISHMENT"
[[experiment.variant]]
name = "holdout"
holdout = true
weight = 1
[[experiment.variant]]
name = "control"
weight = 1
""",
    load_templates_file(),
)


# ------------------------------------------------------------------------------ the statistics


def test_the_two_proportion_test_matches_hand_computed_values() -> None:
    # 120/1000 against 100/1000: pooled p = 0.11, se = √(0.11·0.89·(2/1000)) = 0.013993,
    # z = 0.02 / 0.013993 = 1.4293, two-sided p = erfc(1.4293/√2) = 0.1529
    test = two_proportion_test(120, 1000, 100, 1000)
    assert test is not None
    assert test.lift == pytest.approx(0.02)
    assert test.z == pytest.approx(1.4293, abs=1e-4)
    assert test.p_value == pytest.approx(0.1529, abs=1e-4)
    # nothing to test without data or without variance
    assert two_proportion_test(0, 0, 1, 10) is None
    assert two_proportion_test(0, 10, 0, 10) is None


def arm(name: str, matured: int, repurchased: int, holdout: tuple[int, int] | None) -> VariantResult:
    lift = two_proportion_test(repurchased, matured, *holdout) if holdout is not None else None
    windows = (Repurchase(7, matured, repurchased, lift), Repurchase(30, matured, repurchased, lift))
    return VariantResult(name, holdout is None, matured, matured, 0, windows)


def test_the_winner_is_the_largest_significant_lift_with_enough_sample() -> None:
    hold = (200, 1000)
    variants = (arm("holdout", 1000, 200, None), arm("a", 1000, 260, hold), arm("b", 1000, 245, hold))
    winner, why = decide_winner(variants)
    assert winner == "a"
    assert "+6.00%" in why


def test_a_lift_significant_alone_is_not_once_several_variants_share_the_holdout() -> None:
    # given a variant at p = 0.040 against the holdout (238/1000 vs 200/1000)
    hold = (200, 1000)
    alone = (arm("holdout", 1000, 200, None), arm("a", 1000, 238, hold))
    shared = (*alone, arm("b", 1000, 200, hold))

    # then it wins alone (p < 0.05) but not when two variants split α (p ≥ 0.025)
    assert decide_winner(alone)[0] == "a"
    assert decide_winner(shared)[0] is None


def test_no_winner_before_the_minimum_sample() -> None:
    hold = (20, 100)
    variants = (arm("holdout", 100, 20, None), arm("a", 100, 60, hold))
    winner, why = decide_winner(variants, WinnerRule(min_sample=200))
    assert winner is None
    assert "fewer than 200" in why


# --------------------------------------------------------------------------- from the database


async def exposure(
    user: User, variant: str, n: int, *, sent: datetime | None, reason: str | None = None
) -> Notice:
    status = NoticeStatus.SENT if sent is not None else NoticeStatus.SUPPRESSED
    notice = await Notice.create(
        user_id=user.id,
        topic=Topic.REPLENISHMENT,
        template_id="tmpl-replenishment-0001",
        dedupe_key=f"user:{user.id}:SKU-OAT:{n}",
        priority=20,
        status=status,
        reason=reason,
        occurred_at=T0,
        sent_at=sent,
    )
    await ExperimentAssignment.create(
        experiment="tip-1",
        file_version=1,
        variant=variant,
        holdout=variant == "holdout",
        user_id=user.id,
        notice_id=notice.id,
        topic="REPLENISHMENT",
        sku_code="SKU-OAT",
        assigned_at=T0,
    )
    return notice


async def bought(user: User, sku: str, at: datetime) -> None:
    order = await Order.create(
        order_no=f"SO{user.id}{int(at.timestamp())}{sku}",
        user_id=user.id,
        status=OrderStatus.DELIVERED,
        placed_at=at,
        total_amount=Decimal("10.00"),
        region="浙江",
        warehouse="杭州仓",
    )
    await OrderItem.create(
        order=order, position=0, sku_code=sku, name=sku, quantity=1, unit_price=Decimal("10.00")
    )


async def test_the_report_counts_sends_opens_and_repurchases_and_tests_the_lift(db: TortoiseContext) -> None:
    # given ten control users sent a reminder at T0, four of whom opened it; three bought the SKU
    # within 7 days, two more within 30; one bought another SKU, one bought only before the send
    users = [await User.create(openid=f"oREP{n:024d}") for n in range(26)]
    control, holdout, late, unsent = users[:10], users[10:20], users[20], users[21:23]
    for n, user in enumerate(control):
        notice = await exposure(user, "control", n, sent=T0)
        if n < 4:
            await NoticeOpen.create(notice=notice, user_id=user.id, opened_at=T0, local_hour=20)
        if n < 3:
            await bought(user, "SKU-OAT", T0 + timedelta(days=2))
        elif n < 5:
            await bought(user, "SKU-OAT", T0 + timedelta(days=20))
        elif n == 5:
            await bought(user, "SKU-TEA", T0 + timedelta(days=2))
        elif n == 6:
            await bought(user, "SKU-OAT", T0 - timedelta(days=1))
    # and ten holdout users withheld at T0: one bought within 7 days, one more within 30
    for n, user in enumerate(holdout):
        await exposure(user, "holdout", n, sent=None, reason=Reason.EXPERIMENT_HOLDOUT)
        if n == 0:
            await bought(user, "SKU-OAT", T0 + timedelta(days=1))
        if n == 1:
            await bought(user, "SKU-OAT", T0 + timedelta(days=29))
    # and a control send three days ago (its windows have not passed), two control notices never sent
    await exposure(late, "control", 0, sent=NOW - timedelta(days=3))
    for user in unsent:
        await exposure(user, "control", 0, sent=None, reason=Reason.NO_UNITS)

    # when
    report = await experiment_report("tip-1", EXPERIMENTS, now=NOW)

    # then per variant: assigned, sends, opens, and the repurchase windows over matured sends
    by_name = {v.name: v for v in report.variants}
    c, h = by_name["control"], by_name["holdout"]
    assert (c.assigned, c.sends, c.opens) == (13, 11, 4)
    assert c.open_rate == pytest.approx(4 / 11)
    assert (h.assigned, h.sends, h.opens, h.open_rate) == (10, 10, 0, None)
    assert [(r.window_days, r.matured, r.repurchased) for r in c.repurchase] == [(7, 10, 3), (30, 10, 5)]
    assert [(r.window_days, r.matured, r.repurchased) for r in h.repurchase] == [(7, 10, 1), (30, 10, 2)]
    # and the lift over the holdout with the test, as computed by hand:
    # 30 days: 5/10 vs 2/10, pooled 0.35, se = √(0.35·0.65·0.2) = 0.21331, z = 1.4064, p = 0.1596
    lift30 = c.window(30).lift
    assert lift30 is not None
    assert (lift30.lift, lift30.z, lift30.p_value) == pytest.approx((0.3, 1.4064, 0.1596), abs=1e-4)
    # 7 days: 3/10 vs 1/10, pooled 0.2, se = √(0.2·0.8·0.2) = 0.17889, z = 1.1180, p = 0.2636
    lift7 = c.window(7).lift
    assert lift7 is not None
    assert (lift7.lift, lift7.z, lift7.p_value) == pytest.approx((0.2, 1.1180, 0.2636), abs=1e-4)
    assert h.window(30).lift is None
    # and no winner: far below the minimum sample
    assert report.winner is None


async def test_an_unknown_experiment_is_a_clear_error(db: TortoiseContext) -> None:
    with pytest.raises(ValueError, match="no experiment 'nope'"):
        await experiment_report("nope", EXPERIMENTS, now=NOW)
