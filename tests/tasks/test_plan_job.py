"""The planning job (tasks/notices.py): a run that fails after inserting notices is retried, and
the retry decides what it left PLANNED without creating or queueing anything twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from arq import func
from arq.connections import ArqRedis
from arq.worker import Function

from bff import constants
from bff.catalog.topics import Topic
from bff.consent import ledger
from bff.consent.preferences import PreferencesUpdate, update_preferences
from bff.inbound.supply_chain import hand_over, ingest_body
from bff.models import Notice, NoticeStatus, User
from bff.notices import planner
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from tasks.notices import plan_notices_for_event
from tasks.worker import FUNCTIONS
from tests.conftest import WorkerFactory

pytestmark = pytest.mark.usefixtures("db")

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHIPPING = "tmpl-order-shipping-0001"
OPENID = "oPLANJOB000000000000000001"


def plan_job() -> Function:
    """The planning job as the worker registers it."""
    [job] = [f for f in FUNCTIONS if isinstance(f, Function) and f.name == constants.JOB_PLAN_EVENT]
    return job


async def test_a_planning_run_that_fails_after_inserting_is_retried_and_queues_the_notice_once(
    arq_pool: ArqRedis, worker: WorkerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a paid order with a shipping unit (today, so that nothing has expired), whose
    # OUTBOUND event is handed over for planning
    now = datetime.now(UTC)
    placed_at = now - timedelta(hours=2)
    await ingest_body(b.body(b.placed("SO1", OPENID, placed_at), b.paid("SO1", placed_at)))
    user = await User.get(openid=OPENID)
    await ledger.credit(user.id, SHIPPING, 1)
    # (no quiet hours, whatever time the suite runs at)
    await update_preferences(user.id, PreferencesUpdate(quiet_hours=None))
    result = await ingest_body(b.body(b.node("SO1", "OUTBOUND", now - timedelta(minutes=1))))
    await hand_over(arq_pool, result.plans)

    # and a database that drops the connection once, right after the notice was inserted
    failures: list[str] = []
    real_load = planner.load_user_facts

    async def flaky_load(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append("lost")
            assert await Notice.filter(status=NoticeStatus.PLANNED).count() == 1
            raise ConnectionResetError("connection to the database was lost")
        return await real_load(*args, **kwargs)

    monkeypatch.setattr(planner, "load_user_facts", flaky_load)

    # when a worker runs the planning job (sends are not this test's business: their job only
    # records which notice it was queued for)
    send_jobs: list[int] = []

    async def record_send(ctx: dict[str, Any], notice_id: int) -> None:
        send_jobs.append(notice_id)

    w = await worker(functions=[plan_job(), func(record_send, name=constants.JOB_SEND_NOTICE)])
    await w.run_check()

    # then the failed run was retried, and the one notice is queued with one send job
    assert failures == ["lost"]
    assert (w.jobs_retried, w.jobs_failed) == (1, 0)
    outbound = await Notice.get(topic=Topic.NODE_OUTBOUND)
    assert outbound.status is NoticeStatus.QUEUED
    assert await Notice.all().count() == 1
    assert send_jobs == [outbound.id]


async def test_an_event_whose_planning_gave_up_is_handed_over_again_when_delivered_again(
    arq_pool: ArqRedis, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    # given an OUTBOUND event handed over for planning, and a planner that fails every time
    now = datetime.now(UTC)
    placed_at = now - timedelta(hours=2)
    await ingest_body(b.body(b.placed("SO1", OPENID, placed_at), b.paid("SO1", placed_at)))
    outbound = b.node("SO1", "OUTBOUND", now - timedelta(minutes=1))
    [plan] = (await ingest_body(b.body(outbound))).plans
    await hand_over(arq_pool, [plan])

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a planner bug")

    monkeypatch.setattr(planner, "plan_event", broken)

    # when its last try fails too
    ctx = {"settings": settings, "redis": arq_pool, "job_try": constants.PLAN_JOB_MAX_TRIES}
    with pytest.raises(RuntimeError):
        await plan_notices_for_event(ctx, plan.event_row_id)

    # then the supply chain delivering the same event again hands it over again
    again = await ingest_body(b.body(outbound))
    assert (again.accepted, again.duplicates) == (0, 1)
    assert [p.event_row_id for p in again.plans] == [plan.event_row_id]


async def test_an_outage_on_the_last_planning_try_is_left_to_the_engine_retry(
    arq_pool: ArqRedis, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    # given an event handed over for planning, and a database that is away
    now = datetime.now(UTC)
    placed_at = now - timedelta(hours=2)
    await ingest_body(b.body(b.placed("SO2", OPENID, placed_at), b.paid("SO2", placed_at)))
    outbound = b.node("SO2", "OUTBOUND", now - timedelta(minutes=1))
    [plan] = (await ingest_body(b.body(outbound))).plans
    await hand_over(arq_pool, [plan])

    async def away(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionResetError("connection to the database was lost")

    monkeypatch.setattr(planner, "plan_event", away)

    # when what would be the planner's last own try meets the outage
    ctx = {"settings": settings, "redis": arq_pool, "job_try": constants.PLAN_JOB_MAX_TRIES}
    with pytest.raises(ConnectionResetError):
        await plan_notices_for_event(ctx, plan.event_row_id)

    # then the job does not give up (tasks/engines.py retries it while the engine is away):
    # the event stays handed over, so a redelivery does not plan it a second time
    again = await ingest_body(b.body(outbound))
    assert (again.accepted, again.duplicates, again.plans) == (0, 1, [])
