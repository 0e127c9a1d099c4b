"""The life of an outbox command: written with its decision, delivered by workers, seen by operators.

- `add_command` (inside the decision's transaction) writes a PENDING row due now.
- After the commit, `enqueue_sends` hands the ids to arq (job `send_command`, id `command:<uuid>`);
  if that enqueue is lost, `due_command_ids` (the `dispatch_commands` cron) finds the row again.
- `deliver` is one run of the job: it claims the row (one worker at a time, with a lease),
  posts it, and records SENT, FAILED, or a retry after backoff with jitter.
- `failed_commands` / `retry_failed_command` are the operators' view and lever.

While `SUPPLY_CHAIN_CALLBACK_URL` is unset, nothing is claimed: commands stay PENDING in the
outbox and are sent once a URL is configured (the dispatcher then finds them due).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import httpx
from arq.connections import ArqRedis
from redis.exceptions import RedisError
from tortoise.expressions import F, Q
from tortoise.functions import Count

from bff import constants
from bff.models.commands import CommandStatus, CommandType, OutboxCommand
from bff.runtime.backoff import RetryPolicy
from bff.runtime.jobs import enqueue_unique
from bff.supply_chain.commands import Delivery, Outcome, post_command

log = logging.getLogger("lvyue.commands")

LAST_ERROR_MAX_CHARS = 1000
ENQUEUE_CONCURRENCY = 32  # parallel enqueues when queuing many sends at once


def new_command_id() -> UUID:
    return uuid4()


async def add_command(
    *,
    command_id: UUID,
    command_type: CommandType,
    decision_key: str,
    order_no: str,
    payload: Mapping[str, object],
    now: datetime,
) -> OutboxCommand:
    """Write a PENDING command due now. Call it inside the decision's transaction."""
    return await OutboxCommand.create(
        command_id=command_id,
        type=command_type,
        decision_key=decision_key,
        order_no=order_no,
        payload=dict(payload),
        status=CommandStatus.PENDING,
        next_attempt_at=now,
    )


def send_job_id(command_id: UUID | str) -> str:
    return f"{constants.COMMAND_JOB_ID_PREFIX}{command_id}"


async def enqueue_send(redis: ArqRedis, command_id: UUID | str, *, clear_finished: bool = False) -> bool:
    """Queue `send_command` for one command; False if a job for it is already queued, deferred
    (between retries) or running.

    `clear_finished` (the dispatcher): a send job that *failed* in arq (its timeout, its tries
    used up, an unexpected error such as the database being away) leaves a result key for the
    worker's keep_result (an hour), and arq refuses the job id until then. The command is still
    due, so that stale result is dropped first; a job that still exists is never touched.
    """
    return await enqueue_unique(
        redis,
        constants.JOB_SEND_COMMAND,
        str(command_id),
        job_id=send_job_id(command_id),
        clear_finished=clear_finished,
    )


async def enqueue_sends(
    redis: ArqRedis, command_ids: Iterable[UUID | str], *, clear_finished: bool = False
) -> int:
    """Queue sends after a commit; returns how many jobs were new. A Redis failure is logged,
    not raised: the decision is committed and its command is in the outbox, where the
    dispatcher will find it. Many ids (deadline defaults) are queued a few at a time in parallel
    (each enqueue is a WATCH/MULTI round trip)."""
    gate = asyncio.Semaphore(ENQUEUE_CONCURRENCY)

    async def one(command_id: UUID | str) -> bool:
        async with gate:
            return await enqueue_send(redis, command_id, clear_finished=clear_finished)

    results = await asyncio.gather(*(one(command_id) for command_id in command_ids), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    for failure in failures:
        if not isinstance(failure, RedisError | OSError):
            raise failure
    if failures:
        log.warning("could not queue %d command sends (the dispatcher will): %s", len(failures), failures[0])
    return sum(1 for r in results if r is True)


async def due_command_ids(
    *, now: datetime | None = None, limit: int = constants.COMMAND_DISPATCH_BATCH
) -> list[UUID]:
    """Commands a worker should be working on: PENDING and due, or SENDING past their lease."""
    now = now or datetime.now(UTC)
    ids = (
        await OutboxCommand.filter(
            Q(status=CommandStatus.PENDING) | Q(status=CommandStatus.SENDING), next_attempt_at__lte=now
        )
        .order_by("next_attempt_at", "id")
        .limit(limit)
        .values_list("command_id", flat=True)
    )
    return [UUID(str(value)) for value in ids]


@dataclass(frozen=True)
class DeliveryReport:
    """What one run of the send job did. `retry_in` set: run again after that many seconds."""

    command_id: UUID
    status: CommandStatus | None  # the row's status afterwards; None if the row does not exist
    attempted: bool  # an HTTP request was made by this run
    retry_in: float | None = None
    detail: str = ""


# Commands are retried for hours: a receiver down overnight still gets them.
COMMAND_RETRY = RetryPolicy(
    max_attempts=constants.COMMAND_MAX_ATTEMPTS,
    base_s=constants.COMMAND_BACKOFF_BASE_S,
    cap_s=constants.COMMAND_BACKOFF_CAP_S,
    floor_max_s=constants.COMMAND_RETRY_AFTER_MAX_S,
)


async def _claim(command_id: UUID, now: datetime, lease_s: float) -> OutboxCommand | None:
    """Move a due command to SENDING for this worker; None if it is not due or someone holds it."""
    claimed = await OutboxCommand.filter(
        Q(status=CommandStatus.PENDING) | Q(status=CommandStatus.SENDING),
        command_id=command_id,
        next_attempt_at__lte=now,
    ).update(
        status=CommandStatus.SENDING,
        attempts=F("attempts") + 1,
        next_attempt_at=now + timedelta(seconds=lease_s),
    )
    if not claimed:
        return None
    return await OutboxCommand.get(command_id=command_id)


def _report_unclaimed(command_id: UUID, row: OutboxCommand | None, now: datetime) -> DeliveryReport:
    if row is None:
        return DeliveryReport(command_id, None, attempted=False, detail="no such command")
    if row.status is CommandStatus.PENDING:
        # Not due yet (queued twice, or early): run again when it is.
        wait = max(0.0, (row.next_attempt_at - now).total_seconds())
        return DeliveryReport(command_id, row.status, attempted=False, retry_in=wait, detail="not due yet")
    detail = "another worker is sending it" if row.status is CommandStatus.SENDING else "already finished"
    return DeliveryReport(command_id, row.status, attempted=False, detail=detail)


async def deliver(
    http: httpx.AsyncClient,
    *,
    url: str,
    secret: str,
    command_id: UUID,
    policy: RetryPolicy = COMMAND_RETRY,
    rng: random.Random | None = None,
    lease_s: float = constants.COMMAND_SEND_LEASE_S,
) -> DeliveryReport:
    """Claim, post and record one attempt of a command."""
    now = datetime.now(UTC)
    row = await _claim(command_id, now, lease_s)
    if row is None:
        return _report_unclaimed(command_id, await OutboxCommand.get_or_none(command_id=command_id), now)
    delivery = await post_command(http, url=url, secret=secret, payload=row.payload)
    return await _record(row, delivery, policy, rng)


async def _record(
    row: OutboxCommand, delivery: Delivery, policy: RetryPolicy, rng: random.Random | None
) -> DeliveryReport:
    now = datetime.now(UTC)
    mine = OutboxCommand.filter(id=row.id, status=CommandStatus.SENDING, attempts=row.attempts)
    common = {"last_status_code": delivery.status_code, "last_error": None}
    retry_in: float | None = None
    if delivery.outcome is Outcome.SENT:
        status = CommandStatus.SENT
        updated = await mine.update(status=status, sent_at=now, **common)
    elif delivery.outcome is Outcome.RETRY and row.attempts < policy.max_attempts:
        status = CommandStatus.PENDING
        retry_in = policy.delay(row.attempts, delivery.retry_after_s, rng)
        updated = await mine.update(
            status=status,
            next_attempt_at=now + timedelta(seconds=retry_in),
            last_status_code=delivery.status_code,
            last_error=delivery.detail[:LAST_ERROR_MAX_CHARS],
        )
    else:
        status = CommandStatus.FAILED
        reason = delivery.detail
        if delivery.outcome is Outcome.RETRY:
            reason = f"gave up after {row.attempts} attempts; last: {delivery.detail}"
        updated = await mine.update(
            status=status,
            failed_at=now,
            last_status_code=delivery.status_code,
            last_error=reason[:LAST_ERROR_MAX_CHARS],
        )
    if not updated:
        # The lease ran out during the request and another worker took the command over; its
        # outcome stands (the receiver deduplicates by Idempotency-Key).
        log.warning(
            "command %s: lease lost while sending; outcome %s dropped", row.command_id, delivery.outcome
        )
        return DeliveryReport(row.command_id, None, attempted=True, detail="lease lost")
    log_level = logging.WARNING if status is CommandStatus.FAILED else logging.INFO
    log.log(
        log_level,
        "command %s (%s, order %s) attempt %d: %s -> %s",
        row.command_id,
        row.type,
        row.order_no,
        row.attempts,
        delivery.detail,
        status,
    )
    return DeliveryReport(row.command_id, status, attempted=True, retry_in=retry_in, detail=delivery.detail)


# ---------------------------------------------------------------- operators


async def failed_commands(*, limit: int = 100, after_id: int | None = None) -> list[OutboxCommand]:
    """FAILED commands, oldest first, in keyset pages (`after_id` = the last row id seen)."""
    query = OutboxCommand.filter(status=CommandStatus.FAILED)
    if after_id is not None:
        query = query.filter(id__gt=after_id)
    return await query.order_by("id").limit(max(1, min(limit, 1000)))


async def outbox_counts() -> dict[CommandStatus, int]:
    """How many commands are in each state (for operators and /metrics): one GROUP BY."""
    counts = {status: 0 for status in CommandStatus}
    rows = await OutboxCommand.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    for status, n in rows:
        counts[CommandStatus(status)] = int(n)
    return counts


async def retry_failed_command(command_id: UUID, *, now: datetime | None = None) -> bool:
    """Give a FAILED command a fresh set of attempts (after operators fixed the cause). It keeps
    its commandId, so the receiver can still deduplicate. Queue it with `enqueue_send` after."""
    updated = await OutboxCommand.filter(command_id=command_id, status=CommandStatus.FAILED).update(
        status=CommandStatus.PENDING, attempts=0, next_attempt_at=now or datetime.now(UTC), failed_at=None
    )
    return bool(updated)
