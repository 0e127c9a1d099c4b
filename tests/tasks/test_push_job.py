"""The ``handle_push_event`` job: stored push events reach their router once, with their user."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from arq import Retry
from arq.connections import ArqRedis
from starlette.applications import Starlette
from tortoise.context import TortoiseContext

import tasks.push
from bff import constants
from bff.models import PushEvent, PushEventStatus, User
from bff.wechat import events
from bff.wechat.push import enqueue_push_jobs
from tasks.push import handle_push_event
from tests.conftest import WorkerFactory
from tests.wechat.client_harness import PROGRESS, running_sandbox

OPENID = "oUSER_openid_example_000005"
SHIPPING = "tmpl-order-shipping-0001"


class Recorder:
    def __init__(self, fail: Exception | None = None) -> None:
        self.calls: list[tuple[events.PushEvent, User]] = []
        self.fail = fail

    async def __call__(self, event: events.PushEvent, user: User) -> None:
        self.calls.append((event, user))
        if self.fail is not None:
            raise self.fail


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    handler = Recorder()
    monkeypatch.setattr(tasks.push, "route_push_event", handler)
    return handler


async def stored_row(openid: str = OPENID) -> PushEvent:
    return await PushEvent.create(
        dedupe_key=f"key-{openid}",
        event="subscribe_msg_popup_event",
        openid=openid,
        template_id=PROGRESS,
        create_time=1767225600,
        details={"status": "accept", "popup_scene": "0"},
        body="<xml/>",
        body_format="xml",
    )


async def test_pushed_events_are_handed_to_the_handler_with_their_user(
    app: Starlette, client: httpx.AsyncClient, arq_pool: ArqRedis, worker: WorkerFactory, recorder: Recorder
) -> None:
    async with running_sandbox(push_app=app) as sb:
        # given a popup push stored by the receiver (its jobs are queued)
        await sb.subscribe(OPENID, {PROGRESS: "accept", SHIPPING: "reject"})
        await sb.pushes()

    # when a worker runs the queue
    completed = await (await worker(functions=[handle_push_event])).run_check()

    # then each event reached the handler once, typed, with the user created for the openid
    assert completed == 2
    assert sorted(
        (e.template_id, e.status) for e, _ in recorder.calls if isinstance(e, events.PopupEvent)
    ) == [
        (PROGRESS, "accept"),
        (SHIPPING, "reject"),
    ]
    user = await User.get(openid=OPENID)
    assert {u.id for _, u in recorder.calls} == {user.id}
    rows = await PushEvent.all()
    assert {row.status for row in rows} == {PushEventStatus.HANDLED}
    assert all(row.handled_at is not None for row in rows)


async def test_a_handled_event_is_not_handled_again(db: TortoiseContext, recorder: Recorder) -> None:
    row = await stored_row()
    assert await handle_push_event({"job_try": 1}, row.id) == "handled"
    assert await handle_push_event({"job_try": 1}, row.id) == "already handled"
    assert len(recorder.calls) == 1


async def test_a_missing_row_is_reported(db: TortoiseContext, recorder: Recorder) -> None:
    assert await handle_push_event({"job_try": 1}, 987654) == "missing"
    assert recorder.calls == []


async def test_a_failing_handler_is_retried_then_marked_failed(
    db: TortoiseContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a handler that always fails
    monkeypatch.setattr(tasks.push, "route_push_event", Recorder(fail=RuntimeError("ledger down")))
    row = await stored_row()

    # when the job runs: early tries ask arq for a retry, the last one gives up
    with pytest.raises(Retry):
        await handle_push_event({"job_try": 1}, row.id)
    assert (await PushEvent.get(id=row.id)).status is PushEventStatus.RECEIVED
    with pytest.raises(RuntimeError):
        await handle_push_event({"job_try": constants.PUSH_JOB_MAX_TRIES}, row.id)

    # then the row says it failed, and why
    failed = await PushEvent.get(id=row.id)
    assert failed.status is PushEventStatus.FAILED
    assert failed.error is not None and "ledger down" in failed.error


async def test_the_job_id_dedupes_enqueues(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    row = await stored_row()
    assert await enqueue_push_jobs(arq_pool, [row.id]) == 1
    assert await enqueue_push_jobs(arq_pool, [row.id]) == 0
    jobs: list[Any] = await arq_pool.queued_jobs()
    assert [(job.function, job.args, job.job_id) for job in jobs] == [
        (constants.JOB_HANDLE_PUSH_EVENT, (row.id,), f"push:{row.id}")
    ]


async def test_other_events_create_no_user(db: TortoiseContext, recorder: Recorder) -> None:
    # given a shipping event from an openid that is not a user of ours
    row = await PushEvent.create(
        dedupe_key="key-other",
        event="trade_manage_remind_shipping",
        openid="oSYSTEM_account_000000000001",
        create_time=1767225600,
        details={"fields": {"transaction_id": "4200000001"}},
        body="<xml/>",
        body_format="xml",
    )

    # when
    outcome = await handle_push_event({"job_try": 1}, row.id)

    # then it is handled without creating a user or routing it
    assert outcome == "handled"
    assert await User.filter(openid="oSYSTEM_account_000000000001").count() == 0
    assert recorder.calls == []


async def test_other_events_of_a_known_user_reach_the_handler(
    db: TortoiseContext, recorder: Recorder
) -> None:
    user = await User.create(openid=OPENID)
    row = await PushEvent.create(
        dedupe_key="key-other-known",
        event="trade_manage_order_settlement",
        openid=OPENID,
        create_time=1767225600,
        details={"fields": {"transaction_id": "4200000002"}},
        body="<xml/>",
        body_format="xml",
    )
    await handle_push_event({"job_try": 1}, row.id)
    [(event, handled_user)] = recorder.calls
    assert isinstance(event, events.OtherEvent)
    assert event.fields == {"transaction_id": "4200000002"}
    assert handled_user.id == user.id
