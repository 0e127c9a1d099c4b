"""The worker's jobs wait out a restarting PostgreSQL or Redis instead of failing for good."""

from __future__ import annotations

import socket
from typing import Any

import asyncpg
import pytest
from arq import Retry
from arq.connections import ArqRedis
from arq.worker import Function
from tortoise.exceptions import OperationalError

from bff import constants
from tasks.engines import OutageTolerantWorker, retry_while_engine_away
from tasks.worker import FUNCTIONS


def failing(exc: BaseException) -> Any:
    async def job(ctx: dict[str, Any], *args: Any) -> str:
        raise exc

    return job


async def test_a_job_meeting_a_refused_connection_runs_again_later_with_a_growing_delay() -> None:
    # given a job whose database connection is refused, on its third try
    job = retry_while_engine_away(failing(ConnectionRefusedError(111, "Connect call failed")))

    # when it runs, then arq is asked to run it again 4 s later (1, 2, 4, ... capped)
    with pytest.raises(Retry) as retry:
        await job({"job_try": 3}, 42)
    assert retry.value.defer_score == 4000

    # and a late try waits no longer than the cap
    with pytest.raises(Retry) as late:
        await job({"job_try": 20}, 42)
    assert late.value.defer_score == int(constants.ENGINE_AWAY_RETRY_CAP_S * 1000)


async def test_a_shutting_down_database_wrapped_by_the_orm_is_recognised() -> None:
    # given the ORM's error raised from asyncpg's "the database system is shutting down"
    async def job(ctx: dict[str, Any]) -> None:
        try:
            raise asyncpg.CannotConnectNowError("the database system is shutting down")
        except asyncpg.CannotConnectNowError as exc:
            raise OperationalError(exc) from exc

    # when / then
    with pytest.raises(Retry):
        await retry_while_engine_away(job)({"job_try": 1})


async def test_a_job_failing_for_any_other_reason_still_fails() -> None:
    # given a bug, not an outage
    job = retry_while_engine_away(failing(ValueError("no such event")))

    # when / then the error reaches arq unchanged (the job fails, it is not retried)
    with pytest.raises(ValueError, match="no such event"):
        await job({"job_try": 1})


def test_the_planning_push_and_send_jobs_are_the_ones_that_wait() -> None:
    waiting = {
        f.name: f.max_tries
        for f in FUNCTIONS
        if isinstance(f, Function) and getattr(f.coroutine, "retries_while_engine_away", False)
    }
    assert waiting == {
        constants.JOB_PLAN_EVENT: constants.ENGINE_AWAY_MAX_TRIES,
        constants.JOB_HANDLE_PUSH_EVENT: constants.ENGINE_AWAY_MAX_TRIES,
        constants.JOB_SEND_NOTICE: constants.SEND_JOB_MAX_TRIES,
    }


async def test_a_worker_whose_redis_goes_away_while_claiming_a_job_keeps_running() -> None:
    # given a worker whose Redis stopped answering (nothing listens on its port)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    pool = ArqRedis.from_url(f"redis://127.0.0.1:{dead_port}/0")
    worker = OutageTolerantWorker(
        functions=FUNCTIONS, redis_pool=pool, handle_signals=False, max_jobs=2, poll_delay=0
    )
    free_slots = worker.sem._value
    try:
        # when it tries to claim jobs it read from the queue just before
        await worker.start_jobs([b"send:1", b"send:2"])

        # then it does not die, and the slot the failed claim took is free again
        assert worker.job_counter == 0
        assert worker.sem._value == free_slots
    finally:
        await pool.aclose()
