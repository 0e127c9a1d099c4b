"""Unique arq jobs: one job per id, queued again only once the previous one is gone.

The send jobs of notices (``send:<notice id>``), outbox commands (``command:<uuid>``) and shipping
uploads (``shipping:<order id>``) all work this way: their rows are the truth, a dispatcher or
sweeper re-queues whatever lost its job, and the job id makes re-queueing a no-op while the job
is queued, deferred, retrying or running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms

__all__ = ["UniqueJob", "enqueue_unique", "enqueue_unique_many"]


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


@dataclass(frozen=True)
class UniqueJob:
    """One job of ``enqueue_unique_many``: ``function(*args)`` as ``job_id``, at ``defer_until``."""

    job_id: str
    args: tuple[Any, ...]
    defer_until: datetime | None = None


# KEYS: the queue, then each job's key and result key; ARGV: "1" to clear finished jobs' results
# (else "0"), then per job its id, score, expiry (ms) and payload. A job whose key or result exists
# is left alone, exactly as arq's enqueue_job does.
_ENQUEUE_MANY = """
local added = 0
for i = 2, #ARGV, 4 do
  local n = (i - 2) / 4
  local job_key, result_key = KEYS[2 + 2 * n], KEYS[3 + 2 * n]
  if ARGV[1] == '1' and redis.call('EXISTS', job_key) == 0 then
    redis.call('DEL', result_key)
  end
  if redis.call('EXISTS', job_key, result_key) == 0 then
    redis.call('PSETEX', job_key, ARGV[i + 2], ARGV[i + 3])
    redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
    added = added + 1
  end
end
return added
"""


async def enqueue_unique_many(
    redis: ArqRedis, function: str, jobs: Sequence[UniqueJob], *, clear_finished: bool = False
) -> int:
    """Queue many unique jobs in one round trip (one atomic script); returns how many were new.

    Each job is queued as ``enqueue_unique`` would queue it, with arq's own payload, score and
    expiry: a job id that exists (queued, deferred, running, or with a result kept) is skipped;
    ``clear_finished`` first drops the result of a job that no longer exists. The planner hands
    over a chunk's send jobs this way, and the sweeper re-queues its batch.
    """
    if not jobs:
        return 0
    now_ms = timestamp_ms()
    keys: list[str] = [redis.default_queue_name]
    args: list[Any] = ["1" if clear_finished else "0"]
    for job in jobs:
        score = to_unix_ms(job.defer_until) if job.defer_until is not None else now_ms
        expires_ms = score - now_ms + redis.expires_extra_ms
        payload = serialize_job(function, job.args, {}, None, now_ms, serializer=redis.job_serializer)
        keys += [job_key_prefix + job.job_id, result_key_prefix + job.job_id]
        args += [job.job_id, score, expires_ms, payload]
    script = redis.register_script(_ENQUEUE_MANY)
    return int(await script(keys=keys, args=args))
