"""arq worker settings: `bff worker` (or `arq tasks.worker.WorkerSettings`) runs them."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from datetime import UTC, datetime
from typing import Any, ClassVar

from arq import Retry, cron, func
from arq.connections import RedisSettings
from arq.typing import WorkerCoroutine
from arq.worker import Function
from tortoise import Tortoise

from bff import constants
from bff.catalog.templates_check import start_template_check
from bff.notices.planner import NoticeContext
from bff.runtime.db import tortoise_config
from bff.runtime.heartbeat import worker_identity
from bff.runtime.logsafe import mask
from bff.runtime.metrics import JOB_TALLY, JobOutcome, Tally, record_job
from bff.runtime.redis import redis_settings, resolve_redis_url
from bff.runtime.resources import new_http_client
from bff.runtime.settings import get_settings
from tasks.commands import dispatch_commands, send_command
from tasks.deadlines import apply_deadline_defaults
from tasks.engines import retry_while_engine_away
from tasks.lifecycle import scan_maintenance, scan_replenishment
from tasks.notices import notice_sender, plan_notices_for_event, send_notice, sweep_notices
from tasks.offers import refresh_co_purchase, scan_offers
from tasks.push import handle_push_event, requeue_push_events
from tasks.shipping import dispatch_shipping_uploads, upload_shipping_info
from tasks.system import heartbeat

log = logging.getLogger("lvyue.worker")


def counted(job: WorkerCoroutine, name: str | None = None) -> WorkerCoroutine:
    """`job`, adding each run's outcome and duration to the cluster-wide job metrics
    (lvyue_jobs_total / lvyue_job_seconds, served by the web processes' /metrics)."""
    label = name or job.__qualname__

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = JobOutcome.FAILURE
        # What the job observes (a send's outcome …) goes out in the same Redis call as its run.
        tally = ctx[JOB_TALLY] = Tally()
        try:
            result = await job(ctx, *args, **kwargs)
            outcome = JobOutcome.SUCCESS
            return result
        except Retry:
            outcome = JobOutcome.RETRY
            raise
        except asyncio.CancelledError:
            outcome = JobOutcome.CANCELLED
            raise
        finally:
            await record_job(ctx["redis"], label, outcome, time.perf_counter() - started, tally)

    return run


FUNCTIONS: list[WorkerCoroutine | Function] = [
    counted(heartbeat),
    func(
        counted(retry_while_engine_away(plan_notices_for_event), constants.JOB_PLAN_EVENT),
        name=constants.JOB_PLAN_EVENT,
        max_tries=constants.ENGINE_AWAY_MAX_TRIES,
    ),
    func(
        counted(retry_while_engine_away(handle_push_event), constants.JOB_HANDLE_PUSH_EVENT),
        name=constants.JOB_HANDLE_PUSH_EVENT,
        max_tries=constants.ENGINE_AWAY_MAX_TRIES,
    ),
]
# Supply-chain commands: job id "command:<uuid>", no result kept so the dispatcher can re-queue.
FUNCTIONS.append(
    func(
        counted(send_command, constants.JOB_SEND_COMMAND),
        name=constants.JOB_SEND_COMMAND,
        keep_result=0,
        max_tries=constants.COMMAND_MAX_ATTEMPTS + 5,
        timeout=constants.COMMAND_SEND_TIMEOUT_S,
    )
)

# Notice sends: job id "send:<notice id>", no result kept so the sweeper can re-queue.
FUNCTIONS.append(
    func(
        counted(retry_while_engine_away(send_notice), constants.JOB_SEND_NOTICE),
        name=constants.JOB_SEND_NOTICE,
        keep_result=0,
        max_tries=constants.SEND_JOB_MAX_TRIES,
        timeout=constants.SEND_JOB_TIMEOUT_S,
    )
)

# Shipping uploads: job id "shipping:<order id>", no result kept so the dispatcher can re-queue.
FUNCTIONS.append(
    func(
        counted(upload_shipping_info, constants.JOB_UPLOAD_SHIPPING),
        name=constants.JOB_UPLOAD_SHIPPING,
        keep_result=0,
        max_tries=constants.SHIPPING_MAX_ATTEMPTS + 5,
        timeout=constants.SHIPPING_JOB_TIMEOUT_S,
    )
)


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    # A bad templates or experiments file stops the worker here with the file's error, not at the
    # first planning job.
    NoticeContext.from_settings(settings)
    # Keep the context Tortoise.init returns: on_shutdown runs in another task and would not
    # see the contextvar, leaving aiosqlite's thread alive (stack-notes §1.11).
    ctx["orm"] = await Tortoise.init(config=tortoise_config(settings.database_url))
    ctx["settings"] = settings
    ctx["http"] = new_http_client()
    ctx["worker_id"] = worker_identity()
    ctx["started_at"] = datetime.now(UTC)
    ctx["templates_check"] = start_template_check(settings, ctx["http"], ctx["redis"])
    # One sender (WeChat client, token cache) for every send job of this process.
    notice_sender(ctx)
    log.info("worker %s started (appid %s)", ctx["worker_id"], mask(settings.wechat_appid))


async def shutdown(ctx: dict[str, Any]) -> None:
    if "templates_check" in ctx:
        ctx["templates_check"].cancel()
    if "http" in ctx:
        await ctx["http"].aclose()
    if "orm" in ctx:
        await ctx["orm"].close_connections()


def _redis_settings() -> RedisSettings:
    return redis_settings(resolve_redis_url(get_settings()))


class WorkerSettings:
    functions: ClassVar[list[WorkerCoroutine | Function]] = FUNCTIONS
    cron_jobs: ClassVar[list[Any]] = [
        cron(
            counted(heartbeat, constants.JOB_HEARTBEAT),
            name=constants.JOB_HEARTBEAT,
            second={0, 30},
            run_at_startup=True,
        ),
        cron(
            counted(dispatch_commands, constants.JOB_DISPATCH_COMMANDS),
            name=constants.JOB_DISPATCH_COMMANDS,
            second=15,
            run_at_startup=True,
        ),
        cron(
            counted(apply_deadline_defaults, constants.JOB_APPLY_DEADLINE_DEFAULTS),
            name=constants.JOB_APPLY_DEADLINE_DEFAULTS,
            second=45,
        ),
        cron(
            counted(dispatch_shipping_uploads, constants.JOB_DISPATCH_SHIPPING_UPLOADS),
            name=constants.JOB_DISPATCH_SHIPPING_UPLOADS,
            second=set(constants.SHIPPING_DISPATCH_SECONDS),
            run_at_startup=True,
        ),
        cron(
            counted(sweep_notices, constants.JOB_SWEEP_NOTICES),
            name=constants.JOB_SWEEP_NOTICES,
            second=set(constants.SWEEP_SECONDS),
            run_at_startup=True,
            timeout=constants.SWEEP_JOB_TIMEOUT_S,
        ),
        cron(
            counted(requeue_push_events, constants.JOB_REQUEUE_PUSH_EVENTS),
            name=constants.JOB_REQUEUE_PUSH_EVENTS,
            second=set(constants.PUSH_REQUEUE_SECONDS),
        ),
        cron(
            counted(scan_replenishment, constants.JOB_SCAN_REPLENISHMENT),
            name=constants.JOB_SCAN_REPLENISHMENT,
            second=set(constants.REPLENISHMENT_SCAN_SECONDS),
        ),
        cron(
            counted(scan_maintenance, constants.JOB_SCAN_MAINTENANCE),
            name=constants.JOB_SCAN_MAINTENANCE,
            second=set(constants.MAINTENANCE_SCAN_SECONDS),
        ),
        # Offers (bff/offers/): one notice per user × offer period; co-purchase stats.
        cron(
            counted(scan_offers, constants.JOB_SCAN_OFFERS),
            name=constants.JOB_SCAN_OFFERS,
            second=set(constants.OFFERS_SCAN_SECONDS),
        ),
        cron(
            counted(refresh_co_purchase, constants.JOB_REFRESH_CO_PURCHASE),
            name=constants.JOB_REFRESH_CO_PURCHASE,
            second=set(constants.COPURCHASE_SECONDS),
        ),
    ]
    on_startup = startup
    on_shutdown = shutdown
    job_timeout = constants.JOB_TIMEOUT_S
    health_check_interval = constants.WORKER_HEALTH_CHECK_INTERVAL_S
    max_jobs = 20
    # Read lazily by `bff worker`; arq's own CLI also reads this class attribute.
    redis_settings: ClassVar[RedisSettings | None] = None
