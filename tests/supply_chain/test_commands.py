"""Commands to the supply chain: bodies, signing, and delivery by the worker to a real HTTP receiver
(bff/supply_chain/commands.py, bff/supply_chain/outbox.py, tasks/commands.py)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from arq.connections import ArqRedis
from arq.worker import FailedJobs, Worker
from tortoise.context import TortoiseContext

from bff import constants
from bff.models import CommandStatus, DecidedBy, OrderStatus, OutboxCommand
from bff.orders.decisions import confirm_receipt
from bff.runtime.backoff import RetryPolicy
from bff.runtime.settings import Settings
from bff.supply_chain import commands
from bff.supply_chain.commands import Outcome, classify_status, encode_body, parse_retry_after
from bff.supply_chain.outbox import (
    COMMAND_RETRY,
    deliver,
    due_command_ids,
    enqueue_send,
    enqueue_sends,
    failed_commands,
    retry_failed_command,
    send_job_id,
)
from bff.supply_chain.signing import verify
from tasks.commands import NOT_CONFIGURED, dispatch_commands, send_command
from tests.conftest import WorkerFactory
from tests.orders.scenarios import openid_for, place_order, user_of
from tests.supply_chain.receiver import CommandReceiver, closed_port_url, serve_receiver

ALICE = openid_for("alice")
FAST = replace(COMMAND_RETRY, base_s=0.02, cap_s=0.1)
COMMAND_ID = UUID("3f0c8a52-7d4e-4b8e-9a51-0d2f5c1e9b77")
AT = datetime(2026, 11, 20, 1, 30, 5, 250000, tzinfo=UTC)


# ---------------------------------------------------------------- bodies (pure)


def test_each_command_body_has_exactly_the_contract_fields_in_order() -> None:
    # given one command of each type
    bodies = [
        commands.exception_resolved(
            command_id=COMMAND_ID,
            exception_id="EXC-1",
            order_no="SO1",
            option="WAIT",
            decided_by=DecidedBy.DEFAULT,
            decided_at=AT,
        ),
        commands.delivery_slot_chosen(
            command_id=COMMAND_ID, order_no="SO1", slot_id="SLOT-AM", decided_by=DecidedBy.USER, decided_at=AT
        ),
        commands.receipt_confirmed(command_id=COMMAND_ID, order_no="SO1", confirmed_at=AT, rating=None),
    ]

    # when they are encoded (from a reordered copy, as PostgreSQL JSONB gives them back)
    encoded = [encode_body(dict(reversed(list(body.items())))) for body in bodies]

    # then
    key = '"commandId":"3f0c8a52-7d4e-4b8e-9a51-0d2f5c1e9b77"'
    assert encoded == [
        (
            "{" + key + ',"type":"exception.resolved","exceptionId":"EXC-1","orderNo":"SO1",'
            '"option":"WAIT","decidedBy":"DEFAULT","decidedAt":"2026-11-20T01:30:05.250+00:00"}'
        ).encode(),
        (
            "{" + key + ',"type":"delivery_slot.chosen","orderNo":"SO1","slotId":"SLOT-AM",'
            '"decidedBy":"USER","decidedAt":"2026-11-20T01:30:05.250+00:00"}'
        ).encode(),
        (
            "{" + key + ',"type":"receipt.confirmed","orderNo":"SO1",'
            '"confirmedAt":"2026-11-20T01:30:05.250+00:00","rating":null}'
        ).encode(),
    ]


def test_a_body_missing_a_contract_field_is_refused() -> None:
    # given
    body = commands.receipt_confirmed(command_id=COMMAND_ID, order_no="SO1", confirmed_at=AT, rating=3)
    del body["confirmedAt"]

    # when / then
    with pytest.raises(ValueError, match="confirmedAt"):
        encode_body(body)


def test_answers_are_classified_as_the_contract_says() -> None:
    # when / then
    assert {code: classify_status(code) for code in (200, 201, 202, 204, 299)} == dict.fromkeys(
        (200, 201, 202, 204, 299), Outcome.SENT
    )
    assert {code: classify_status(code) for code in (408, 429, 500, 502, 503, 504, 599)} == dict.fromkeys(
        (408, 429, 500, 502, 503, 504, 599), Outcome.RETRY
    )
    assert {
        code: classify_status(code) for code in (301, 400, 401, 403, 404, 409, 410, 422)
    } == dict.fromkeys((301, 400, 401, 403, 404, 409, 410, 422), Outcome.FAILED)


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    now = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Fri, 20 Nov 2026 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Fri, 20 Nov 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


# ---------------------------------------------------------------- delivery through the worker


def settings_for(settings: Settings, url: str | None, secret: str | None = None) -> Settings:
    return replace(
        settings, supply_chain_callback_url=url, supply_chain_secret=secret or settings.supply_chain_secret
    )


async def command_worker(
    worker: WorkerFactory, settings: Settings, http: httpx.AsyncClient, policy: RetryPolicy = FAST
) -> Worker:
    ctx: dict[str, Any] = {
        "settings": settings,
        "http": http,
        "worker_id": "test-worker",
        "started_at": datetime.now(UTC),
        "command_retry_policy": policy,
    }
    return await worker(ctx=ctx)


async def a_receipt_command(order_no: str = "SO-CMD-1", rating: int | None = 8) -> UUID:
    """A real decision: the user confirms receipt of a delivered order."""
    await place_order(order_no, ALICE, OrderStatus.DELIVERED)
    decision = await confirm_receipt((await user_of(ALICE)).id, order_no, rating=rating)
    return decision.command_id


async def test_503s_are_retried_and_the_command_arrives_once_with_one_key(
    db: TortoiseContext,
    arq_pool: ArqRedis,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
) -> None:
    # given a receiver that is unavailable twice, then fine
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret, answers=[503, 503])) as receiver:
        command_id = await a_receipt_command()
        await enqueue_send(arq_pool, command_id)

        # when the worker runs until nothing is left
        w = await command_worker(worker, settings_for(settings, receiver.url), http)
        await w.run_check()

    # then three attempts went out, each signed, all the same bytes under the same key
    assert [r.answered for r in receiver.received] == [503, 503, 200]
    assert all(r.signature_ok for r in receiver.received)
    assert {r.idempotency_key for r in receiver.received} == {str(command_id)}
    assert len({r.body for r in receiver.received}) == 1
    assert receiver.accepted_keys == [str(command_id)]
    body = receiver.received[0].json
    assert (body["commandId"], body["type"], body["orderNo"], body["rating"]) == (
        str(command_id),
        "receipt.confirmed",
        "SO-CMD-1",
        8,
    )
    # and the outbox knows it was delivered, on the third attempt, by retrying the same job
    row = await OutboxCommand.get(command_id=command_id)
    assert (row.status, row.attempts, row.last_status_code) == (CommandStatus.SENT, 3, 200)
    assert row.sent_at is not None
    assert (w.jobs_complete, w.jobs_retried, w.jobs_failed) == (1, 2, 0)


async def test_408_and_429_are_retried_too(
    db: TortoiseContext,
    arq_pool: ArqRedis,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
) -> None:
    # given
    answers: list[int | tuple[int, dict[str, str]]] = [408, (429, {"Retry-After": "0"})]
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret, answers=answers)) as receiver:
        command_id = await a_receipt_command()
        await enqueue_send(arq_pool, command_id)

        # when
        w = await command_worker(worker, settings_for(settings, receiver.url), http)
        await w.run_check()

    # then
    assert [r.answered for r in receiver.received] == [408, 429, 200]
    assert (await OutboxCommand.get(command_id=command_id)).status == CommandStatus.SENT


async def test_a_400_ends_the_command_as_failed_for_operators(
    db: TortoiseContext,
    arq_pool: ArqRedis,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
) -> None:
    # given a receiver that refuses the command
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret, answers=[400])) as receiver:
        command_id = await a_receipt_command()
        await enqueue_send(arq_pool, command_id)

        # when
        w = await command_worker(worker, settings_for(settings, receiver.url), http)
        await w.run_check()

    # then it was tried once and is FAILED with the receiver's answer
    assert [r.answered for r in receiver.received] == [400]
    row = await OutboxCommand.get(command_id=command_id)
    assert (row.status, row.attempts, row.last_status_code) == (CommandStatus.FAILED, 1, 400)
    assert row.last_error is not None and "scripted 400" in row.last_error
    assert row.failed_at is not None
    # and operators see it among the failed commands
    assert [c.command_id for c in await failed_commands()] == [command_id]


async def test_a_wrong_secret_is_refused_by_the_receiver_and_fails(
    db: TortoiseContext,
    arq_pool: ArqRedis,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
) -> None:
    # given a receiver that knows another secret
    async with serve_receiver(CommandReceiver("the-receivers-own-secret")) as receiver:
        command_id = await a_receipt_command()
        await enqueue_send(arq_pool, command_id)

        # when
        w = await command_worker(worker, settings_for(settings, receiver.url), http)
        await w.run_check()

    # then
    assert [(r.signature_ok, r.answered) for r in receiver.received] == [(False, 401)]
    row = await OutboxCommand.get(command_id=command_id)
    assert (row.status, row.last_status_code) == (CommandStatus.FAILED, 401)


async def test_network_errors_are_retried(
    db: TortoiseContext, arq_pool: ArqRedis, worker: WorkerFactory, settings: Settings
) -> None:
    # given a connection that is refused, then one that times out, then an answer
    seen: list[bytes] = []

    def transport(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        if len(seen) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        if len(seen) == 2:
            raise httpx.ReadTimeout("timed out", request=request)
        verify(settings.supply_chain_secret, request.headers, request.content)
        return httpx.Response(202, json={"ok": True})

    command_id = await a_receipt_command()
    await enqueue_send(arq_pool, command_id)

    # when
    async with httpx.AsyncClient(transport=httpx.MockTransport(transport)) as http:
        w = await command_worker(worker, settings_for(settings, "http://supply-chain.test/commands"), http)
        await w.run_check()

    # then the same body went out three times and was delivered
    assert len(seen) == 3 and len(set(seen)) == 1
    row = await OutboxCommand.get(command_id=command_id)
    assert (row.status, row.attempts, row.last_status_code) == (CommandStatus.SENT, 3, 202)


async def test_an_unreachable_receiver_is_retried_until_attempts_run_out(
    db: TortoiseContext,
    arq_pool: ArqRedis,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
) -> None:
    # given nobody listening, and three attempts allowed
    command_id = await a_receipt_command()
    await enqueue_send(arq_pool, command_id)

    # when
    policy = replace(COMMAND_RETRY, max_attempts=3, base_s=0.02, cap_s=0.05)
    w = await command_worker(worker, settings_for(settings, closed_port_url()), http, policy)
    await w.run_check()

    # then the command is FAILED with the reason, for operators
    row = await OutboxCommand.get(command_id=command_id)
    assert (row.status, row.attempts, row.last_status_code) == (CommandStatus.FAILED, 3, None)
    assert row.last_error is not None and row.last_error.startswith("gave up after 3 attempts; last: Connect")
    assert (w.jobs_retried, w.jobs_complete) == (2, 1)


async def test_without_a_callback_url_commands_stay_in_the_outbox(
    db: TortoiseContext,
    arq_pool: ArqRedis,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
) -> None:
    # given no SUPPLY_CHAIN_CALLBACK_URL (the default)
    unset = settings_for(settings, None)
    command_id = await a_receipt_command()
    await enqueue_send(arq_pool, command_id)

    # when the send job and the dispatcher run
    outcome = await send_command({"settings": unset, "http": http}, str(command_id))
    queued = await dispatch_commands({"settings": unset, "redis": arq_pool})

    # then nothing was attempted and the command waits, PENDING
    assert (outcome, queued) == (NOT_CONFIGURED, 0)
    row = await OutboxCommand.get(command_id=command_id)
    assert (row.status, row.attempts) == (CommandStatus.PENDING, 0)


async def test_the_dispatcher_queues_a_command_whose_enqueue_was_lost(
    db: TortoiseContext,
    arq_pool: ArqRedis,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
) -> None:
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret)) as receiver:
        # given a decision whose send job was never queued (Redis was away after the commit)
        command_id = await a_receipt_command()
        ctx = {"settings": settings_for(settings, receiver.url), "redis": arq_pool}

        # when the dispatcher runs twice before a worker picks the job up
        first, second = await dispatch_commands(ctx), await dispatch_commands(ctx)
        w = await command_worker(worker, settings_for(settings, receiver.url), http)
        await w.run_check()

    # then it was queued once and delivered once
    assert (first, second) == (1, 0)
    assert [r.idempotency_key for r in receiver.received] == [str(command_id)]
    assert (await OutboxCommand.get(command_id=command_id)).status == CommandStatus.SENT


async def test_a_command_whose_sender_crashed_is_taken_up_after_its_lease(
    db: TortoiseContext, settings: Settings, http: httpx.AsyncClient
) -> None:
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret)) as receiver:
        # given a command a worker claimed and then died with (SENDING, lease running)
        command_id = await a_receipt_command()
        lease_end = datetime.now(UTC) + timedelta(seconds=30)
        await OutboxCommand.filter(command_id=command_id).update(
            status=CommandStatus.SENDING, attempts=1, next_attempt_at=lease_end
        )

        # when a sender looks at it during the lease, and again after it
        during = await deliver(
            http, url=receiver.url, secret=settings.supply_chain_secret, command_id=command_id
        )
        await OutboxCommand.filter(command_id=command_id).update(next_attempt_at=datetime.now(UTC))
        due = await due_command_ids()
        after = await deliver(
            http, url=receiver.url, secret=settings.supply_chain_secret, command_id=command_id
        )

    # then it is left alone during the lease, due after it, and then delivered
    assert (during.attempted, during.status) == (False, CommandStatus.SENDING)
    assert due == [command_id]
    assert (after.attempted, after.status) == (True, CommandStatus.SENT)
    assert (await OutboxCommand.get(command_id=command_id)).attempts == 2


async def test_two_senders_of_one_command_send_it_once(
    db: TortoiseContext, settings: Settings, http: httpx.AsyncClient
) -> None:
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret)) as receiver:
        # given a due command
        command_id = await a_receipt_command()

        # when four senders run it at the same moment (a duplicate job, a dispatcher, …)
        reports = await asyncio.gather(
            *[
                deliver(http, url=receiver.url, secret=settings.supply_chain_secret, command_id=command_id)
                for _ in range(4)
            ]
        )

    # then one of them sent it, once
    assert sum(r.attempted for r in reports) == 1
    assert len(receiver.received) == 1


async def test_operators_can_send_a_failed_command_again_under_its_id(
    db: TortoiseContext,
    arq_pool: ArqRedis,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
) -> None:
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret, answers=[422])) as receiver:
        # given a command the receiver refused (its side has since been fixed)
        command_id = await a_receipt_command()
        await enqueue_send(arq_pool, command_id)
        ready = settings_for(settings, receiver.url)
        await (await command_worker(worker, ready, http)).run_check()
        assert (await OutboxCommand.get(command_id=command_id)).status == CommandStatus.FAILED

        # when an operator retries it
        retried = await retry_failed_command(command_id)
        await enqueue_send(arq_pool, command_id)
        await (await command_worker(worker, ready, http)).run_check()

    # then it went out again with the same commandId and arrived
    assert retried
    assert [r.answered for r in receiver.received] == [422, 200]
    assert {r.idempotency_key for r in receiver.received} == {str(command_id)}
    assert json.loads(receiver.received[1].body)["commandId"] == str(command_id)
    assert (await OutboxCommand.get(command_id=command_id)).status == CommandStatus.SENT
    assert await failed_commands() == []


async def test_a_second_enqueue_of_a_waiting_command_is_refused(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given
    command_id = await a_receipt_command()

    # when
    first, second = await enqueue_send(arq_pool, command_id), await enqueue_send(arq_pool, command_id)

    # then one job, under the command's id
    assert (first, second) == (True, False)
    assert [job.job_id for job in await arq_pool.queued_jobs()] == [
        f"{constants.COMMAND_JOB_ID_PREFIX}{command_id}"
    ]


async def test_a_receiver_that_never_answers_is_a_retry_after_the_time_limit() -> None:
    # given a receiver that accepts the connection and then says nothing
    async def silent(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    body = commands.receipt_confirmed(command_id=COMMAND_ID, order_no="SO1", confirmed_at=AT, rating=1)

    # when
    async with httpx.AsyncClient(transport=httpx.MockTransport(silent)) as http:
        delivery = await commands.post_command(
            http, url="http://supply-chain.test/commands", secret="s" * 16, payload=body, timeout_s=0.05
        )

    # then
    assert (delivery.outcome, delivery.status_code) == (Outcome.RETRY, None)
    assert delivery.detail == "no answer within 0.05 s"


async def test_a_lost_enqueue_after_the_commit_is_logged_not_raised(
    db: TortoiseContext, caplog: pytest.LogCaptureFixture
) -> None:
    # given a decision committed while Redis is unreachable
    command_id = await a_receipt_command()
    unreachable = ArqRedis.from_url(closed_port_url().replace("http://", "redis://").split("/commands")[0])

    # when its send is queued
    try:
        queued = await enqueue_sends(unreachable, [command_id])
    finally:
        await unreachable.aclose()

    # then nothing was queued, the caller carries on, and the command waits for the dispatcher
    assert queued == 0
    assert "could not queue 1 command sends" in caplog.text
    assert await due_command_ids() == [command_id]


async def test_the_dispatcher_takes_up_a_command_whose_job_failed_in_arq(
    db: TortoiseContext,
    arq_pool: ArqRedis,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
) -> None:
    # given a command whose send job used up its arq tries: arq fails it without running and keeps
    # that failure as a result for the worker's keep_result (an hour), refusing the job id meanwhile
    command_id = await a_receipt_command()
    used_up = constants.COMMAND_MAX_ATTEMPTS + 6
    await arq_pool.enqueue_job(
        constants.JOB_SEND_COMMAND, str(command_id), _job_id=send_job_id(command_id), _job_try=used_up
    )
    url = "http://supply-chain.test/commands"
    ctx = {"settings": settings_for(settings, url), "http": http, "command_retry_policy": FAST}
    with pytest.raises(FailedJobs, match="retries exceeded"):
        await (await worker(ctx=ctx, keep_result=3600)).run_check()
    assert await enqueue_send(arq_pool, command_id) is False

    # when the dispatcher runs, then a worker
    queued = await dispatch_commands({"settings": settings_for(settings, url), "redis": arq_pool})
    seen: list[str] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Idempotency-Key"])
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(receiver)) as client:
        await (await command_worker(worker, settings_for(settings, url), client)).run_check()

    # then the command was queued again and delivered, under its own id
    assert queued == 1
    assert seen == [str(command_id)]
    row = await OutboxCommand.get(command_id=command_id)
    assert (row.status, row.attempts) == (CommandStatus.SENT, 1)
