"""Unique arq jobs: one job per id, queued again only once the previous one is gone.

The send jobs of notices (``send:<notice id>``), outbox commands (``command:<uuid>``) and shipping
uploads (``shipping:<order id>``) all work this way: their rows are the truth, a dispatcher or
sweeper re-queues whatever lost its job, and the job id makes re-queueing a no-op while the job
is queued, deferred, retrying or running.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix

__all__ = ["enqueue_unique"]


async def enqueue_unique(
    redis: ArqRedis,
    function: str,
    *args: Any,
    job_id: str,
    defer_until: datetime | None = None,
    clear_finished: bool = False,
) -> bool:
    """Queue ``function(*args)`` as job ``job_id``; False when a job of that id already exists.

    ``clear_finished`` (dispatchers, sweepers): a job that *failed* in arq (its timeout, its tries
    used up, an unexpected error) leaves a result key for the worker's ``keep_result``, and arq
    refuses the job id until that expires. The row it worked on is still due, so the stale result
    is dropped first; a job that still exists is never touched.
    """
    if clear_finished and not await redis.exists(job_key_prefix + job_id):
        await redis.delete(result_key_prefix + job_id)
    job = await redis.enqueue_job(function, *args, _job_id=job_id, _defer_until=defer_until)
    return job is not None
