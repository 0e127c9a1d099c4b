"""The send job of a notice: its id ``send:<notice id>`` and how it is queued.

Planning (bff/notices/planner.py) queues the job of each notice it decides to send or defer; the
sweeper (bff/notices/sweeper.py) queues it again for notices whose job was lost or failed. The job
id makes both safe: a notice never has two send jobs (bff/runtime/jobs.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from arq.connections import ArqRedis

from bff import constants
from bff.runtime.jobs import UniqueJob, enqueue_unique, enqueue_unique_many

__all__ = ["enqueue_send", "enqueue_sends", "send_job_id"]


def send_job_id(notice_id: int) -> str:
    return f"{constants.SEND_JOB_ID_PREFIX}{notice_id}"


async def enqueue_send(
    redis: ArqRedis, notice_id: int, *, defer_until: datetime | None = None, clear_finished: bool = False
) -> bool:
    """Queue the send job of a notice; False when that job already exists (queued, deferred,
    retrying or running), which is what makes re-enqueueing safe.

    A ``defer_until`` already past (planning caught up late) queues the job for now.
    ``clear_finished`` (the sweeper): a send job that failed in arq leaves a result that blocks its
    id for the worker's ``keep_result``; the notice is still unsettled, so that result is dropped.
    """
    if defer_until is not None and defer_until <= datetime.now(UTC):
        defer_until = None
    return await enqueue_unique(
        redis,
        constants.JOB_SEND_NOTICE,
        notice_id,
        job_id=send_job_id(notice_id),
        defer_until=defer_until,
        clear_finished=clear_finished,
    )


async def enqueue_sends(
    redis: ArqRedis, sends: Iterable[tuple[int, datetime | None]], *, clear_finished: bool = False
) -> int:
    """Queue the send jobs of many notices (``(notice id, defer until)``) in one Redis round trip,
    each exactly as ``enqueue_send`` would; returns how many were new."""
    now = datetime.now(UTC)
    jobs = [
        UniqueJob(
            send_job_id(notice_id),
            (notice_id,),
            defer_until if defer_until is not None and defer_until > now else None,
        )
        for notice_id, defer_until in sends
    ]
    return await enqueue_unique_many(redis, constants.JOB_SEND_NOTICE, jobs, clear_finished=clear_finished)
