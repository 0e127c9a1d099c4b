"""Unique job enqueueing (bff/runtime/jobs.py): one job per id, a failed job's leftover cleared on demand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from arq.worker import FailedJobs, func

from bff.runtime.jobs import UniqueJob, enqueue_unique, enqueue_unique_many
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


async def test_many_jobs_go_in_one_call_and_an_existing_id_is_left_alone(
    arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    # given a job already queued under one of the ids
    assert await enqueue_unique(arq_pool, JOB, 10, job_id="unique:10")
    later = datetime.now(UTC) + timedelta(minutes=10)

    # when a batch is queued: that id again (other arguments), a new one now and a new one for later
    added = await enqueue_unique_many(
        arq_pool,
        JOB,
        [
            UniqueJob("unique:10", (99,)),
            UniqueJob("unique:11", (11,)),
            UniqueJob("unique:12", (12,), defer_until=later),
        ],
    )

    # then only the two new ones are added, the later one deferred
    assert added == 2
    assert await Job("unique:11", arq_pool).status() is JobStatus.queued
    assert await Job("unique:12", arq_pool).status() is JobStatus.deferred
    # and a worker runs the due jobs with their own arguments (the first job kept its own)
    seen: list[int] = []

    async def record(ctx: dict[str, Any], value: int) -> None:
        seen.append(value)

    runner = await worker(functions=[func(record, name=JOB)], max_burst_jobs=2)  # type: ignore[arg-type]
    await runner.main()
    assert sorted(seen) == [10, 11]
    # and queuing the batch again adds nothing while the deferred job waits
    assert await enqueue_unique_many(arq_pool, JOB, [UniqueJob("unique:12", (12,))]) == 0
    assert await Job("unique:12", arq_pool).status() is JobStatus.deferred
