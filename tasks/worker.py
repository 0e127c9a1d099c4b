"""arq worker settings: `bff worker` (or `arq tasks.worker.WorkerSettings`) runs them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, ClassVar

from arq import cron, func
from arq.connections import RedisSettings
from arq.typing import WorkerCoroutine
from arq.worker import Function
from tortoise import Tortoise

from bff import constants
from bff.db import tortoise_config
from bff.heartbeat import worker_identity
from bff.logsafe import mask
from bff.redis import redis_settings, resolve_redis_url
from bff.resources import new_http_client
from bff.settings import get_settings
from bff.wechat.templates_check import start_template_check
from tasks.commands import dispatch_commands, send_command
from tasks.deadlines import apply_deadline_defaults
from tasks.lifecycle import scan_maintenance, scan_replenishment
from tasks.notices import plan_notices_for_event, send_notice, sweep_notices
from tasks.push import handle_push_event
from tasks.system import heartbeat

log = logging.getLogger("lvyue.worker")

FUNCTIONS: list[WorkerCoroutine | Function] = [heartbeat, plan_notices_for_event, handle_push_event]
# Supply-chain commands: job id "command:<uuid>", no result kept so the dispatcher can re-queue.
FUNCTIONS.append(
    func(
        send_command,
        name=constants.JOB_SEND_COMMAND,
        keep_result=0,
        max_tries=constants.COMMAND_MAX_ATTEMPTS + 5,
        timeout=constants.COMMAND_SEND_TIMEOUT_S,
    )
)

# Notice sends: job id "send:<notice id>", no result kept so the sweeper can re-queue.
FUNCTIONS.append(
    func(
        send_notice,
        name=constants.JOB_SEND_NOTICE,
        keep_result=0,
        max_tries=constants.SEND_JOB_MAX_TRIES,
        timeout=constants.SEND_JOB_TIMEOUT_S,
    )
)


async def startup(ctx: dict[str, Any]) -> None:
    settings = get_settings()
    # Keep the context Tortoise.init returns: on_shutdown runs in another task and would not
    # see the contextvar, leaving aiosqlite's thread alive (stack-notes §1.11).
    ctx["orm"] = await Tortoise.init(config=tortoise_config(settings.database_url))
    ctx["settings"] = settings
    ctx["http"] = new_http_client()
    ctx["worker_id"] = worker_identity()
    ctx["started_at"] = datetime.now(UTC)
    ctx["templates_check"] = start_template_check(settings, ctx["http"], ctx["redis"])
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
        cron(heartbeat, name=constants.JOB_HEARTBEAT, second={0, 30}, run_at_startup=True),
        cron(dispatch_commands, name=constants.JOB_DISPATCH_COMMANDS, second=15, run_at_startup=True),
        cron(apply_deadline_defaults, name=constants.JOB_APPLY_DEADLINE_DEFAULTS, second=45),
        cron(
            sweep_notices,
            name=constants.JOB_SWEEP_NOTICES,
            second=set(constants.SWEEP_SECONDS),
            run_at_startup=True,
            timeout=constants.SWEEP_JOB_TIMEOUT_S,
        ),
        cron(
            scan_replenishment,
            name=constants.JOB_SCAN_REPLENISHMENT,
            second=set(constants.REPLENISHMENT_SCAN_SECONDS),
        ),
        cron(
            scan_maintenance,
            name=constants.JOB_SCAN_MAINTENANCE,
            second=set(constants.MAINTENANCE_SCAN_SECONDS),
        ),
    ]
    on_startup = startup
    on_shutdown = shutdown
    job_timeout = constants.JOB_TIMEOUT_S
    health_check_interval = constants.WORKER_HEALTH_CHECK_INTERVAL_S
    max_jobs = 20
    # Read lazily by `bff worker`; arq's own CLI also reads this class attribute.
    redis_settings: ClassVar[RedisSettings | None] = None
