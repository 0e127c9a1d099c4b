"""Push rows left RECEIVED after their job was cancelled get their job again (the cron job
``requeue_push_events``, bff.wechat.push.requeue_stuck_push_events), once, and only those."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from arq import func
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus

import tasks.push
from bff import constants
from bff.models import PushEvent, PushEventStatus, User
from bff.wechat import events
from bff.wechat.push import enqueue_push_jobs, push_job_id, requeue_stuck_push_events
from tasks.push import handle_push_event
from tasks.worker import WorkerSettings
from tests.conftest import WorkerFactory

pytestmark = pytest.mark.usefixtures("db")

TEMPLATE = "tmpl-order-progress-0001"
LATER = timedelta(seconds=constants.PUSH_REQUEUE_AFTER_S + 60)


async def stored_row(n: int) -> PushEvent:
    return await PushEvent.create(
        dedupe_key=f"key-{n}",
        event="subscribe_msg_popup_event",
        openid=f"oREQUEUE{n:019d}",
        template_id=TEMPLATE,
        create_time=1767225600,
        details={"status": "accept", "popup_scene": "0"},
        body="<xml/>",
        body_format="xml",
    )


async def job_status(arq: ArqRedis, row: PushEvent) -> JobStatus:
    return await Job(push_job_id(row.id), arq).status()


async def test_a_push_whose_job_timed_out_is_queued_again_and_handled(
    arq_pool: ArqRedis, worker: WorkerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a stored popup push whose job arq cancelled (the handler hung past the job timeout);
    # like production, the worker keeps a failed job's result for an hour
    async def hang(event: events.PushEvent, user: User) -> None:
        await asyncio.sleep(5)

    monkeypatch.setattr(tasks.push, "route_push_event", hang)
    row = await stored_row(1)
    await enqueue_push_jobs(arq_pool, [row.id])
    hung = await worker(
        functions=[func(handle_push_event, name=constants.JOB_HANDLE_PUSH_EVENT, timeout=0.2)],
        keep_result=3600,
    )
    await hung.async_run()
    assert hung.jobs_failed == 1
    assert (await PushEvent.get(id=row.id)).status is PushEventStatus.RECEIVED
    assert await enqueue_push_jobs(arq_pool, [row.id]) == 0  # arq refuses the id: the result blocks it

    # when the cron runs once the row is old enough
    queued = await requeue_stuck_push_events(arq_pool, now=datetime.now(UTC) + LATER)

    # then its job is queued again, and a worker with a working handler handles the row
    assert queued == 1
    assert await job_status(arq_pool, row) is JobStatus.queued
    handled: list[events.PushEvent] = []

    async def record(event: events.PushEvent, user: User) -> None:
        handled.append(event)

    monkeypatch.setattr(tasks.push, "route_push_event", record)
    assert await (await worker(functions=[handle_push_event])).run_check() == 1
    assert (await PushEvent.get(id=row.id)).status is PushEventStatus.HANDLED
    assert len(handled) == 1


async def test_requeueing_is_idempotent_and_leaves_young_old_and_settled_rows_alone(
    arq_pool: ArqRedis,
) -> None:
    # given a stuck row, a row just received (its job waiting), a row stuck for longer than the
    # max age, and a handled row
    now = datetime.now(UTC)
    stuck = await stored_row(1)
    young = await stored_row(2)
    await enqueue_push_jobs(arq_pool, [young.id])
    ancient = await stored_row(3)
    handled = await stored_row(4)
    await PushEvent.filter(id__in=[stuck.id, handled.id]).update(received_at=now - LATER)
    await PushEvent.filter(id=ancient.id).update(
        received_at=now - timedelta(seconds=constants.PUSH_REQUEUE_MAX_AGE_S + 60)
    )
    await PushEvent.filter(id=handled.id).update(status=PushEventStatus.HANDLED)

    # when the cron runs twice
    first = await requeue_stuck_push_events(arq_pool, now=now)
    second = await requeue_stuck_push_events(arq_pool, now=now)

    # then only the stuck row got a job, once
    assert (first, second) == (1, 0)
    jobs = await arq_pool.queued_jobs()
    assert sorted(job.job_id for job in jobs) == sorted([push_job_id(stuck.id), push_job_id(young.id)])
    assert await job_status(arq_pool, ancient) is JobStatus.not_found
    assert await job_status(arq_pool, handled) is JobStatus.not_found


def test_the_worker_runs_the_requeue_cron() -> None:
    names = {job.name for job in WorkerSettings.cron_jobs}
    assert constants.JOB_REQUEUE_PUSH_EVENTS in names
