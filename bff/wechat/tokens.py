"""The access_token cache in Redis, shared by every web and worker process (wechat-platform.md §6).

* ``get`` answers the cached token, or fetches one with single flight: the process that takes
  the Redis lock (``SET NX PX``, with a timeout so a dead holder cannot block refreshes) calls
  WeChat and stores the token; the others poll the cache until the new value appears.
* The cache entry expires ``WECHAT_TOKEN_REFRESH_MARGIN_S`` before WeChat's expiry, so the next
  fetch happens while the old token still works and lands in stable_token's renewal window.
* ``expire_if_current`` drops the cached token only if it is still the one that failed (a Lua
  compare-and-delete), so a process holding a stale token never throws away a fresher one.
* Every fetch is counted by outcome for /metrics (``lvyue_wechat_token_refreshes_total``).
* ``memo_s`` (a worker's sender): ``get`` answers the token it last saw for that long without
  asking Redis; ``expire_if_current``, ``replace`` and ``store`` drop or renew that copy, so a
  refused token is never answered again from memory.
* ``reserve_force_refresh`` keeps WeChat's force_refresh rule (at most 20 a day, 30 s apart) in
  Redis, atomically, across processes.

Token values never appear in logs.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bff import constants
from bff.runtime.metrics import TokenRefresh, record_token_refresh

__all__ = [
    "FetchedToken",
    "ForceRefresh",
    "TokenCache",
    "TokenUnavailableError",
    "cache_ttl_s",
]

log = logging.getLogger("lvyue.wechat.tokens")

# WeChat's days (and the 20-a-day force_refresh counter) roll over at midnight Beijing time.
_WECHAT_DAY_ZONE = ZoneInfo("Asia/Shanghai")

_COMPARE_AND_DELETE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# KEYS: last-force key, day counter key. ARGV: interval ms, daily limit, counter ttl s.
# 0 = reserved, 1 = too soon after the previous force, 2 = daily limit reached.
_RESERVE_FORCE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 1
end
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if used >= tonumber(ARGV[2]) then
  return 2
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 0
"""


@dataclass(frozen=True)
class FetchedToken:
    """What stable_token answered: the token and its remaining life in seconds."""

    value: str
    expires_in: int

    def __repr__(self) -> str:  # never show the token itself
        return f"FetchedToken(expires_in={self.expires_in})"


class ForceRefresh(StrEnum):
    ALLOWED = "allowed"
    TOO_SOON = "too_soon"  # another force_refresh happened less than 30 s ago
    DAILY_LIMIT = "daily_limit"  # 20 force_refresh calls today already


class TokenUnavailableError(Exception):
    """No token appeared within the wait: another process holds the refresh lock and is stuck."""


Fetch = Callable[[], Awaitable[FetchedToken]]


def cache_ttl_s(expires_in: int, margin_s: int = constants.WECHAT_TOKEN_REFRESH_MARGIN_S) -> int:
    """How long to cache a token WeChat says lives ``expires_in`` more seconds.

    Normally ``expires_in - margin``; a token handed out near its end (stable_token never answers
    less than 300 s) is kept for half its remaining life instead, and always at least 1 s.
    """
    return max(expires_in - margin_s, expires_in // 2, 1)


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8") if isinstance(value, bytes) else value


class TokenCache:
    def __init__(
        self,
        redis: Redis,
        appid: str,
        *,
        lock_ttl_s: float = constants.WECHAT_TOKEN_LOCK_TTL_S,
        wait_s: float = constants.WECHAT_TOKEN_WAIT_S,
        margin_s: int = constants.WECHAT_TOKEN_REFRESH_MARGIN_S,
        clock: Callable[[], float] = time.time,
        memo_s: float = 0.0,
    ) -> None:
        self._redis = redis
        self._appid = appid
        self._key = f"{constants.WECHAT_TOKEN_KEY}:{appid}"
        self._lock_key = f"{constants.WECHAT_TOKEN_LOCK_KEY}:{appid}"
        self._lock_ttl_ms = int(lock_ttl_s * 1000)
        self._wait_s = wait_s
        self._margin_s = margin_s
        self._clock = clock
        self._memo_s = memo_s
        self._memo: tuple[str, float] | None = None  # (token, monotonic deadline)
        self._compare_and_delete = redis.register_script(_COMPARE_AND_DELETE)
        self._reserve_force = redis.register_script(_RESERVE_FORCE)
        self._refused = False

    @property
    def key(self) -> str:
        return self._key

    async def peek(self) -> str | None:
        """The cached token, without fetching."""
        return _text(await self._redis.get(self._key))

    async def get(self, fetch: Fetch) -> str:
        """The cached token, or one fetched by exactly one process while the others wait."""
        if self._memo is not None and self._memo[1] > time.monotonic():
            return self._memo[0]
        cached = await self.peek()
        if not cached:
            cached = await self._under_lock(fetch, replace=False)
        self._remember(cached)
        return cached

    def _remember(self, token: str | None) -> None:
        if self._memo_s > 0 and token:
            self._memo = (token, time.monotonic() + self._memo_s)
        else:
            self._memo = None

    async def replace(self, fetch: Fetch) -> str:
        """Fetch a new token under the lock and store it whatever is cached (force_refresh)."""
        self._memo = None
        token = await self._under_lock(fetch, replace=True)
        self._remember(token)
        return token

    async def store(self, token: FetchedToken) -> None:
        self._memo = None
        await self._redis.set(self._key, token.value, ex=cache_ttl_s(token.expires_in, self._margin_s))

    async def expire_if_current(self, token: str) -> bool:
        """Drop the cached token if it is still ``token``; True when it was dropped."""
        self._refused = True  # the next fetch of this cache replaces a token WeChat refused
        self._memo = None  # refused: the next get reads Redis
        deleted = await self._compare_and_delete(keys=[self._key], args=[token])
        return bool(deleted)

    def _refresh_kind(self, replace: bool) -> TokenRefresh:
        """Why this process fetched a token, for /metrics."""
        refused, self._refused = self._refused, False
        if replace:
            return TokenRefresh.FORCED
        return TokenRefresh.REFETCHED if refused else TokenRefresh.FETCHED

    async def reserve_force_refresh(self) -> ForceRefresh:
        """Claim one force_refresh if WeChat's limits allow it now (counted even if the call fails)."""
        day = datetime.fromtimestamp(self._clock(), _WECHAT_DAY_ZONE).strftime("%Y%m%d")
        answer = await self._reserve_force(
            keys=[
                f"{constants.WECHAT_FORCE_REFRESH_LAST_KEY}:{self._appid}",
                f"{constants.WECHAT_FORCE_REFRESH_DAY_KEY}:{self._appid}:{day}",
            ],
            args=[
                constants.WECHAT_FORCE_REFRESH_MIN_INTERVAL_S * 1000,
                constants.WECHAT_FORCE_REFRESH_DAILY_LIMIT,
                2 * 24 * 3600,
            ],
        )
        return {0: ForceRefresh.ALLOWED, 1: ForceRefresh.TOO_SOON}.get(int(answer), ForceRefresh.DAILY_LIMIT)

    async def _under_lock(self, fetch: Fetch, *, replace: bool) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_s
        pause = 0.01
        while True:
            owner = secrets.token_hex(8)
            if await self._redis.set(self._lock_key, owner, nx=True, px=self._lock_ttl_ms):
                try:
                    if not replace:
                        # Another process may have stored a token between our read and the lock.
                        cached = await self.peek()
                        if cached:
                            return cached
                    try:
                        fetched = await fetch()
                    except Exception:
                        await record_token_refresh(self._redis, TokenRefresh.FAILED)
                        raise
                    await self.store(fetched)
                    await record_token_refresh(self._redis, self._refresh_kind(replace))
                    log.info(
                        "access_token %s for appid %s (valid %d s)",
                        "replaced" if replace else "fetched",
                        self._appid,
                        fetched.expires_in,
                    )
                    return fetched.value
                finally:
                    await self._compare_and_delete(keys=[self._lock_key], args=[owner])
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.2)
            if not replace:
                cached = await self.peek()
                if cached:
                    return cached
            if loop.time() >= deadline:
                raise TokenUnavailableError(
                    f"no access_token after waiting {self._wait_s:g} s for another process's refresh"
                )
