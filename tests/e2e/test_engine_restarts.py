"""Redis or PostgreSQL restarts in the middle of a burst of supply-chain events and sends.

Real processes: the WeChat sandbox (uvicorn, pushing to the BFF), `bff web` and `bff worker`,
on a Redis server and (for the PostgreSQL case) a database cluster of the test's own, which it
stops and starts while the supply chain is still posting events. The supply chain retries a
request until it is answered 200, as its contract says. Afterwards every event is applied once,
every funded notice arrived once in WeChat's inbox, units spent equal sends, `/readyz` said 503
while the engine was away and 200 after, and neither process had to be restarted.

The Redis case runs in both passes of the suite (on the pass's database); the PostgreSQL case
runs when DATABASE_URL points at PostgreSQL (the PostgreSQL pass), on a private cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tortoise.context import TortoiseContext

from bff.consent import ledger
from bff.models import ConsentLedger, Notice, NoticeStatus, Preferences, SupplyChainEvent, User
from bff.models.notices import TERMINAL_STATUSES
from bff.notices.open_tokens import verify_open_token
from bff.runtime.db import tortoise_config
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from bff.supply_chain.signing import signed_headers
from tests.conftest import is_postgres
from tests.e2e.engines import PrivatePostgres, PrivateRedis, free_port

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("db")]

REPO = Path(__file__).resolve().parents[2]
ENGINES = ["redis", "postgres"] if is_postgres() else ["redis"]
USERS = 20
PROGRESS = "tmpl-order-progress-0001"
ORDERS_PER_USER = 2  # each order: placed, paid, production started (one progress notice, one unit)
EVENTS_PER_ORDER = 3
SENDS = USERS * ORDERS_PER_USER
RESTART_AFTER = SENDS // 3  # requests answered before the engine goes away
DOWN_S = 3.0
SETTLE_DEADLINE_S = 45.0


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        child = subprocess.Popen(args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield child
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=10)


async def wait_for(
    what: str, check: Callable[[], Awaitable[bool]], deadline_s: float, poll_s: float = 0.2
) -> float:
    start = time.monotonic()
    while True:
        try:
            if await check():
                return time.monotonic() - start
        except (httpx.TransportError, OSError, ConnectionError):
            pass
        if time.monotonic() - start > deadline_s:
            raise AssertionError(f"{what}: not reached within {deadline_s:.0f}s")
        await asyncio.sleep(poll_s)


@contextlib.asynccontextmanager
async def database(
    engine: str, settings: Settings, env: dict[str, str]
) -> AsyncIterator[PrivatePostgres | None]:
    """The database the processes use: the suite's, or a private migrated cluster the test may restart
    (then also the one this test's ORM queries go to)."""
    if engine != "postgres":
        yield None
        return
    cluster = PrivatePostgres()
    try:
        await asyncio.to_thread(cluster.create)
        migrated = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "bff.cli", "migrate"],
            env={**env, "DATABASE_URL": cluster.url},
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        async with TortoiseContext() as ctx:
            await ctx.init(config=tortoise_config(cluster.url))
            yield cluster
    finally:
        cluster.destroy()


async def seed(sandbox: httpx.AsyncClient) -> list[str]:
    """USERS users known to the BFF and to WeChat, each with two units of the progress template on
    both sides and no quiet hours."""
    openids = [f"oRESTART{index:04d}_{'0' * 15}" for index in range(USERS)]
    await User.bulk_create([User(openid=openid) for openid in openids])
    for user in await User.filter(openid__in=openids):
        await Preferences.create(user_id=user.id, quiet_start=None, quiet_end=None)
        await ledger.credit(user.id, PROGRESS, ORDERS_PER_USER)

    async def wechat_side(openid: str) -> None:
        assert (await sandbox.post("/sandbox/login-code", json={"openid": openid})).status_code == 200
        for _ in range(ORDERS_PER_USER):
            body = {"openid": openid, "answers": {PROGRESS: "accept"}, "push": False}
            assert (await sandbox.post("/sandbox/subscribe", json=body)).status_code == 200

    await asyncio.gather(*(wechat_side(openid) for openid in openids))
    return openids


def order_events(order_no: str, openid: str) -> list[b.Event]:
    now = datetime.now(UTC)
    return [
        b.placed(order_no, openid, now - timedelta(minutes=30)),
        b.paid(order_no, now - timedelta(minutes=29)),
        b.node(order_no, "PRODUCTION_STARTED", now - timedelta(minutes=20)),
    ]


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_engine_restarted_mid_burst_loses_and_doubles_nothing(
    engine: str, settings: Settings, tmp_path: Path
) -> None:
    began = time.monotonic()
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    sandbox_port, web_port = free_port(), free_port()
    sandbox_base, web_base = f"http://127.0.0.1:{sandbox_port}", f"http://127.0.0.1:{web_port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "REDIS_URL": redis.url,
        "WECHAT_API_BASE": sandbox_base,
        "SANDBOX_PUSH_URL": f"{web_base}/wechat/push",
        "SESSION_SECRET": settings.session_secret,
        "LVYUE_DATA_DIR": str(tmp_path / "data"),
    }
    figures: dict[str, Any] = {"engine": engine}
    try:
        async with (
            database(engine, settings, env) as cluster,
            httpx.AsyncClient(base_url=sandbox_base, timeout=10) as sandbox,
            httpx.AsyncClient(base_url=web_base, timeout=10) as web,
        ):
            if cluster is not None:
                env["DATABASE_URL"] = cluster.url
            restart: tuple[Callable[[], None], Callable[[], None]] = (
                (cluster.stop, cluster.start) if cluster is not None else (redis.stop, redis.start)
            )
            logs = {name: tmp_path / f"{name}.log" for name in ("sandbox", "web", "worker")}
            cli = [sys.executable, "-m", "bff.cli"]
            with (
                process([*cli, "sandbox", "--port", str(sandbox_port)], env, logs["sandbox"]),
                process(
                    [*cli, "web", "--host", "127.0.0.1", "--port", str(web_port)], env, logs["web"]
                ) as web_p,
                process([*cli, "worker"], env, logs["worker"]) as worker_p,
            ):

                def alive() -> None:
                    for child, name in ((web_p, "web"), (worker_p, "worker")):
                        assert child.poll() is None, f"{name} died: {logs[name].read_text()[-3000:]}"

                async def readyz() -> int:
                    alive()
                    return (await web.get("/readyz", timeout=5)).status_code

                async def sandbox_up() -> bool:
                    return (await sandbox.get("/sandbox/stats")).status_code == 200

                await wait_for("sandbox up", sandbox_up, 20)
                await wait_for("web ready", lambda: _is(readyz, 200), 30)
                openids = await seed(sandbox)
                bodies = [
                    b.body(*order_events(f"SORESTART{i:04d}{n}", openid))
                    for n in range(ORDERS_PER_USER)
                    for i, openid in enumerate(openids)
                ]
                figures["started_s"] = time.monotonic() - began

                # given a supply chain posting an order's three events a request, retrying until answered 200
                answered: list[dict[str, Any]] = []
                refused: Counter[str] = Counter()

                async def post_all() -> None:
                    for body in bodies:
                        while True:
                            try:
                                headers = signed_headers(settings.supply_chain_secret, body)
                                response = await web.post(
                                    "/hooks/supply-chain", content=body, headers=headers
                                )
                                if response.status_code == 200:
                                    answered.append(response.json())
                                    break
                                refused[str(response.status_code)] += 1
                            except httpx.TransportError as exc:
                                refused[type(exc).__name__] += 1
                            await asyncio.sleep(0.2)

                burst = asyncio.create_task(post_all())
                try:
                    # when the engine goes away a third of the way through the burst
                    await wait_for(
                        "a third answered", lambda: _true(len(answered) >= RESTART_AFTER), 30, 0.01
                    )
                    await asyncio.to_thread(restart[0])
                    stopped = time.monotonic()
                    # then /readyz says 503 while it is away
                    figures["503_after_s"] = await wait_for("readyz 503", lambda: _is(readyz, 503), 10)
                    await asyncio.sleep(max(0.0, DOWN_S - (time.monotonic() - stopped)))
                    figures["answered_while_down"] = len(answered)
                    # and when it comes back, 200 again, with no process restarted
                    await asyncio.to_thread(restart[1])
                    figures["200_after_s"] = await wait_for("readyz 200", lambda: _is(readyz, 200), 30)
                    await asyncio.wait_for(burst, 60)
                finally:
                    burst.cancel()
                figures["refused"] = dict(refused)

                async def settled() -> bool:
                    alive()
                    stats = (await sandbox.get("/sandbox/stats")).json()
                    open_notices = await Notice.exclude(status__in=TERMINAL_STATUSES).count()
                    figures["last_seen"] = {
                        "inbox": stats["inbox"],
                        "notices": Counter(str(n.status) for n in await Notice.all()),
                        "events_unapplied": await SupplyChainEvent.filter(applied_at__isnull=True).count(),
                    }
                    return int(stats["inbox"]) >= SENDS and open_notices == 0

                try:
                    figures["settled_s"] = await wait_for(
                        "every notice settled", settled, SETTLE_DEADLINE_S, 0.5
                    )
                except AssertionError as exc:
                    raise AssertionError(f"{exc}: {figures}\n{logs['worker'].read_text()[-6000:]}") from None
                messages = (await sandbox.get("/sandbox/inbox")).json()
                quotas = [
                    (
                        await sandbox.get("/sandbox/quota", params={"openid": o, "template_id": PROGRESS})
                    ).json()
                    for o in openids
                ]
                alive()

            figures["total_s"] = time.monotonic() - began
            print("engine restart figures:", figures)

            # then every request was eventually answered, each event applied once
            assert len(answered) == SENDS
            assert sum(a["accepted"] + a["duplicates"] for a in answered) == SENDS * EVENTS_PER_ORDER
            events = await SupplyChainEvent.all()
            assert len(events) == SENDS * EVENTS_PER_ORDER
            assert all(event.applied_at is not None for event in events)
            # and every funded notice was sent once: one card per notice in WeChat's inbox
            notices = {n.id: n for n in await Notice.all()}
            sent = {i for i, n in notices.items() if n.status is NoticeStatus.SENT}
            assert len(sent) == SENDS, Counter(n.status for n in notices.values())
            cards = Counter(
                verify_open_token(settings.session_secret, m["page"].split("&n=")[1]) for m in messages
            )
            assert set(cards) == sent
            assert max(cards.values()) == 1
            # and no notice was planned twice: one per order and topic
            assert len({(n.order_no, n.topic) for n in notices.values()}) == len(notices)
            # and the units spent are the sends, on the BFF's side and on WeChat's
            assert sum(row.spent for row in await ConsentLedger.all()) == len(messages)
            assert all(quota["remaining"] == 0 for quota in quotas), quotas
    finally:
        redis.stop()


async def _is(probe: Callable[[], Awaitable[int]], status: int) -> bool:
    return await probe() == status


async def _true(value: bool) -> bool:
    return value
