"""The sweeper: nothing a dead worker or a lost job left behind stays stuck (design.md, "Never lost").

One ``sweep`` (the cron job ``sweep_notices``, every 15 s) does, in bounded batches:

1. SENDING without ``call_started_at``, claimed longer ago than ``stale_after``: the worker died
   (or gave up) before calling WeChat, so nothing went out. The unit is given back, the notice
   goes back to QUEUED and its send job is enqueued again.
2. SENDING with ``call_started_at`` older than ``stale_after`` and no answer: the worker died during
   the call. WeChat may have sent it, so it is NEVER re-queued; it becomes outcome-unknown
   (``outcome_unknown_at``) and waits for a sent event (bff/notices/delivery.py).
3. Outcome unknown for longer than ``outcome_timeout``: SENT, reason ASSUMED_SENT.
4. QUEUED with no progress for ``queued_after``, and SCHEDULED notices whose time has come: their
   send job is enqueued again. The job id ``send:<id>`` makes this a no-op while the job exists
   (queued, deferred, retrying or running), so only lost jobs come back — and jobs that failed
   (timed out, out of tries), whose leftover arq result would otherwise block the id for an hour.
5. PLANNED for longer than ``planned_after``: the planning job that inserted the notice failed
   after the insert and gave up (or was lost). The policy decides it now (bff.notices.planner.
   decide_leftovers) and its send is queued; conditional updates keep a late planning run and the
   sweeper from deciding it twice.

``stale_after`` must exceed the send job's timeout: arq cancels a send after SEND_JOB_TIMEOUT_S,
so a SENDING row older than that has no live worker. Even if one were still alive, the claim's
``attempts`` fence (bff/notices/sender.py) stops it from changing the row again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from tortoise.queryset import QuerySet

from bff import constants
from bff.models.notices import Notice, NoticeStatus
from bff.notices.delivery import settle_unknown_outcomes
from bff.notices.jobs import enqueue_send, enqueue_sends
from bff.notices.planner import decide_leftovers
from bff.notices.settlement import OUTCOME_UNKNOWN, settle_sending

__all__ = ["SweepReport", "sweep"]

log = logging.getLogger("lvyue.notices.sweeper")


@dataclass(frozen=True)
class SweepReport:
    requeued: int = 0  # died before the call: back to QUEUED
    outcome_unknown: int = 0  # died during the call: now waiting for a sent event
    assumed_sent: int = 0  # waited long enough: SENT (ASSUMED_SENT)
    enqueued: int = 0  # send jobs that were missing and are queued again
    planned_decided: int = 0  # PLANNED leftovers of a failed planning job, decided now

    def __str__(self) -> str:
        return (
            f"requeued {self.requeued}, outcome unknown {self.outcome_unknown}, "
            f"assumed sent {self.assumed_sent}, jobs enqueued {self.enqueued}, "
            f"planned decided {self.planned_decided}"
        )


async def sweep(
    redis: ArqRedis,
    *,
    now: datetime | None = None,
    stale_after: timedelta = timedelta(seconds=constants.SWEEP_STALE_AFTER_S),
    queued_after: timedelta = timedelta(seconds=constants.SWEEP_QUEUED_AFTER_S),
    outcome_timeout: timedelta = timedelta(seconds=constants.NOTICE_OUTCOME_TIMEOUT_S),
    planned_after: timedelta = timedelta(seconds=constants.SWEEP_PLANNED_AFTER_S),
    limit: int = constants.SWEEP_BATCH,
) -> SweepReport:
    now = now or datetime.now(UTC)
    stale = now - stale_after

    requeued = 0
    ids = await _ids(
        Notice.filter(status=NoticeStatus.SENDING, call_started_at__isnull=True, sending_since__lte=stale),
        limit,
    )
    for notice_id in ids:
        if await settle_sending(
            notice_id,
            {"status": NoticeStatus.QUEUED, "reason": None, "updated_at": now},
            give_back=True,
            extra_filters={"call_started_at__isnull": True, "sending_since__lte": stale},
        ):
            requeued += 1
            await enqueue_send(redis, notice_id, clear_finished=True)

    unknown = await Notice.filter(
        id__in=await _ids(
            Notice.filter(
                status=NoticeStatus.SENDING, call_started_at__lte=stale, outcome_unknown_at__isnull=True
            ),
            limit,
        ),
        status=NoticeStatus.SENDING,
        outcome_unknown_at__isnull=True,
    ).update(outcome_unknown_at=now, reason=OUTCOME_UNKNOWN, updated_at=now)

    assumed = await settle_unknown_outcomes(now=now, after=outcome_timeout, limit=limit)

    lost = await _ids(Notice.filter(status=NoticeStatus.QUEUED, updated_at__lte=now - queued_after), limit)
    due = await _ids(Notice.filter(status=NoticeStatus.SCHEDULED, scheduled_for__lte=now), limit)
    # One round trip for the batch: after a large fan-out hundreds of QUEUED rows wait longer than
    # queued_after behind the sends ahead of them, and each run finds their jobs still there.
    enqueued = await enqueue_sends(
        redis, [(notice_id, None) for notice_id in [*lost, *due]], clear_finished=True
    )

    leftovers = await decide_leftovers(redis, now=now, older_than=planned_after, limit=limit)
    planned_decided = sum(leftovers.decided.values())

    report = SweepReport(
        requeued=requeued,
        outcome_unknown=unknown,
        assumed_sent=assumed,
        enqueued=enqueued,
        planned_decided=planned_decided,
    )
    if requeued or unknown or assumed or enqueued or planned_decided:
        log.warning("notice sweep: %s", report)
    return report


async def _ids(query: QuerySet[Notice], limit: int) -> list[int]:
    rows = await query.order_by("id").limit(limit).values_list("id", flat=True)
    return [int(row) for row in rows]  # type: ignore[call-overload]
