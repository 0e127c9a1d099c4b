"""The access_token cache: single flight, ahead-of-expiry refresh, compare-and-expire, force_refresh.

Sandbox-backed where WeChat's behaviour matters (how many stable_token calls were made, which
tokens WeChat refuses). The escalation to force_refresh needs a WeChat whose normal mode keeps
handing out a token its APIs refuse, which the sandbox (rightly) never does: a stub
``httpx.MockTransport`` plays it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from arq.connections import ArqRedis

from bff import constants
from bff.wechat.client import WeChatClient
from bff.wechat.errors import Action, WeChatAPIError, WeChatTransportError
from bff.wechat.tokens import FetchedToken, ForceRefresh, TokenCache, TokenUnavailableError, cache_ttl_s
from tests.wechat.client_harness import PROGRESS, PROGRESS_VALUES, running_sandbox
from wxsandbox import defaults

OPENID = "oUSER_openid_example_000002"
BEIJING = timezone(timedelta(hours=8))


async def send(client: WeChatClient) -> str | None:
    result = await client.send_subscribe_message(
        openid=OPENID, template_id=PROGRESS, data=PROGRESS_VALUES, page=None, miniprogram_state="formal"
    )
    return result.msgid


# --- single flight ----------------------------------------------------------------------------


async def test_fifty_concurrent_callers_with_an_empty_cache_cause_one_fetch(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given 50 clients (as if in 50 processes) sharing one Redis with no token cached
        clients = [sb.client(arq_pool) for _ in range(50)]

        # when they all need a token at once
        tokens = await asyncio.gather(*(client.access_token() for client in clients))

        # then WeChat was asked exactly once and everybody got that token
        stats = await sb.stats()
        assert stats["tokens"].get("stable") == 1
        assert len(set(tokens)) == 1


async def test_a_cached_token_is_reused(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        await sb.subscribe(OPENID, {PROGRESS: "accept"}, push=False)
        await sb.subscribe(OPENID, {PROGRESS: "accept"}, push=False)
        client = sb.client(arq_pool)
        await send(client)
        await send(sb.client(arq_pool))
        assert (await sb.stats())["tokens"]["stable"] == 1


async def test_the_cache_ends_before_wechats_expiry(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # when a token valid for 7200 s is fetched
        client = sb.client(arq_pool)
        await client.access_token()

        # then it is cached for 7200 - 330 s: the next fetch lands in stable_token's renewal window
        ttl = await arq_pool.ttl(client.tokens.key)
        assert 7200 - 330 - 5 <= ttl <= 7200 - 330


@pytest.mark.parametrize(
    ("expires_in", "ttl"), [(7200, 6870), (1000, 670), (600, 300), (300, 150), (1, 1), (0, 1)]
)
def test_cache_ttl_leaves_a_margin(expires_in: int, ttl: int) -> None:
    assert cache_ttl_s(expires_in) == ttl


async def test_a_dead_lock_holder_delays_but_does_not_block_the_refresh(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a process that took the refresh lock and died (the lock expires in 300 ms)
        client = sb.client(arq_pool)
        await arq_pool.set(f"{constants.WECHAT_TOKEN_LOCK_KEY}:{defaults.APPID}", "dead", px=300)

        # when others need a token
        tokens = await asyncio.gather(
            *(sb.client(arq_pool).access_token() for _ in range(5)), client.access_token()
        )

        # then one of them fetched it once the lock expired
        assert len(set(tokens)) == 1
        assert (await sb.stats())["tokens"]["stable"] == 1


async def test_a_stuck_lock_holder_makes_waiters_give_up(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a refresh lock that will not go away soon
        await arq_pool.set(f"{constants.WECHAT_TOKEN_LOCK_KEY}:{defaults.APPID}", "stuck", px=60_000)
        cache = TokenCache(arq_pool, defaults.APPID, wait_s=0.2)

        # when / then: a plain cache user gets TokenUnavailable, a client a transport error
        with pytest.raises(TokenUnavailableError):
            await cache.get(lambda: pytest.fail("must not fetch"))
        with pytest.raises(WeChatTransportError) as caught:
            await sb.client(arq_pool, token_cache=cache).access_token()
        assert caught.value.outcome_unknown is False
        assert (await sb.stats())["tokens"].get("stable") is None


async def test_a_failed_fetch_releases_the_lock(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        with pytest.raises(WeChatAPIError):
            await sb.client(arq_pool, secret="wrong-secret").access_token()
        assert await arq_pool.exists(f"{constants.WECHAT_TOKEN_LOCK_KEY}:{defaults.APPID}") == 0
        # and the right credentials work at once
        assert await sb.client(arq_pool).access_token()


# --- compare-and-expire -----------------------------------------------------------------------


async def test_expire_if_current_drops_only_the_token_that_failed(arq_pool: ArqRedis) -> None:
    # given a cache that already holds a newer token than the one a slow caller saw fail
    cache = TokenCache(arq_pool, defaults.APPID)
    await cache.store(FetchedToken("NEW", 7200))

    # when the slow caller reports its old token
    dropped_old = await cache.expire_if_current("OLD")

    # then the newer token stays; reporting the newer one drops it
    assert dropped_old is False
    assert await cache.peek() == "NEW"
    assert await cache.expire_if_current("NEW") is True
    assert await cache.peek() is None


async def test_a_superseded_token_is_refreshed_once_and_the_call_succeeds(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a cached token that someone else's force_refresh has revoked (40001)
        await sb.subscribe(OPENID, {PROGRESS: "accept"}, push=False)
        client = sb.client(arq_pool)
        old = await client.access_token()
        new = await sb.force_refresh_elsewhere()

        # when
        msgid = await send(client)

        # then the send went through on the new token after one normal-mode fetch
        assert msgid
        stats = await sb.stats()
        assert stats["tokens"]["rejected_40001"] == 1
        assert stats["tokens"]["stable"] == 2  # the first fetch and the one refresh
        assert await client.tokens.peek() == new != old


async def test_a_workers_remembered_token_once_refused_is_never_used_again(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a worker's client, whose token cache keeps the token it read in memory, after a send
        await sb.subscribe(OPENID, {PROGRESS: "accept"}, push=False)
        await sb.subscribe(OPENID, {PROGRESS: "accept"}, push=False)
        await sb.subscribe(OPENID, {PROGRESS: "accept"}, push=False)
        client = sb.client(arq_pool, token_cache=TokenCache(arq_pool, defaults.APPID, memo_s=60))
        assert await send(client)
        # and another process's force_refresh revoking that token
        new = await sb.force_refresh_elsewhere()

        # when the worker sends twice more
        second = await send(client)
        third = await send(client)

        # then the remembered token was refused once, and both sends went out on the new one
        assert second and third
        stats = await sb.stats()
        assert stats["tokens"]["rejected_40001"] == 1
        assert await client.access_token() == new


async def test_many_callers_with_a_superseded_token_refresh_it_once(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given 10 users and a cached token that was just revoked
        openids = [f"oUSER_superseded_{i:010d}" for i in range(10)]
        for openid in openids:
            await sb.subscribe(openid, {PROGRESS: "accept"}, push=False)
        await sb.client(arq_pool).access_token()
        await sb.force_refresh_elsewhere()

        # when 10 sends run at once, each from its own client
        async def one(openid: str) -> str | None:
            result = await sb.client(arq_pool).send_subscribe_message(
                openid=openid,
                template_id=PROGRESS,
                data=PROGRESS_VALUES,
                page=None,
                miniprogram_state="formal",
            )
            return result.msgid

        msgids = await asyncio.gather(*(one(openid) for openid in openids))

        # then all went through, and only one refresh was fetched for all of them
        assert all(msgids)
        assert (await sb.stats())["tokens"]["stable"] == 2


# --- force_refresh escalation (stub WeChat) ------------------------------------------------------


class StubWeChat:
    """Normal mode keeps answering ``T1`` (which sends refuse with 40001); force mode mints T2, T3..."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.good: set[str] = set()
        self._minted = 1

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            force = b'"force_refresh":true' in request.content
            self.calls["force" if force else "normal"] += 1
            if force:
                self._minted += 1
                token = f"T{self._minted}"
                self.good.add(token)
                return httpx.Response(200, json={"access_token": token, "expires_in": 7200})
            return httpx.Response(200, json={"access_token": "T1", "expires_in": 7200})
        self.calls["send"] += 1
        if request.url.params["access_token"] in self.good:
            return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": 1})
        return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential rid: 1-2-3"})


def stub_client(wechat: Callable[[httpx.Request], httpx.Response], redis: ArqRedis) -> WeChatClient:
    return WeChatClient(
        httpx.AsyncClient(transport=httpx.MockTransport(wechat)),
        redis,
        appid=defaults.APPID,
        secret=defaults.SECRET,
        api_base="http://wechat.test",
    )


async def test_normal_mode_returning_the_refused_token_escalates_to_force_refresh(arq_pool: ArqRedis) -> None:
    # given a WeChat whose normal mode hands back the token its APIs refuse
    wechat = StubWeChat()

    # when
    msgid = await send(stub_client(wechat, arq_pool))

    # then one force_refresh was made and the retried send succeeded
    assert msgid == "1"
    assert wechat.calls == Counter({"normal": 2, "force": 1, "send": 2})


async def test_force_refresh_is_not_repeated_within_30_seconds(arq_pool: ArqRedis) -> None:
    # given a force_refresh made a moment ago by another process, and normal mode still answering T1
    wechat = StubWeChat()
    await stub_client(wechat, arq_pool).tokens.reserve_force_refresh()

    # when a send meets the refused token again
    with pytest.raises(WeChatAPIError) as caught:
        await send(stub_client(wechat, arq_pool))

    # then no second force_refresh is made; the caller gets the token error to retry later
    assert caught.value.action is Action.REFRESH_TOKEN
    assert wechat.calls["force"] == 0
    assert wechat.calls["send"] == 1


async def test_a_refreshed_token_that_fails_again_is_not_retried_twice(arq_pool: ArqRedis) -> None:
    # given a WeChat that refuses every token (say the AppSecret was reset elsewhere)
    calls: Counter[str] = Counter()

    def wechat(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            calls["token"] += 1
            return httpx.Response(200, json={"access_token": f"T{calls['token']}", "expires_in": 7200})
        calls["send"] += 1
        return httpx.Response(200, json={"errcode": 42001, "errmsg": "access_token expired"})

    # when
    with pytest.raises(WeChatAPIError) as caught:
        await send(stub_client(wechat, arq_pool))

    # then exactly one refresh and one retry were made
    assert caught.value.errcode == 42001
    assert calls == Counter({"token": 2, "send": 2})


async def test_force_refresh_allows_one_per_30_seconds_and_20_a_day(arq_pool: ArqRedis) -> None:
    # given a clock at 23:58 Beijing time
    now = [datetime(2026, 1, 1, 23, 58, tzinfo=BEIJING).timestamp()]
    cache = TokenCache(arq_pool, defaults.APPID, clock=lambda: now[0])

    # when force refreshes are claimed back to back, then 30 s apart
    first = await cache.reserve_force_refresh()
    too_soon = await cache.reserve_force_refresh()
    claims = [first]
    for _ in range(20):
        await arq_pool.delete(f"{constants.WECHAT_FORCE_REFRESH_LAST_KEY}:{defaults.APPID}")  # 30 s pass
        claims.append(await cache.reserve_force_refresh())

    # then the second is too soon, and the 21st of the day is over the limit
    assert first is ForceRefresh.ALLOWED
    assert too_soon is ForceRefresh.TOO_SOON
    assert claims.count(ForceRefresh.ALLOWED) == 20
    assert claims[-1] is ForceRefresh.DAILY_LIMIT

    # and after midnight in Beijing the day's allowance is back
    now[0] += 180
    await arq_pool.delete(f"{constants.WECHAT_FORCE_REFRESH_LAST_KEY}:{defaults.APPID}")
    assert await cache.reserve_force_refresh() is ForceRefresh.ALLOWED


async def test_daily_limit_stops_the_escalation(arq_pool: ArqRedis) -> None:
    # given 20 force refreshes already made today
    wechat = StubWeChat()
    client = stub_client(wechat, arq_pool)
    day = datetime.now(BEIJING).strftime("%Y%m%d")
    await arq_pool.set(f"{constants.WECHAT_FORCE_REFRESH_DAY_KEY}:{defaults.APPID}:{day}", 20)

    # when / then
    with pytest.raises(WeChatAPIError):
        await send(client)
    assert wechat.calls["force"] == 0
