"""The sweeper decides notices a failed planning job left PLANNED (bff.notices.planner.decide_leftovers),
and a late planning run deciding the same rows at the same time queues nothing twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus

from bff import constants
from bff.catalog.templates_file import load_templates_file
from bff.catalog.topics import Topic
from bff.consent.preferences import PreferencesUpdate, update_preferences
from bff.models import Notice, NoticeStatus, User
from bff.notices.jobs import send_job_id
from bff.notices.planner import NoticeContext, NoticeDraft, plan_drafts
from bff.notices.sweeper import sweep
from bff.runtime.settings import Settings
from tests.notices.send_fixtures import ORDER_PROGRESS, make_notice, make_user, progress_values, utcnow

pytestmark = pytest.mark.usefixtures("db")

LEFT_FOR = timedelta(seconds=constants.SWEEP_PLANNED_AFTER_S + 60)


async def user_without_quiet_hours(units: int) -> User:
    """A user with units who may be told anything at any hour (the suite runs at any time)."""
    user = await make_user(units={ORDER_PROGRESS: units})
    await update_preferences(user.id, PreferencesUpdate(quiet_hours=None))
    return user


async def left_planned(user: User, age: timedelta) -> Notice:
    notice = await make_notice(user, status=NoticeStatus.PLANNED)
    await Notice.filter(id=notice.id).update(created_at=utcnow() - age)
    return notice


async def test_a_notice_a_failed_planning_job_left_planned_is_decided_and_queued(arq_pool: ArqRedis) -> None:
    # given a notice a planning job inserted and never decided, and one a running job just inserted
    user = await user_without_quiet_hours(units=2)
    stranded = await left_planned(user, LEFT_FOR)
    fresh = await left_planned(user, timedelta(seconds=5))

    # when the sweeper runs
    report = await sweep(arq_pool)

    # then the stranded notice is decided (queued, with its send job); the fresh one is left to its job
    assert report.planned_decided == 1
    await stranded.refresh_from_db()
    await fresh.refresh_from_db()
    assert stranded.status is NoticeStatus.QUEUED
    assert await Job(send_job_id(stranded.id), arq_pool).status() is JobStatus.queued
    assert fresh.status is NoticeStatus.PLANNED

    # and the next sweep has nothing left to decide, and queues no second job
    again = await sweep(arq_pool)
    assert again.planned_decided == 0
    assert await arq_pool.zcard(constants.DEFAULT_QUEUE) == 1


async def test_a_stranded_notice_is_suppressed_with_the_policys_reason(arq_pool: ArqRedis) -> None:
    # given a stranded notice whose user has no unit of its template
    user = await user_without_quiet_hours(units=0)
    stranded = await left_planned(user, LEFT_FOR)

    # when the sweeper runs
    await sweep(arq_pool)

    # then it is decided like any other: suppressed, no send job
    await stranded.refresh_from_db()
    assert (stranded.status, stranded.reason) == (NoticeStatus.SUPPRESSED, "NO_UNITS")
    assert await arq_pool.zcard(constants.DEFAULT_QUEUE) == 0


@pytest.mark.postgres_only
async def test_a_late_planning_retry_and_the_sweeper_racing_queue_each_notice_once(
    arq_pool: ArqRedis, settings: Settings
) -> None:
    # given 60 notices of 12 users left PLANNED by a planning job that failed
    drafts: list[NoticeDraft] = []
    for _ in range(12):
        user = await user_without_quiet_hours(units=10)
        for _ in range(5):
            notice = await left_planned(user, LEFT_FOR)
            drafts.append(
                NoticeDraft(
                    user_id=user.id,
                    topic=Topic.NODE_PRODUCTION_STARTED,
                    dedupe_key=notice.dedupe_key,
                    occurred_at=notice.occurred_at,
                    expires_at=None,
                    values=progress_values(str(notice.order_no)),
                    order_no=notice.order_no,
                )
            )
    ctx = NoticeContext(templates=load_templates_file(), zone=settings.zone, arq=arq_pool, chunk=7)

    # when the job's retry and the sweeper decide them at the same time, each on its connections
    retried, _ = await asyncio.gather(plan_drafts(drafts, ctx, now=utcnow()), sweep(arq_pool, limit=60))

    # then nothing was inserted again, every notice is queued once, with one send job each
    assert retried.created == 0
    assert await Notice.all().count() == 60
    assert await Notice.filter(status=NoticeStatus.QUEUED).count() == 60
    assert await arq_pool.zcard(constants.DEFAULT_QUEUE) == 60
