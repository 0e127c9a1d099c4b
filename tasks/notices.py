"""Notice jobs: planning one supply-chain event, sending one notice, the sweeper.

The worker's sender is built here (``notice_sender``): the hooks it runs before and after a send
come from the planner and from the domains above the notices (lifecycle reminders, experiments),
which bff.notices does not import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from arq import Retry

from bff import constants
from bff.catalog.templates_file import cached_templates_file
from bff.lifecycle import reminders as lifecycle_reminders
from bff.models.notices import Notice, NoticeStatus
from bff.notices import planner
from bff.notices.experiments.assignment import with_variant
from bff.notices.sender import (
    SEND_RETRY,
    NoticeSender,
    SendClient,
    SendHooks,
    SendOutcome,
    SendResultLike,
    sender_for,
)
from bff.notices.sweeper import sweep
from bff.notices.withdrawal import withdrawal_before_send
from bff.offers.recheck import ended_offer
from bff.runtime.backoff import backoff_delay
from bff.runtime.metrics import JOB_TALLY, PLANNED_TO_SENT_SECONDS, WECHAT_SEND_SECONDS, Tally, write_tally
from bff.runtime.settings import Settings
from bff.wechat.errors import WeChatAPIError, WeChatTransportError
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


def send_hooks(settings: Settings, *, observed: bool = False) -> SendHooks:
    """The sender's hooks in the worker: the planner's re-decision and withdrawal, the lifecycle
    reminders' re-check and their REMINDED mark, the offers' re-check (bff/offers/recheck.py), an
    experiment variant's wording; with ``observed``, the planned→sent time of the running send job
    (``send_notice``) for /metrics."""
    after_sent: tuple[Callable[[Notice, datetime], Awaitable[None]], ...] = (lifecycle_reminders.mark_sent,)
    if observed:
        after_sent = (*after_sent, _observed_sent)
    return SendHooks(
        reconsider=planner.reconsider,
        withdrawal=partial(
            withdrawal_before_send,
            templates=cached_templates_file(settings.templates_file),
            zone=settings.zone,
        ),
        checks=(lifecycle_stale, ended_offer),
        after_sent=after_sent,
        variant_of=with_variant,
    )


# ---------------------------------------------------------------- what a send run shows on /metrics

# SendOutcome.status of a run that claimed the notice → the `outcome` label.
_OUTCOME_LABELS: Mapping[NoticeStatus, str] = {
    NoticeStatus.SENT: "sent",
    NoticeStatus.FAILED: "failed",
    NoticeStatus.SUPPRESSED: "suppressed",
    NoticeStatus.QUEUED: "retry",  # given back for another try after backoff
    NoticeStatus.SCHEDULED: "deferred",  # WeChat's daily limit: tomorrow
    NoticeStatus.SENDING: "outcome_unknown",  # the call got no answer
}


class SendObservation:
    """What one send run did, for /metrics: the WeChat call's errcode and duration (through a
    wrapper of the sender's client) and the notice's planned→sent time (an ``after_sent`` hook)."""

    def __init__(self) -> None:
        self.errcode = ""  # "" no answer from WeChat (not called, or no answer); "0" ok
        self.call_seconds: float | None = None
        self.planned_to_sent: float | None = None

    async def sent(self, notice: Notice, now: datetime) -> None:
        self.planned_to_sent = max(0.0, (now - notice.created_at).total_seconds())

    def tally(self, outcome: SendOutcome, tally: Tally) -> None:
        """One count by outcome and errcode, and the latencies; runs that did nothing (another
        worker has the notice, not due yet) are not counted, nor is a user's lock being busy."""
        if outcome.claimed:
            label = _OUTCOME_LABELS.get(outcome.status, "other") if outcome.status else "other"
        elif outcome.reason == "OPENID_BUSY":
            label = "busy"
        else:
            return
        tally.count(constants.METRICS_SENDS_KEY, f"{label}|{self.errcode}")
        if self.call_seconds is not None:
            tally.observe(WECHAT_SEND_SECONDS, self.call_seconds)
        if self.planned_to_sent is not None:
            tally.observe(PLANNED_TO_SENT_SECONDS, self.planned_to_sent)


# The send job running in this task (set by send_notice): the worker's one sender and its client
# wrapper are shared by concurrent jobs, each job's asyncio task sees its own observation.
_OBSERVED: ContextVar[SendObservation | None] = ContextVar("lvyue_send_observation", default=None)


async def _observed_sent(notice: Notice, now: datetime) -> None:
    observed = _OBSERVED.get()
    if observed is not None:
        await observed.sent(notice, now)


class _TimedClient:
    """The WeChat client, timing the send request from the moment it is written (``before_send``:
    the token is at hand) to the answer, and keeping the errcode in the running job's observation."""

    def __init__(self, inner: SendClient) -> None:
        self.inner = inner

    async def send_subscribe_message(
        self,
        *,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        page: str | None,
        miniprogram_state: str,
        lang: str = "zh_CN",
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> SendResultLike:
        observed = _OBSERVED.get() or SendObservation()  # outside a send job: nobody reads it
        written: float | None = None

        async def request_starts() -> None:
            nonlocal written
            if before_send is not None:
                await before_send()
            written = time.perf_counter()  # the last request's start (one retry after a refresh)

        answered = False
        try:
            result = await self.inner.send_subscribe_message(
                openid=openid,
                template_id=template_id,
                data=data,
                page=page,
                miniprogram_state=miniprogram_state,
                lang=lang,
                before_send=request_starts,
            )
            observed.errcode, answered = "0", True
            return result
        except WeChatAPIError as exc:
            observed.errcode, answered = str(exc.errcode), True
            raise
        except WeChatTransportError:
            observed.errcode = "transport"
            raise
        finally:
            if answered and written is not None:
                observed.call_seconds = time.perf_counter() - written


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
            hooks=send_hooks(settings, observed=True),
            retry=ctx.get("notice_retry_policy") or SEND_RETRY,
            lock_wait=ctx.get("notice_lock_wait"),
            client=_TimedClient,
        )
        ctx[_SENDER_KEY] = sender
    return sender


_SENDER_KEY = "notice_sender"


async def send_notice(ctx: dict[str, Any], notice_id: int) -> str:
    """Send one notice (job id ``send:<notice id>``); raises arq Retry when it must run again.

    Its outcome is tallied for /metrics and written with the job's run (tasks/worker.py
    ``counted``), or on its own when the job runs outside it."""
    observed = SendObservation()
    running = _OBSERVED.set(observed)
    try:
        outcome = await notice_sender(ctx).send(notice_id)
    finally:
        _OBSERVED.reset(running)
    tally = ctx.get(JOB_TALLY)
    if isinstance(tally, Tally):
        observed.tally(outcome, tally)
    else:
        own = Tally()
        observed.tally(outcome, own)
        await write_tally(ctx["redis"], own)
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
