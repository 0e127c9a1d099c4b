"""What operators do: resend a FAILED notice, retry a FAILED supply-chain command, acknowledge an
alert. Each call writes one audit row (bff/ops/audit.py), whether it changed something (outcome
OK, in the same transaction as the change) or was refused (outcome = the refusal's code).

Resend (the rule: bff/ops/rules.py). The SAME notice row goes FAILED → QUEUED with ONE
conditional UPDATE (still FAILED, no msgid, no sent_at, no unit held): of two operators resending
at once only one moves it, the other is told NOT_FAILED. Its send job (``send:<notice id>``,
bff/notices/jobs.py) is then queued; the sender claims, asks the policy again, reserves a unit and
calls WeChat as for any send. Were the enqueue lost, the sweeper queues a QUEUED notice's job again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from arq.connections import ArqRedis
from redis.exceptions import RedisError
from tortoise.transactions import in_transaction

from bff.models.commands import CommandStatus, OutboxCommand
from bff.models.consent import OpsAlert
from bff.models.notices import Notice, NoticeStatus
from bff.notices.jobs import enqueue_send
from bff.ops import audit
from bff.ops.rules import Refusal, load_resend_facts, resend_refusal
from bff.ops.search import AlertView, NoticeView, alert_view, command_uuid, notice_view, parse_row_id
from bff.supply_chain import outbox

__all__ = ["Done", "acknowledge_alert", "resend_notice", "retry_command"]

log = logging.getLogger("lvyue.ops.actions")

T = TypeVar("T")


@dataclass(frozen=True)
class Done(Generic[T]):
    """The target as it is after the action (None when it does not exist), and the refusal."""

    target: T | None
    refusal: Refusal | None = None


def utcnow() -> datetime:
    return datetime.now(UTC)


def _not_found(kind: str, raw_id: str) -> Refusal:
    return Refusal("NOT_FOUND", f"no {kind} with id {raw_id[:64]!r}")


async def resend_notice(
    redis: ArqRedis, *, operator: str, notice_id: str, now: datetime | None = None
) -> Done[NoticeView]:
    at = now or utcnow()
    row_id = parse_row_id(notice_id)
    notice = None if row_id is None else await Notice.get_or_none(id=row_id)
    refusal: Refusal | None
    if notice is None:
        refusal = _not_found("notice", notice_id)
    else:
        facts = await load_resend_facts([notice])
        refusal = resend_refusal(notice, facts.get(notice.id), at)
    if notice is not None and refusal is None:
        before = f"was FAILED {notice.reason}" + (
            f" errcode {notice.errcode}" if notice.errcode is not None else ""
        )
        async with in_transaction():
            moved = await Notice.filter(
                id=notice.id,
                status=NoticeStatus.FAILED,
                msgid__isnull=True,
                sent_at__isnull=True,
                unit_reserved=False,
            ).update(
                status=NoticeStatus.QUEUED,
                reason=None,
                sending_since=None,
                call_started_at=None,
                outcome_unknown_at=None,
                updated_at=at,
            )
            if moved:
                await audit.record(
                    operator=operator,
                    action="resendNotice",
                    target_kind="NOTICE",
                    target_id=str(notice.id),
                    outcome=audit.OK,
                    detail=before,
                    at=at,
                )
        if moved:
            try:
                await enqueue_send(redis, notice.id, clear_finished=True)
            except (RedisError, OSError) as exc:  # the sweeper queues a QUEUED notice's job again
                log.warning(
                    "notice %d resent but its send job was not queued (the sweeper will): %r", notice.id, exc
                )
            return Done(await notice_view(notice.id))
        refusal = Refusal("NOT_FAILED", f"notice {notice.id} changed meanwhile (resent by someone else?)")
    assert refusal is not None
    await audit.record(
        operator=operator,
        action="resendNotice",
        target_kind="NOTICE",
        target_id=notice_id,
        outcome=refusal.code,
        detail=refusal.message,
        at=at,
    )
    return Done(None if notice is None else await notice_view(notice.id), refusal)


async def retry_command(
    redis: ArqRedis, *, operator: str, command_id: str, now: datetime | None = None
) -> Done[OutboxCommand]:
    """A FAILED command goes back to PENDING, due now, with a fresh set of attempts (it keeps its
    commandId, so the supply chain still deduplicates it), and its send job is queued."""
    at = now or utcnow()
    uuid = command_uuid(command_id)
    command = None if uuid is None else await OutboxCommand.get_or_none(command_id=uuid)
    refusal: Refusal | None = None
    if command is None or uuid is None:
        refusal = _not_found("command", command_id)
    elif command.status is not CommandStatus.FAILED:
        refusal = Refusal(
            "NOT_RETRYABLE", f"command {uuid} is {command.status.value}; only FAILED commands are retried"
        )
    else:
        async with in_transaction():
            retried = await outbox.retry_failed_command(uuid, now=at)
            if retried:
                await audit.record(
                    operator=operator,
                    action="retryCommand",
                    target_kind="COMMAND",
                    target_id=str(uuid),
                    outcome=audit.OK,
                    detail=f"was FAILED after {command.attempts} attempts: {command.last_error or '-'}",
                    at=at,
                )
        if retried:
            try:
                await outbox.enqueue_send(redis, uuid, clear_finished=True)
            except (RedisError, OSError) as exc:  # the dispatcher finds a due PENDING command
                log.warning(
                    "command %s retried but its job was not queued (the dispatcher will): %r", uuid, exc
                )
            return Done(await OutboxCommand.get(command_id=uuid))
        refusal = Refusal("NOT_RETRYABLE", f"command {uuid} changed meanwhile (retried by someone else?)")
    await audit.record(
        operator=operator,
        action="retryCommand",
        target_kind="COMMAND",
        target_id=command_id,
        outcome=refusal.code,
        detail=refusal.message,
        at=at,
    )
    return Done(None if command is None else await OutboxCommand.get(id=command.id), refusal)


async def acknowledge_alert(*, operator: str, alert_id: str, now: datetime | None = None) -> Done[AlertView]:
    """Mark an alert seen by ``operator`` now; it needs attention again once it is seen again."""
    at = now or utcnow()
    row_id = parse_row_id(alert_id)
    async with in_transaction():
        updated = 0
        if row_id is not None:
            updated = await OpsAlert.filter(id=row_id).update(
                acknowledged_at=at, acknowledged_by=operator[:64]
            )
        outcome = audit.OK if updated else "NOT_FOUND"
        refusal = None if updated else _not_found("alert", alert_id)
        await audit.record(
            operator=operator,
            action="acknowledgeAlert",
            target_kind="ALERT",
            target_id=alert_id,
            outcome=outcome,
            detail=None if refusal is None else refusal.message,
            at=at,
        )
    if refusal is not None or row_id is None:
        return Done(None, refusal)
    return Done(await alert_view(row_id))
