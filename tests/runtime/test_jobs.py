"""Unique job enqueueing (bff/runtime/jobs.py): one job per id, a failed job's leftover cleared on demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from arq.worker import FailedJobs, func

from bff.runtime.jobs import enqueue_unique
from tests.conftest import WorkerFactory

JOB = "unique_job_under_test"


async def test_a_second_enqueue_of_a_waiting_job_id_is_refused(arq_pool: ArqRedis) -> None:
    # given a job queued under an id
    assert await enqueue_unique(arq_pool, JOB, 1, job_id="unique:1")

    # when it is queued again, even asking to clear finished jobs
    again = await enqueue_unique(arq_pool, JOB, 1, job_id="unique:1", clear_finished=True)

    # then nothing new is queued and the waiting job is untouched
    assert again is False
    assert await Job("unique:1", arq_pool).status() is JobStatus.queued
    assert await arq_pool.zcard("arq:queue") == 1


async def test_a_deferred_job_waits_until_its_time(arq_pool: ArqRedis) -> None:
    # when a job is queued for later
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert await enqueue_unique(arq_pool, JOB, 2, job_id="unique:2", defer_until=later)

    # then it is deferred, not queued for now
    assert await Job("unique:2", arq_pool).status() is JobStatus.deferred


async def test_a_failed_jobs_leftover_result_blocks_the_id_unless_cleared(
    arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    # given a job that failed and left arq's result behind
    async def explode(ctx: dict[str, Any], value: int) -> None:
        raise RuntimeError("the job died")

    assert await enqueue_unique(arq_pool, JOB, 3, job_id="unique:3")
    failing = await worker(functions=[func(explode, name=JOB)], keep_result=3600)  # type: ignore[arg-type]
    with pytest.raises(FailedJobs):
        await failing.run_check()

    # when it is queued again without and then with clear_finished
    plain = await enqueue_unique(arq_pool, JOB, 3, job_id="unique:3")
    cleared = await enqueue_unique(arq_pool, JOB, 3, job_id="unique:3", clear_finished=True)

    # then only the clearing enqueue gets the job back
    assert plain is False
    assert cleared is True
    assert await Job("unique:3", arq_pool).status() is JobStatus.queued
