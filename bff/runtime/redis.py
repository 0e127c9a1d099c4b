"""Redis connections: the URL to use and arq pools that survive a Redis restart."""

from __future__ import annotations

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bff.runtime.embedded_redis import ensure_embedded_redis
from bff.runtime.settings import Settings


def resolve_redis_url(settings: Settings) -> str:
    """REDIS_URL when set, otherwise the checkout's embedded server (started if needed)."""
    if settings.redis_url:
        return settings.redis_url
    return ensure_embedded_redis(settings.data_dir)


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
