"""Jobs that deliver the outbox's commands to the supply chain (`bff.supply_chain.outbox`).

- `send_command(command_id)`: one delivery attempt; job id `command:<command_id>`. A retryable
  answer re-queues the job itself (arq `Retry`) after the backoff the outbox recorded.
- `dispatch_commands` (cron, every minute): queues a send for every command that is due, in
  case the enqueue after a decision's commit was lost, a sender crashed mid-attempt, or its
  job failed in arq (timeout, database away): that job's leftover result is cleared first.

While `SUPPLY_CHAIN_CALLBACK_URL` is unset both do nothing and commands stay PENDING in the
outbox; they are sent once the URL is configured and a worker restarts.

Tests may put a `bff.runtime.backoff.RetryPolicy` under ctx["command_retry_policy"]
(short backoff); production uses the defaults of bff/constants.py.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from arq import Retry

from bff.runtime.backoff import RetryPolicy
from bff.runtime.settings import Settings
from bff.supply_chain.outbox import COMMAND_RETRY, deliver, due_command_ids, enqueue_sends

NOT_CONFIGURED = "SUPPLY_CHAIN_CALLBACK_URL is unset; the command stays PENDING in the outbox"


async def send_command(ctx: dict[str, Any], command_id: str) -> str:
    settings: Settings = ctx["settings"]
    url = settings.supply_chain_callback_url
    if not url:
        return NOT_CONFIGURED
    policy: RetryPolicy = ctx.get("command_retry_policy") or COMMAND_RETRY
    report = await deliver(
        ctx["http"],
        url=url,
        secret=settings.supply_chain_secret,
        command_id=UUID(command_id),
        policy=policy,
    )
    if report.retry_in is not None:
        raise Retry(defer=report.retry_in)
    return f"{report.status.value if report.status else 'MISSING'}: {report.detail}"


async def dispatch_commands(ctx: dict[str, Any]) -> int:
    """Queue sends for due commands; returns how many jobs were newly queued."""
    settings: Settings = ctx["settings"]
    if not settings.supply_chain_callback_url:
        return 0
    return await enqueue_sends(ctx["redis"], await due_command_ids(), clear_finished=True)
