"""100 concurrent sends against 5 units spend exactly 5.

On PostgreSQL (DATABASE_URL=postgres://...) this proves the race: the reservations run on several
pooled connections at once, and only the ledger's conditional UPDATE stands between them and an
oversold budget (a read-then-write reservation sold 20 units of 5 there, stack-notes §3.3). On
SQLite the test runs too but proves less: tortoise has one SQLite connection and serialises
transactions, so the reservations cannot interleave.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from arq import Retry, func
from arq.connections import ArqRedis
from arq.worker import Worker

from bff.constants import JOB_SEND_NOTICE
from bff.models import ConsentLedger, Notice, NoticeStatus
from bff.notices.jobs import enqueue_send
from bff.runtime.settings import Settings
from tests.notices.send_fixtures import (
    ORDER_PROGRESS,
    FakeClient,
    SentCall,
    make_notice,
    make_sender,
    make_user,
    remaining,
)

pytestmark = pytest.mark.usefixtures("db")

NOTICES = 100
UNITS = 5


class NoLock:
    """Lets every send to the user run at once, so only the ledger keeps the budget."""

    async def acquire(self, openid: str, ttl_s: float) -> str | None:
        return "no-lock"

    async def release(self, openid: str, token: str) -> bool:
        return True


async def test_a_hundred_simultaneous_sends_spend_exactly_the_five_units(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given one user with 5 units of a template and 100 queued notices of it
    user = await make_user(units={ORDER_PROGRESS: UNITS})
    notices = [await make_notice(user) for _ in range(NOTICES)]

    async def slow_wechat(call: SentCall) -> None:
        await asyncio.sleep(0.01)  # keeps the calls overlapping

    client = FakeClient(script=[slow_wechat] * NOTICES)
    sender = make_sender(settings, arq_pool, client, lock=NoLock())

    # when all 100 are sent at the same moment
    start = asyncio.Event()

    async def send(notice_id: int) -> None:
        await start.wait()
        await sender.send(notice_id)

    tasks = [asyncio.create_task(send(n.id)) for n in notices]
    start.set()
    await asyncio.gather(*tasks)

    # then exactly 5 went to WeChat and are SENT, the other 95 were suppressed for want of units
    assert len(client.calls) == UNITS
    assert await Notice.filter(status=NoticeStatus.SENT).count() == UNITS
    assert await Notice.filter(status=NoticeStatus.SUPPRESSED, reason="NO_UNITS").count() == NOTICES - UNITS
    assert await remaining(user) == 0
    ledger_row = await ConsentLedger.get(user_id=user.id, template_id=ORDER_PROGRESS)
    assert (ledger_row.granted, ledger_row.spent) == (UNITS, UNITS)


async def test_a_hundred_send_jobs_on_three_workers_spend_exactly_the_five_units(
    settings: Settings, arq_pool: ArqRedis, worker: Callable[..., Awaitable[Worker]]
) -> None:
    # given 100 queued notices of one user with 5 units, each with its send job
    user = await make_user(units={ORDER_PROGRESS: UNITS})
    notices = [await make_notice(user) for _ in range(NOTICES)]
    for notice in notices:
        assert await enqueue_send(arq_pool, notice.id)
    client = FakeClient()

    async def send_with_fake_wechat(ctx: dict[str, object], notice_id: int) -> str:
        sender = make_sender(settings, arq_pool, client)
        outcome = await sender.send(notice_id)
        if outcome.retry_in is not None:
            raise Retry(defer=outcome.retry_in)
        return outcome.describe()

    ctx = {"settings": settings, "worker_id": "race", "started_at": datetime.now(UTC)}

    # when three workers run the jobs concurrently
    job = func(send_with_fake_wechat, name=JOB_SEND_NOTICE, keep_result=0, max_tries=1000)  # type: ignore[arg-type]
    workers = [await worker(functions=[job], ctx=dict(ctx), max_jobs=20) for _ in range(3)]
    await asyncio.gather(*(w.run_check() for w in workers))

    # then 5 were sent, one at a time per user, and nothing more was spent
    assert len(client.calls) == UNITS
    assert await Notice.filter(status=NoticeStatus.SENT).count() == UNITS
    assert await Notice.filter(status=NoticeStatus.SUPPRESSED).count() == NOTICES - UNITS
    assert await remaining(user) == 0
