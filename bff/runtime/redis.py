"""Redis connections: the URL to use, a fast first check, and arq pools that survive a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bff.runtime.embedded_redis import start_embedded_redis, stop_embedded_redis
from bff.runtime.settings import Settings, SettingsError

# The first contact: a server that does not answer within this is reported, not retried.
CHECK_TIMEOUT_S = 3.0


def resolve_redis_url(settings: Settings) -> str:
    """REDIS_URL when set, otherwise the checkout's embedded server (started if needed).

    A server started here is left running; processes that may start it use `redis_url_for`."""
    with redis_url_for(settings, stop_on_exit=False) as url:
        return url


@contextmanager
def redis_url_for(settings: Settings, *, stop_on_exit: bool = True) -> Iterator[str]:
    """REDIS_URL, or the embedded server's URL for the duration of the block.

    The embedded server is stopped on exit only if this block started it: another process
    of the checkout (a first `bff dev`, a `bff web`) may own it and still be using it."""
    if settings.redis_url:
        yield settings.redis_url
        return
    url, started_here = start_embedded_redis(settings.data_dir)
    try:
        yield url
    finally:
        if started_here and stop_on_exit:
            stop_embedded_redis(settings.data_dir)


async def check_redis(url: str) -> None:
    """Raise SettingsError("REDIS_URL", reason) unless Redis answers PING within seconds.

    The pools below retry for a long time on purpose (a restart must not kill a running
    process); at start, a wrong URL must say so at once instead."""
    client = Redis.from_url(url, socket_connect_timeout=CHECK_TIMEOUT_S, socket_timeout=CHECK_TIMEOUT_S)
    try:
        await asyncio.wait_for(client.ping(), CHECK_TIMEOUT_S + 1)
    except TimeoutError:
        raise SettingsError("REDIS_URL", f"no answer within {CHECK_TIMEOUT_S:.0f} s") from None
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SettingsError("REDIS_URL", f"cannot connect: {reason}") from None
    finally:
        await client.aclose()


def redis_settings(url: str) -> RedisSettings:
    """arq settings that retry instead of dying when Redis restarts (stack-notes §1.8)."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_retries = 10
    settings.retry_on_timeout = True
    settings.retry_on_error = [RedisConnectionError, RedisTimeoutError, OSError]
    settings.retry = Retry(ExponentialBackoff(cap=5.0, base=0.1), retries=20)
    return settings


async def create_arq_pool(url: str) -> ArqRedis:
    return await create_pool(redis_settings(url))
