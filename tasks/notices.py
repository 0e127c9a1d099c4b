"""Notice jobs: planning one supply-chain event, sending one notice, the sweeper.

The worker's sender is built here (``notice_sender``): the hooks it runs before and after a send
come from the planner and from the domains above the notices (lifecycle reminders, experiments),
which bff.notices does not import.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from arq import Retry

from bff import constants
from bff.catalog.templates_file import cached_templates_file
from bff.lifecycle import reminders as lifecycle_reminders
from bff.models.notices import Notice
from bff.notices import planner
from bff.notices.experiments.assignment import with_variant
from bff.notices.sender import SEND_RETRY, NoticeSender, SendHooks, sender_for
from bff.notices.sweeper import sweep
from bff.notices.withdrawal import withdrawal_before_send
from bff.offers.recheck import ended_offer
from bff.runtime.backoff import backoff_delay
from bff.runtime.settings import Settings
from tasks.engines import engine_away

log = logging.getLogger("lvyue.tasks.notices")


async def plan_notices_for_event(
    ctx: dict[str, Any], event_row_id: int, order_id: int | None = None, after_link: int = 0
) -> str:
    """Plan the notices one stored supply-chain event causes (`SupplyChainEvent.id`) and let the
    policy decide them (bff/notices/planner.py); sends are enqueued as `send:<notice id>`.

    `order_id` is given when an exception reached one more order after the fact (its order was
    placed later); then only that order is planned. A scoped exception too large for one run
    continues in a follow-up job from `after_link` (job id `plan:<row id>:after:<link id>`).

    A run that fails (after inserting some notices, perhaps) is retried with backoff, up to
    PLAN_JOB_MAX_TRIES: planning is idempotent, so the retry inserts nothing twice and decides
    what the failed run left PLANNED. Past that the sweeper decides the leftovers, and the event is
    handed over again if the supply chain delivers it again.
    """
    notice_ctx = planner.NoticeContext.from_settings(ctx["settings"], ctx["redis"])
    try:
        report = await planner.plan_event(event_row_id, notice_ctx, order_id=order_id, after_link=after_link)
    except Exception as exc:
        if engine_away(exc):
            raise  # an outage, not a failure: retry_while_engine_away waits it out (tasks/engines.py)
        attempt = int(ctx.get("job_try", 1))
        if attempt >= constants.PLAN_JOB_MAX_TRIES:
            log.error("planning event row %d failed %d times, giving up: %r", event_row_id, attempt, exc)
            await planner.reopen_for_redelivery(event_row_id)
            raise
        log.warning("planning event row %d failed on try %d: %r; retrying", event_row_id, attempt, exc)
        delay = backoff_delay(attempt, base=constants.PLAN_BACKOFF_BASE_S, cap=constants.PLAN_BACKOFF_CAP_S)
        raise Retry(defer=delay) from exc
    if report.resume_after is not None:
        await ctx["redis"].enqueue_job(
            constants.JOB_PLAN_EVENT,
            event_row_id,
            order_id=order_id,
            after_link=report.resume_after,
            _job_id=f"{constants.PLAN_JOB_ID_PREFIX}{event_row_id}:after:{report.resume_after}",
        )
    return f"created {report.created}, decided {dict(report.decided)}, resume after {report.resume_after}"


# ---------------------------------------------------------------- sending (bff/notices/sender.py)


async def lifecycle_stale(notice: Notice, now: datetime) -> str | None:
    """A lifecycle reminder the user answered since it was planned (bought again, dismissed …)."""
    return await lifecycle_reminders.stale_reason(notice)


def send_hooks(settings: Settings) -> SendHooks:
    """The sender's hooks in the worker: the planner's re-decision and withdrawal, the lifecycle
    reminders' re-check and their REMINDED mark, the offers' re-check (bff/offers/recheck.py), an
    experiment variant's wording."""
    return SendHooks(
        reconsider=planner.reconsider,
        withdrawal=partial(
            withdrawal_before_send,
            templates=cached_templates_file(settings.templates_file),
            zone=settings.zone,
        ),
        checks=(lifecycle_stale, ended_offer),
        after_sent=(lifecycle_reminders.mark_sent,),
        variant_of=with_variant,
    )


def notice_sender(ctx: dict[str, Any]) -> NoticeSender:
    """The worker's sender, built by its first send job and kept in ``ctx`` for the next ones: one
    WeChat client and token cache per worker process (building them per job cost a tenth of a
    send's CPU). ``ctx["notice_retry_policy"]`` (a RetryPolicy) and ``ctx["notice_lock_wait"]`` (a
    LockWait) may override retry timing, e.g. in tests."""
    sender: NoticeSender | None = ctx.get(_SENDER_KEY)
    if sender is None:
        settings: Settings = ctx["settings"]
        sender = sender_for(
            settings,
            ctx["http"],
            ctx["redis"],
            hooks=send_hooks(settings),
            retry=ctx.get("notice_retry_policy") or SEND_RETRY,
            lock_wait=ctx.get("notice_lock_wait"),
        )
        ctx[_SENDER_KEY] = sender
    return sender


_SENDER_KEY = "notice_sender"


async def send_notice(ctx: dict[str, Any], notice_id: int) -> str:
    """Send one notice (job id ``send:<notice id>``); raises arq Retry when it must run again."""
    outcome = await notice_sender(ctx).send(notice_id)
    if outcome.retry_in is not None:
        raise Retry(defer=max(0.0, outcome.retry_in))
    return outcome.describe()


async def sweep_notices(ctx: dict[str, Any]) -> str:
    """Cron: settle notices a dead worker left in SENDING, re-enqueue lost and due sends.

    ``ctx["notice_outcome_timeout"]`` (a timedelta) may shorten the outcome-unknown wait in tests.
    """
    outcome_timeout = ctx.get("notice_outcome_timeout") or timedelta(
        seconds=constants.NOTICE_OUTCOME_TIMEOUT_S
    )
    return str(await sweep(ctx["redis"], outcome_timeout=outcome_timeout))
