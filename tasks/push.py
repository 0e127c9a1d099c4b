"""Jobs for WeChat's message push: handle one stored push event.

The receiver stores the event and queues ``handle_push_event`` with job id ``push:<row id>``
(so a retried push never queues a second run). The job resolves the user by openid (creating it
for subscription events; other events need an existing user) and hands the typed event to
``bff.inbound.wechat_push.route_push_event(event, user)``; without a user the event is only
marked handled.

``requeue_push_events`` (cron) queues the job again for rows left RECEIVED without one
(bff.wechat.push.requeue_stuck_push_events).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from arq import Retry

from bff import constants
from bff.accounts import user_for_openid
from bff.inbound.wechat_push import route_push_event
from bff.models import PushEvent, PushEventStatus, User
from bff.runtime.backoff import backoff_delay
from bff.runtime.logsafe import mask
from bff.wechat import events
from bff.wechat.push import event_from_row, requeue_stuck_push_events

log = logging.getLogger("lvyue.tasks.push")


async def _user_of(event: events.PushEvent) -> User | None:
    """Subscription events come from users of the mini program: create the user on first sight.
    Other pushes (shipping, ...) may come from WeChat's own accounts: only an existing user."""
    if not event.openid:
        return None
    if isinstance(event, events.OtherEvent):
        return await User.get_or_none(openid=event.openid)
    return await user_for_openid(event.openid)


async def handle_push_event(ctx: dict[str, Any], push_event_id: int) -> str:
    """Dispatch one stored push event; returns what happened (for arq's job result)."""
    row = await PushEvent.get_or_none(id=push_event_id)
    if row is None:
        return "missing"
    if row.status is not PushEventStatus.RECEIVED:
        return f"already {row.status.value.lower()}"
    event = event_from_row(row)
    try:
        user = await _user_of(event)
        if user is not None:
            await route_push_event(event, user)
    except Exception as exc:
        attempt = int(ctx.get("job_try", 1))
        if attempt < constants.PUSH_JOB_MAX_TRIES:
            log.warning("push event %d (%s) failed on try %d: %r; retrying", row.id, row.event, attempt, exc)
            raise Retry(defer=backoff_delay(attempt)) from exc
        await PushEvent.filter(id=row.id).update(
            status=PushEventStatus.FAILED, handled_at=datetime.now(UTC), error=repr(exc)[:2000]
        )
        log.error("push event %d (%s) failed %d times, giving up: %r", row.id, row.event, attempt, exc)
        raise
    await PushEvent.filter(id=row.id, status=PushEventStatus.RECEIVED).update(
        status=PushEventStatus.HANDLED, handled_at=datetime.now(UTC)
    )
    log.info("push event %d (%s) of %s handled", row.id, row.event, mask(row.openid))
    return "handled"


async def requeue_push_events(ctx: dict[str, Any]) -> str:
    """Cron: re-queue the job of push rows left RECEIVED after their job was cancelled or lost."""
    return f"re-queued {await requeue_stuck_push_events(ctx['redis'])}"
