"""Per-openid send lock: one subscribeMessage.send per user at a time (WeChat answers 43108 otherwise).

``SET key token NX PX ttl`` takes the lock; the release deletes the key only while it still holds
our token (a Lua compare-and-delete), so a sender whose lock expired never frees another sender's
lock. The TTL bounds how long a crashed worker keeps a user locked; a send that finds the lock
taken tries again after a short jittered wait (``LockWait``).
"""

from __future__ import annotations

import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis

from bff.constants import OPENID_LOCK_KEY, OPENID_LOCK_RETRY_MAX_S, OPENID_LOCK_RETRY_MIN_S, OPENID_LOCK_TTL_S

__all__ = [
    "LockWait",
    "OpenidLock",
    "RedisOpenidLock",
    "acquire_openid_lock",
    "openid_lock",
    "openid_lock_key",
    "release_openid_lock",
]

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


def openid_lock_key(openid: str) -> str:
    return f"{OPENID_LOCK_KEY}:{openid}"


async def acquire_openid_lock(redis: Redis, openid: str, ttl_s: float) -> str | None:
    """The lock's token when taken, None when another sender holds it."""
    if not openid:
        raise ValueError("openid must not be empty")
    token = secrets.token_hex(16)
    taken = await redis.set(openid_lock_key(openid), token, nx=True, px=max(1, int(ttl_s * 1000)))
    return token if taken else None


async def release_openid_lock(redis: Redis, openid: str, token: str) -> bool:
    """Free the lock if it is still ours; True when it was."""
    released = await redis.eval(_RELEASE, 1, openid_lock_key(openid), token)  # type: ignore[misc]
    return bool(released)


@asynccontextmanager
async def openid_lock(redis: Redis, openid: str, ttl_s: float) -> AsyncIterator[bool]:
    """``async with openid_lock(...) as held:`` — ``held`` is False when someone else has the lock."""
    token = await acquire_openid_lock(redis, openid, ttl_s)
    try:
        yield token is not None
    finally:
        if token is not None:
            await release_openid_lock(redis, openid, token)


class OpenidLock(Protocol):
    """What the sender needs of a per-openid lock."""

    async def acquire(self, openid: str, ttl_s: float) -> str | None: ...

    async def release(self, openid: str, token: str) -> bool: ...


@dataclass(frozen=True)
class RedisOpenidLock:
    """The lock of this module on one Redis: shared by every worker process."""

    redis: Redis

    async def acquire(self, openid: str, ttl_s: float) -> str | None:
        return await acquire_openid_lock(self.redis, openid, ttl_s)

    async def release(self, openid: str, token: str) -> bool:
        return await release_openid_lock(self.redis, openid, token)


@dataclass(frozen=True)
class LockWait:
    """How long a send holds the lock at most (``ttl_s``), and how long a send that found it taken
    waits before trying again (uniform in [``retry_min_s``, ``retry_max_s``])."""

    ttl_s: float = OPENID_LOCK_TTL_S
    retry_min_s: float = OPENID_LOCK_RETRY_MIN_S
    retry_max_s: float = OPENID_LOCK_RETRY_MAX_S
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.retry_min_s <= self.retry_max_s:
            raise ValueError("lock retry wait must satisfy 0 < min <= max")

    def retry_in(self) -> float:
        return self.rng.uniform(self.retry_min_s, self.retry_max_s)
