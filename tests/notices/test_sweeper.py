"""The sweeper: what a dead worker or a lost job leaves behind is settled, and nothing is sent twice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from arq import func
from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from arq.worker import FailedJobs

from bff.consent import ledger
from bff.constants import JOB_SEND_NOTICE
from bff.models import Notice, NoticeStatus, User
from bff.notices.jobs import enqueue_send, send_job_id
from bff.notices.sender import NoticeSender
from bff.notices.sweeper import sweep
from bff.runtime.settings import Settings
from bff.wechat.errors import WeChatTransportError
from tests.conftest import WorkerFactory
from tests.notices.send_fixtures import (
    ORDER_PROGRESS,
    FakeClient,
    FakeResult,
    make_notice,
    make_sender,
    make_user,
    remaining,
    utcnow,
)

pytestmark = pytest.mark.usefixtures("db")

LATER = timedelta(minutes=5)  # well past the sweeper's stale_after


async def job_status(redis: ArqRedis, notice_id: int) -> JobStatus:
    return await Job(send_job_id(notice_id), redis).status()


async def claimed_then_died(user: User, *, call_started: bool) -> Notice:
    """A notice a worker claimed (holding a unit) and then died with, before or during the call."""
    notice = await make_notice(user, status=NoticeStatus.SENDING)
    assert await ledger.reserve_unit(user.id, ORDER_PROGRESS)
    now = utcnow()
    await Notice.filter(id=notice.id).update(
        attempts=1,
        sending_since=now,
        unit_reserved=True,
        unit_reserved_at=now,
        call_started_at=now if call_started else None,
    )
    return notice


async def test_a_notice_whose_worker_died_before_calling_is_queued_again_with_its_unit_back(
    arq_pool: ArqRedis,
) -> None:
    # given a worker claimed a notice, reserved a unit and died before calling WeChat
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await claimed_then_died(user, call_started=False)
    assert await remaining(user) == 0

    # when the sweeper runs once the send job's timeout has passed
    report = await sweep(arq_pool, now=utcnow() + LATER)

    # then the notice is QUEUED again, the unit is back and its send job is queued
    assert report.requeued == 1
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.QUEUED and not notice.unit_reserved
    assert await remaining(user) == 1
    assert await job_status(arq_pool, notice.id) is JobStatus.queued


async def test_a_send_still_within_its_job_timeout_is_left_alone(arq_pool: ArqRedis) -> None:
    # given a notice claimed a moment ago
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await claimed_then_died(user, call_started=False)

    # when the sweeper runs now
    report = await sweep(arq_pool)

    # then nothing changes
    assert report.requeued == report.outcome_unknown == 0
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENDING and notice.unit_reserved


async def test_a_notice_whose_worker_died_during_the_call_is_never_requeued(arq_pool: ArqRedis) -> None:
    # given a worker died while WeChat was being called
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await claimed_then_died(user, call_started=True)

    # when the sweeper runs after the job timeout
    report = await sweep(arq_pool, now=utcnow() + LATER)

    # then the notice waits for the outcome, holding its unit, with no send job
    assert (report.requeued, report.outcome_unknown) == (0, 1)
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENDING and notice.outcome_unknown_at is not None
    assert notice.unit_reserved and await remaining(user) == 0
    assert await job_status(arq_pool, notice.id) is JobStatus.not_found

    # and once the outcome timeout has passed it counts as sent, still never resent
    report = await sweep(arq_pool, now=utcnow() + LATER * 3, outcome_timeout=LATER)
    assert report.assumed_sent == 1
    await notice.refresh_from_db()
    assert (notice.status, notice.reason) == (NoticeStatus.SENT, "ASSUMED_SENT")
    assert await job_status(arq_pool, notice.id) is JobStatus.not_found


async def test_a_queued_notice_whose_job_was_lost_gets_a_job_again(arq_pool: ArqRedis) -> None:
    # given two queued notices: one whose job is waiting, one whose job was lost
    user = await make_user(units={ORDER_PROGRESS: 2})
    waiting = await make_notice(user)
    lost = await make_notice(user)
    await arq_pool.enqueue_job("send_notice", waiting.id, _job_id=send_job_id(waiting.id), _defer_by=600)

    # when the sweeper runs a while later
    report = await sweep(arq_pool, now=utcnow() + LATER)

    # then only the lost one is queued again (the job id keeps the waiting one single)
    assert report.enqueued == 1
    assert await job_status(arq_pool, lost.id) is JobStatus.queued
    assert await job_status(arq_pool, waiting.id) is JobStatus.deferred


async def test_a_recently_queued_notice_is_not_touched(arq_pool: ArqRedis) -> None:
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)

    report = await sweep(arq_pool)

    assert report.enqueued == 0
    assert await job_status(arq_pool, notice.id) is JobStatus.not_found


async def test_due_scheduled_notices_get_their_job_and_later_ones_do_not(arq_pool: ArqRedis) -> None:
    # given one notice whose deferral has ended and one still deferred
    user = await make_user(units={ORDER_PROGRESS: 2})
    due = await make_notice(
        user, status=NoticeStatus.SCHEDULED, scheduled_for=utcnow() - timedelta(minutes=1)
    )
    later = await make_notice(
        user, status=NoticeStatus.SCHEDULED, scheduled_for=utcnow() + timedelta(hours=1)
    )

    # when the sweeper runs
    report = await sweep(arq_pool)

    # then only the due one gets a send job
    assert report.enqueued == 1
    assert await job_status(arq_pool, due.id) is JobStatus.queued
    assert await job_status(arq_pool, later.id) is JobStatus.not_found


async def test_a_worker_that_lost_its_claim_to_the_sweeper_cannot_send(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a worker that claimed a notice and then stalled before reserving its unit
    user = await make_user(units={ORDER_PROGRESS: 2})
    notice = await make_notice(user)
    stalled = asyncio.Event()
    resume = asyncio.Event()

    class StallingSender(NoticeSender):
        async def _reserve(self, claim: Any) -> bool:
            stalled.set()
            await resume.wait()
            return await super()._reserve(claim)

    slow_client = FakeClient()
    slow = make_sender(settings, arq_pool, slow_client, cls=StallingSender)
    slow_run = asyncio.create_task(slow.send(notice.id))
    await asyncio.wait_for(stalled.wait(), 5)

    # when the sweeper gives the notice to another worker, which sends it
    assert (await sweep(arq_pool, now=utcnow() + LATER)).requeued == 1
    fast_client = FakeClient()
    await arq_pool.delete(f"lvyue:openid-lock:{user.openid}")  # the stalled worker's lock expired
    assert (await make_sender(settings, arq_pool, fast_client).send(notice.id)).status is NoticeStatus.SENT

    # and the stalled worker wakes up
    resume.set()
    outcome = await slow_run

    # then it changed nothing: one call in all, one unit spent
    assert outcome.status is None and outcome.reason == "CLAIM_LOST"
    assert slow_client.calls == [] and len(fast_client.calls) == 1
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENT and notice.attempts == 2
    assert await remaining(user) == 1


async def test_an_unknown_outcome_from_a_timeout_is_settled_by_the_sweeper(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a send that timed out after it was written
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    client = FakeClient(
        script=[WeChatTransportError(api="subscribe_send", detail="ReadTimeout", outcome_unknown=True)]
    )
    await make_sender(settings, arq_pool, client).send(notice.id)

    # when sweeps run before and after the outcome timeout
    early = await sweep(arq_pool, now=utcnow() + timedelta(minutes=1), outcome_timeout=timedelta(minutes=10))
    late = await sweep(arq_pool, now=utcnow() + timedelta(minutes=11), outcome_timeout=timedelta(minutes=10))

    # then only the late one settles it, as sent, and WeChat was called once
    assert (early.assumed_sent, late.assumed_sent) == (0, 1)
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENT and len(client.calls) == 1


async def test_a_notice_whose_send_job_failed_gets_a_job_again_despite_arqs_leftover_result(
    arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    # given a queued notice whose send job failed (say, arq's job timeout), leaving arq's result behind
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)

    async def explode(ctx: dict[str, Any], notice_id: int) -> None:
        raise RuntimeError("the job died")

    assert await enqueue_send(arq_pool, notice.id)
    failing = await worker(functions=[func(explode, name=JOB_SEND_NOTICE)], keep_result=3600)  # type: ignore[arg-type]
    with pytest.raises(FailedJobs):
        await failing.run_check()
    assert not await enqueue_send(arq_pool, notice.id)  # arq refuses the id while the result lives

    # when the sweeper runs a while later
    report = await sweep(arq_pool, now=utcnow() + LATER)

    # then the notice has its send job again
    assert report.enqueued == 1
    assert await job_status(arq_pool, notice.id) is JobStatus.queued


class GatedLedger:
    """The real ledger, with a gate the worker's reservation waits at before taking its unit."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def reserve_unit(self, user_id: int, template_id: str) -> bool:
        self.reached.set()
        await self.go.wait()
        return await ledger.reserve_unit(user_id, template_id)

    async def release_unit(
        self, user_id: int, template_id: str, *, reserved_at: datetime | None = None
    ) -> bool:
        return await ledger.release_unit(user_id, template_id, reserved_at=reserved_at)

    async def zero_units(
        self, user_id: int, template_id: str, status: Any = None, *, as_of: datetime | None = None
    ) -> bool:
        return await ledger.zero_units(user_id, template_id, status, as_of=as_of)


async def lock_waiters(conn: asyncpg.Connection) -> int:
    """Backends of this database waiting for a lock."""
    count = await conn.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(count)


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(500):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"gave up waiting: {what}")


@pytest.mark.postgres_only
async def test_a_requeue_racing_a_workers_reservation_gives_the_unit_back(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a stalled worker that claimed a notice and is committing its unit reservation just as
    # the sweeper re-queues the notice: the sweeper looks at the row before the reservation
    # commits and moves it after (a third session holds the row so the two line up that way)
    user = await make_user(units={ORDER_PROGRESS: 2})
    notice = await make_notice(user)
    gate = GatedLedger()
    client = WaitsForTheSweep()
    stalled = asyncio.create_task(make_sender(settings, arq_pool, client, ledger=gate).send(notice.id))
    await asyncio.wait_for(gate.reached.wait(), 5)
    holder = await asyncpg.connect(settings.database_url)
    watcher = await asyncpg.connect(settings.database_url)
    try:
        holding = holder.transaction()
        await holding.start()
        await holder.execute("SELECT id FROM notices WHERE id = $1 FOR UPDATE", notice.id)
        gate.go.set()  # the worker reserves its unit, then waits for the row
        await until(lambda: _waiting(watcher, 1), "the worker waits for the notice row")
        sweeping = asyncio.create_task(sweep(arq_pool, now=utcnow() + LATER))
        sweeping.add_done_callback(lambda _: client.swept.set())
        await until(lambda: _waiting(watcher, 2, done=sweeping), "the sweeper reaches the notice row")
        await holding.rollback()  # the worker's reservation commits first, then the sweeper goes on
    finally:
        await holder.close()
        await watcher.close()

    # when both have finished
    report = await sweeping
    outcome = await stalled

    # then the sweeper re-queued the notice with the reserved unit given back
    assert report.requeued == 1
    assert outcome.reason == "CLAIM_LOST"
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.QUEUED and not notice.unit_reserved
    assert await remaining(user) == 2

    # and the send that follows costs exactly one unit
    next_client = FakeClient()
    assert (await make_sender(settings, arq_pool, next_client).send(notice.id)).status is NoticeStatus.SENT
    assert len(next_client.calls) == 1 and await remaining(user) == 1


@pytest.mark.postgres_only
async def test_a_requeue_racing_the_one_statement_reservation_gives_the_unit_back(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given the worker's own ledger, whose reservation on PostgreSQL is one statement that locks the
    # notice row, takes the unit and marks the notice (bff/notices/send_rows.py): the worker stalls
    # in its withdrawal check, right before it, while a third session holds the notice row
    user = await make_user(units={ORDER_PROGRESS: 2})
    notice = await make_notice(user)
    reached, go = asyncio.Event(), asyncio.Event()

    async def gated_withdrawal(claimed: Notice, now: datetime) -> str | None:
        reached.set()
        await go.wait()
        return None

    client = WaitsForTheSweep()
    worker = make_sender(settings, arq_pool, client, withdrawal=gated_withdrawal)
    stalled = asyncio.create_task(worker.send(notice.id))
    await asyncio.wait_for(reached.wait(), 5)
    holder = await asyncpg.connect(settings.database_url)
    watcher = await asyncpg.connect(settings.database_url)
    try:
        holding = holder.transaction()
        await holding.start()
        await holder.execute("SELECT id FROM notices WHERE id = $1 FOR UPDATE", notice.id)
        go.set()  # the worker's reservation waits for the row
        await until(lambda: _waiting(watcher, 1), "the worker waits for the notice row")
        sweeping = asyncio.create_task(sweep(arq_pool, now=utcnow() + LATER))
        sweeping.add_done_callback(lambda _: client.swept.set())
        await until(lambda: _waiting(watcher, 2, done=sweeping), "the sweeper reaches the notice row")
        await holding.rollback()  # the worker's reservation commits first, then the sweeper goes on
    finally:
        await holder.close()
        await watcher.close()

    # when both have finished
    report = await sweeping
    outcome = await stalled

    # then the sweeper re-queued the notice with the reserved unit given back, and the worker
    # stopped before calling WeChat
    assert report.requeued == 1
    assert outcome.reason == "CLAIM_LOST"
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.QUEUED and not notice.unit_reserved
    assert await remaining(user) == 2


@dataclass
class WaitsForTheSweep(FakeClient):
    """Holds a send request until the sweep has finished. Once the reservation commits, the worker's
    next statement (call_started_at, written as the request starts) and the waiting sweeper race
    for the notice row; holding the request makes the sweeper go first, the case under test."""

    swept: asyncio.Event = field(default_factory=asyncio.Event)

    async def send_subscribe_message(self, **request: Any) -> FakeResult:
        await self.swept.wait()
        return await super().send_subscribe_message(**request)


async def _waiting(conn: asyncpg.Connection, count: int, done: asyncio.Task[Any] | None = None) -> bool:
    return (done is not None and done.done()) or await lock_waiters(conn) >= count
