"""Jobs that meet a restarting PostgreSQL or Redis run again later instead of failing for good."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

import asyncpg
from arq import Retry
from arq.typing import WorkerCoroutine
from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError
from tortoise.exceptions import DBConnectionError

from bff import constants

log = logging.getLogger("lvyue.worker")

# Raised (or found among the causes) when PostgreSQL or Redis is not there: connection refused,
# reset, "the database system is shutting down", "terminating connection due to administrator
# command", a pool that cannot reconnect yet. InternalClientError ("another operation is in
# progress") is what a pooled connection answers when the server dropped it mid-query (seen in
# tests/e2e/test_engine_restarts.py).
ENGINE_AWAY_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.AdminShutdownError,
    asyncpg.CannotConnectNowError,
    DBConnectionError,
    RedisConnectionError,
    RedisTimeoutError,
)


def engine_away(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised from) says an engine is away."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ENGINE_AWAY_ERRORS):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def retry_while_engine_away(job: WorkerCoroutine) -> WorkerCoroutine:
    """Run ``job`` again later, instead of failing it, when the database or Redis is away.

    Without this a planning job that meets a restarting PostgreSQL fails for good and its event's
    notices are never planned. Jobs are idempotent (dedupe keys, conditional updates), so a retry
    after a partial run finishes what the failed run began.
    """

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await job(ctx, *args, **kwargs)
        except Retry:
            raise
        except Exception as exc:
            if not engine_away(exc):
                raise
            tries = int(ctx.get("job_try") or 1)
            defer = min(
                constants.ENGINE_AWAY_RETRY_CAP_S, constants.ENGINE_AWAY_RETRY_BASE_S * 2 ** (tries - 1)
            )
            log.warning(
                "%s: %s is away (%s); try %d again in %.0f s",
                job.__qualname__,
                "Redis" if isinstance(exc, (RedisConnectionError, RedisTimeoutError)) else "the database",
                type(exc).__name__,
                tries,
                defer,
            )
            raise Retry(defer=defer) from exc

    run.retries_while_engine_away = True  # type: ignore[attr-defined]  # read by the tests
    return run  # type: ignore[return-value]


class OutageTolerantWorker(Worker):
    """arq's Worker, surviving a Redis restart between polls.

    arq claims a job inside a WATCH pipeline; when Redis goes away there, redis-py raises
    WatchError (or ConnectionError) out of `start_jobs` and the whole worker dies, although
    nothing is lost. Here the failed claim is undone (arq had taken a slot for it), the poll ends,
    and the next poll retries once Redis answers again.
    """

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        for job_id in job_ids:
            try:
                await super().start_jobs([job_id])
            except (WatchError, RedisConnectionError, RedisTimeoutError, OSError) as exc:
                # Any Redis error escaping arq here comes after it took the slot and before it
                # started the task, so the slot is released exactly once.
                self._release_sem_dec_counter_on_complete()
                log.warning("claiming a job failed, Redis is away (%s); polling again", type(exc).__name__)
                await asyncio.sleep(constants.ENGINE_AWAY_RETRY_BASE_S)
                return
