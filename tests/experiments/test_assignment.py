"""Sticky assignment, holdout suppression and variant wording (bff/experiments, planner hook)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.catalog.templates_file import load_templates_file
from bff.catalog.templates_render import render_data, render_page
from bff.catalog.topics import Topic
from bff.consent import ledger
from bff.experiments.assignment import assign_variant, variant_values, with_variant
from bff.experiments.definitions import loads_experiments_file
from bff.models import ExperimentAssignment, Notice, NoticeStatus, User
from bff.models.consent import ConsentLedger
from bff.notices.planner import NoticeContext, NoticeDraft, decide_notices, plan_drafts
from bff.notices.reasons import Reason
from bff.runtime.settings import Settings
from bff.wechat.keywords import prepare_data
from tests.notices.send_fixtures import FakeClient, make_notice, make_sender, make_user
from tests.querycount import count_queries

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
REPLENISHMENT = "tmpl-replenishment-0001"
TEMPLATES = load_templates_file()
EXPERIMENTS_TEXT = """
version = 7

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

[[experiment.variant]]
name = "urgent"
weight = 1
send_hour = "now"
page = "pages/lifecycle/index?tab=replenishment&v=urgent&n={open_token}"
[experiment.variant.data]
thing3 = "库存告急，今天下单明天到"
"""
EXPERIMENTS = loads_experiments_file(EXPERIMENTS_TEXT, TEMPLATES)
EXPERIMENT = EXPERIMENTS.by_key("tip-1")
assert EXPERIMENT is not None


def test_the_same_user_always_gets_the_same_variant_and_the_split_follows_the_weights() -> None:
    # when 9,000 users are assigned twice
    first = [assign_variant(EXPERIMENT, user_id).name for user_id in range(1, 9001)]
    again = [assign_variant(EXPERIMENT, user_id).name for user_id in range(1, 9001)]

    # then each user keeps their variant, and each of the three equal weights gets about a third
    assert first == again
    counts = Counter(first)
    assert set(counts) == {"holdout", "control", "urgent"}
    assert all(abs(n - 3000) < 200 for n in counts.values()), counts  # ±4.4 standard deviations


def test_assignment_depends_on_the_experiment_not_only_on_the_user() -> None:
    other = loads_experiments_file(
        EXPERIMENTS_TEXT.replace('key = "tip-1"', 'key = "tip-2"'), TEMPLATES
    ).by_key("tip-2")
    assert other is not None
    same = sum(assign_variant(EXPERIMENT, u).name == assign_variant(other, u).name for u in range(1, 3001))
    assert 800 < same < 1200  # independent: about a third agree


def test_a_variants_wording_and_page_are_what_the_send_renders_and_pass_wechats_rules() -> None:
    # given the replenishment template and a notice planned in the "urgent" variant
    template = TEMPLATES.by_id(REPLENISHMENT)
    assert template is not None
    urgent = EXPERIMENT.variant("urgent")
    assert urgent is not None
    values = {"sku_name": "有机燕麦片 1kg", "run_out_date": "2026年12月05日", **variant_values(urgent)}
    values["open_token"] = "tok"

    # when the send renders it
    worded = with_variant(template, values)
    data = prepare_data(worded.rules(), render_data(worded, values))

    # then the tip is the variant's, the other keywords the template's, and the page the variant's
    assert data["thing3"] == "库存告急，今天下单明天到"
    assert data["thing1"] == "有机燕麦片 1kg"
    assert render_page(worded, values) == "pages/lifecycle/index?tab=replenishment&v=urgent&n=tok"
    # and a notice without a variant is rendered from the template as it is
    assert with_variant(template, {"sku_name": "x"}) is template


def user_in(variant: str, start: int = 1) -> int:
    """The first user id from ``start`` the hash puts in ``variant``."""
    return next(u for u in range(start, start + 1000) if assign_variant(EXPERIMENT, u).name == variant)


async def test_the_planner_records_the_assignment_and_holds_the_holdout_back_without_a_unit(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given one user in each variant, each with one replenishment unit
    ids = {name: user_in(name) for name in ("holdout", "control", "urgent")}
    for user_id in ids.values():
        await User.create(id=user_id, openid=f"oEXP{user_id:024d}")
        await ledger.credit(user_id, REPLENISHMENT, 1)
    ctx = NoticeContext(templates=TEMPLATES, zone=SHANGHAI, arq=arq_pool, experiments=EXPERIMENTS)

    # when a replenishment reminder is planned for each
    drafts = [
        NoticeDraft(
            user_id,
            Topic.REPLENISHMENT,
            f"user:{user_id}:SKU-OAT:1",
            DAY,
            DAY + timedelta(days=3),
            {"sku_name": "有机燕麦片 1kg", "run_out_date": "2026年12月05日", "sku_code": "SKU-OAT"},
        )
        for user_id in ids.values()
    ]
    await plan_drafts(drafts, ctx, now=DAY.astimezone(UTC))

    # then every notice has its assignment recorded (variant, file version, SKU)
    rows = {r.user_id: r for r in await ExperimentAssignment.all()}
    assert {uid: (r.variant, r.file_version, r.sku_code) for uid, r in rows.items()} == {
        ids["holdout"]: ("holdout", 7, "SKU-OAT"),
        ids["control"]: ("control", 7, "SKU-OAT"),
        ids["urgent"]: ("urgent", 7, "SKU-OAT"),
    }
    notices = {n.user_id: n for n in await Notice.all()}
    # and the holdout's notice is suppressed with its own reason, its unit untouched
    held = notices[ids["holdout"]]
    assert (held.status, held.reason, held.unit_reserved) == (
        NoticeStatus.SUPPRESSED,
        Reason.EXPERIMENT_HOLDOUT,
        False,
    )
    ledger_row = await ConsentLedger.get(user_id=ids["holdout"], template_id=REPLENISHMENT)
    assert ledger_row.granted - ledger_row.spent == 1
    # and the others go on, the urgent variant's notice carrying its wording for the send
    assert notices[ids["control"]].status is NoticeStatus.QUEUED
    assert notices[ids["urgent"]].status is NoticeStatus.QUEUED
    assert notices[ids["urgent"]].values["~data.thing3"] == "库存告急，今天下单明天到"
    assert "~data.thing3" not in notices[ids["control"]].values

    # when the same users get another reminder later (a new cycle)
    again = [
        NoticeDraft(d.user_id, d.topic, d.dedupe_key.replace(":1", ":2"), DAY, d.expires_at, d.values)
        for d in drafts
    ]
    await plan_drafts(again, ctx, now=(DAY + timedelta(hours=1)).astimezone(UTC))

    # then each stays in their variant (sticky)
    by_user: dict[int, set[str]] = {}
    for row in await ExperimentAssignment.all():
        by_user.setdefault(row.user_id, set()).add(row.variant)
    assert by_user == {uid: {name} for name, uid in ids.items()}


async def test_notices_of_topics_without_an_active_experiment_are_not_assigned(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a holdout user and a maintenance notice (the experiment is on replenishment)
    user_id = user_in("holdout")
    await User.create(id=user_id, openid=f"oEXP{user_id:024d}")
    await ledger.credit(user_id, "tmpl-maintenance-0001", 1)
    ctx = NoticeContext(templates=TEMPLATES, zone=SHANGHAI, arq=arq_pool, experiments=EXPERIMENTS)
    values = {"sku_name": "净水器", "note": "更换滤芯", "remind_date": "2026年12月01日"}

    # when it is planned
    draft = NoticeDraft(user_id, Topic.MAINTENANCE, "m:1", DAY, DAY + timedelta(days=3), values)
    await plan_drafts([draft], ctx, now=DAY.astimezone(UTC))

    # then it is queued, outside any experiment
    assert (await Notice.get(dedupe_key="m:1")).status is NoticeStatus.QUEUED
    assert await ExperimentAssignment.all().count() == 0


async def test_the_sender_sends_the_variants_wording_and_page(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings
) -> None:
    # given a queued replenishment notice planned in the "urgent" variant
    user = await make_user(units={REPLENISHMENT: 1})
    urgent = EXPERIMENT.variant("urgent")
    assert urgent is not None
    values = {"sku_name": "有机燕麦片 1kg", "run_out_date": "2026年12月05日", **variant_values(urgent)}
    notice = await make_notice(user, template_id=REPLENISHMENT, topic=Topic.REPLENISHMENT, values=values)
    client = FakeClient()

    # when it is sent
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then WeChat gets the variant's tip and landing page, the rest from the template
    assert outcome.status is NoticeStatus.SENT
    [call] = client.calls
    assert call.data == {
        "thing1": "有机燕麦片 1kg",
        "date2": "2026年12月05日",
        "thing3": "库存告急，今天下单明天到",
    }
    assert call.page is not None and call.page.startswith(
        "pages/lifecycle/index?tab=replenishment&v=urgent&n="
    )


async def test_assigning_a_chunk_costs_the_same_statements_for_few_or_many_notices(
    db: TortoiseContext,
) -> None:
    # given 6 and 60 users (each group with users in every variant) with a replenishment unit each
    ctx = NoticeContext(templates=TEMPLATES, zone=SHANGHAI, experiments=EXPERIMENTS)
    ids: list[int] = []
    for variant in ("holdout", "control", "urgent"):
        start = 1
        for _ in range(22):
            user_id = user_in(variant, start)
            ids.append(user_id)
            start = user_id + 1
    few_ids = [i for n, i in enumerate(ids) if n % 22 < 2]
    many_ids = [i for n, i in enumerate(ids) if n % 22 >= 2]
    users = {i: await User.create(id=i, openid=f"oQC{i:025d}") for i in ids}
    for user in users.values():
        await ledger.credit(user.id, REPLENISHMENT, 1)

    def drafts(group: list[User]) -> list[NoticeDraft]:
        values = {"sku_name": "燕麦", "run_out_date": "2026年12月05日", "sku_code": "SKU-OAT"}
        return [
            NoticeDraft(u.id, Topic.REPLENISHMENT, f"qc:{u.id}", DAY, DAY + timedelta(days=3), values)
            for u in group
        ]

    # when each group is planned in one chunk
    with count_queries() as few:
        await plan_drafts(drafts([users[i] for i in few_ids]), ctx, now=DAY.astimezone(UTC))
    with count_queries() as many:
        await plan_drafts(drafts([users[i] for i in many_ids]), ctx, now=DAY.astimezone(UTC))

    # then ten times the notices cost no more statements, and every notice is assigned, worded
    assert len(many) == len(few)
    assert await ExperimentAssignment.all().count() == 66
    urgent = {r.notice_id for r in await ExperimentAssignment.filter(variant="urgent")}
    for notice in await Notice.filter(id__in=list(urgent)):
        assert notice.values["~data.thing3"] == "库存告急，今天下单明天到"
        assert notice.values["sku_name"] == "燕麦"


@pytest.mark.postgres_only
async def test_two_workers_deciding_the_same_notices_at_once_assign_each_once(db: TortoiseContext) -> None:
    # given 40 planned replenishment reminders in an experiment
    ctx = NoticeContext(templates=TEMPLATES, zone=SHANGHAI, experiments=EXPERIMENTS)
    for n in range(40):
        user = await User.create(openid=f"oRACE{n:023d}")
        await ledger.credit(user.id, REPLENISHMENT, 1)
        await Notice.create(
            user_id=user.id,
            topic=Topic.REPLENISHMENT,
            template_id=REPLENISHMENT,
            dedupe_key=f"race:{user.id}",
            priority=20,
            status=NoticeStatus.PLANNED,
            values={"sku_name": "燕麦", "run_out_date": "2026年12月05日", "sku_code": "SKU-OAT"},
            occurred_at=DAY,
        )

    # when two planning runs (a replayed job) decide them at the same time
    # (read in opposite orders, as two runs may well do)
    first, second = await Notice.all().order_by("id"), await Notice.all().order_by("-id")
    await asyncio.gather(
        decide_notices(first, ctx, now=DAY.astimezone(UTC)),
        decide_notices(second, ctx, now=DAY.astimezone(UTC)),
    )

    # then each notice has exactly one assignment, and its outcome matches its variant
    rows = await ExperimentAssignment.all()
    assert len(rows) == 40 and len({r.notice_id for r in rows}) == 40
    notices = {n.id: n for n in await Notice.all()}
    for row in rows:
        notice = notices[row.notice_id]
        if row.holdout:
            assert (notice.status, notice.reason) == (NoticeStatus.SUPPRESSED, Reason.EXPERIMENT_HOLDOUT)
        else:
            assert notice.status is NoticeStatus.QUEUED
            assert ("~data.thing3" in notice.values) == (row.variant == "urgent")
