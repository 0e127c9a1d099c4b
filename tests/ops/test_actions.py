"""Operators' actions (bff/ops/actions.py): what changes, what is queued, what the audit log says."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from arq.connections import ArqRedis
from arq.constants import default_queue_name
from tortoise.context import TortoiseContext

from bff.consent.alerts import AlertKind, raise_alert
from bff.models import CommandStatus, CommandType, Notice, NoticeStatus, OpsAlert, OpsAudit, OutboxCommand
from bff.notices.jobs import send_job_id
from bff.ops import actions
from bff.ops.search import list_alerts
from bff.supply_chain.outbox import send_job_id as command_job_id
from tests.notices.send_fixtures import ORDER_PROGRESS, make_user
from tests.ops.fixtures import failed_notice


async def queued_job_ids(redis: ArqRedis) -> set[str]:
    return {job_id.decode() for job_id in await redis.zrange(default_queue_name, 0, -1)}


async def test_resending_a_failed_notice_queues_the_same_row_and_records_who(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a notice that failed after WeChat was busy every time, and a unit left
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await failed_notice(user)

    # when alice resends it
    done = await actions.resend_notice(arq_pool, operator="alice", notice_id=str(notice.id))

    # then the same row is QUEUED with its send job, and the audit log names alice
    assert done.refusal is None and done.target is not None
    assert done.target.id == notice.id and done.target.status == "QUEUED"
    assert await Notice.filter(user_id=user.id).count() == 1
    assert await queued_job_ids(arq_pool) == {send_job_id(notice.id)}
    [entry] = await OpsAudit.all()
    assert (entry.operator, entry.action, entry.target_kind, entry.target_id, entry.outcome) == (
        "alice",
        "resendNotice",
        "NOTICE",
        str(notice.id),
        "OK",
    )
    assert entry.detail == "was FAILED RETRIES_EXHAUSTED errcode -1"


@pytest.mark.parametrize(
    ("notice_id", "code"), [("999999", "NOT_FOUND"), ("not-an-id", "NOT_FOUND"), (None, "NO_UNIT")]
)
async def test_a_refused_resend_changes_nothing_and_is_recorded(
    db: TortoiseContext, arq_pool: ArqRedis, notice_id: str | None, code: str
) -> None:
    # given a failed notice whose user has no unit left
    notice = await failed_notice(await make_user())
    target = notice_id or str(notice.id)

    # when it (or something that is no notice) is resent
    done = await actions.resend_notice(arq_pool, operator="bob", notice_id=target)

    # then nothing moved, no job was queued, and the refusal is in the audit log
    assert done.refusal is not None and done.refusal.code == code
    assert (await Notice.get(id=notice.id)).status is NoticeStatus.FAILED
    assert await queued_job_ids(arq_pool) == set()
    [entry] = await OpsAudit.all()
    assert (entry.operator, entry.target_id, entry.outcome) == ("bob", target, code)


@pytest.mark.postgres_only
async def test_concurrent_resends_of_one_notice_queue_it_once(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a failed notice with units enough for several sends
    user = await make_user(units={ORDER_PROGRESS: 5})
    notice = await failed_notice(user)

    # when eight operators resend it at the same moment
    results = await asyncio.gather(
        *(actions.resend_notice(arq_pool, operator=f"op{i}", notice_id=str(notice.id)) for i in range(8))
    )

    # then exactly one resend happened; the others were told it is no longer FAILED
    assert sum(1 for done in results if done.refusal is None) == 1
    assert sorted(done.refusal.code for done in results if done.refusal is not None) == ["NOT_FAILED"] * 7
    assert (await Notice.get(id=notice.id)).status is NoticeStatus.QUEUED
    assert await queued_job_ids(arq_pool) == {send_job_id(notice.id)}
    outcomes = sorted(await OpsAudit.all().values_list("outcome", flat=True))
    assert outcomes == ["NOT_FAILED"] * 7 + ["OK"]


async def make_command(status: CommandStatus) -> OutboxCommand:
    now = datetime.now(UTC)
    return await OutboxCommand.create(
        command_id=uuid4(),
        type=CommandType.RECEIPT_CONFIRMED,
        decision_key=f"receipt:{uuid4()}",
        order_no="SO-OPS-1",
        payload={"commandId": "x"},
        status=status,
        attempts=12,
        last_status_code=422,
        last_error="refused: unknown order",
        next_attempt_at=now - timedelta(hours=1),
        failed_at=now - timedelta(hours=1) if status is CommandStatus.FAILED else None,
    )


async def test_retrying_a_failed_command_makes_it_pending_due_now_and_queues_it(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    command = await make_command(CommandStatus.FAILED)
    before = datetime.now(UTC)

    done = await actions.retry_command(arq_pool, operator="alice", command_id=str(command.command_id))

    assert done.refusal is None
    row = await OutboxCommand.get(id=command.id)
    assert (row.status, row.attempts, row.failed_at) == (CommandStatus.PENDING, 0, None)
    assert before <= row.next_attempt_at <= datetime.now(UTC)
    assert await queued_job_ids(arq_pool) == {command_job_id(command.command_id)}
    assert await OpsAudit.filter(action="retryCommand", outcome="OK", operator="alice").count() == 1


async def test_only_a_failed_command_is_retried(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    command = await make_command(CommandStatus.SENT)

    done = await actions.retry_command(arq_pool, operator="alice", command_id=str(command.command_id))
    missing = await actions.retry_command(arq_pool, operator="alice", command_id="nope")

    assert done.refusal is not None and done.refusal.code == "NOT_RETRYABLE"
    assert missing.refusal is not None and missing.refusal.code == "NOT_FOUND"
    assert (await OutboxCommand.get(id=command.id)).status is CommandStatus.SENT
    assert await queued_job_ids(arq_pool) == set()
    assert sorted(await OpsAudit.all().values_list("outcome", flat=True)) == ["NOT_FOUND", "NOT_RETRYABLE"]


async def test_an_acknowledged_alert_leaves_the_list_until_it_is_seen_again(db: TortoiseContext) -> None:
    # given an alert
    await raise_alert(AlertKind.CREDENTIALS, user_id=None, template_id=None, detail="40013")
    alert = await OpsAlert.get()

    # when bob acknowledges it
    done = await actions.acknowledge_alert(operator="bob", alert_id=str(alert.id))

    # then it carries who and when, and no longer needs attention
    assert done.target is not None and done.target.acknowledged_by == "bob"
    assert done.target.acknowledged_at is not None
    assert (await list_alerts(include_acknowledged=False, first=10, after=None)).nodes == []
    assert len((await list_alerts(include_acknowledged=True, first=10, after=None)).nodes) == 1
    # and when it happens again it is back
    await raise_alert(
        AlertKind.CREDENTIALS,
        user_id=None,
        template_id=None,
        detail="40013",
        now=datetime.now(UTC) + timedelta(seconds=1),
    )
    [again] = (await list_alerts(include_acknowledged=False, first=10, after=None)).nodes
    assert again.count == 2
    assert await OpsAudit.filter(action="acknowledgeAlert", outcome="OK").count() == 1


async def test_acknowledging_no_alert_is_refused_and_recorded(db: TortoiseContext) -> None:
    done = await actions.acknowledge_alert(operator="bob", alert_id="42")
    assert done.refusal is not None and done.refusal.code == "NOT_FOUND"
    assert await OpsAudit.filter(outcome="NOT_FOUND", target_kind="ALERT", target_id="42").count() == 1
