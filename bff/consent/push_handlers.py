"""What the consent ledger does with WeChat's subscription pushes (wechat-platform.md §4).

The push receiver stores each push and a job calls ``handle(event, user)`` once per typed event.
Every branch is idempotent: WeChat retries a push up to three times and a job may run again.

- popup ``accept`` (also ``acceptWithAudio`` / ``acceptWithAlert``): one accept, counted once
  together with the mini-program's report (bff.consent.matching).
- popup ``reject``: status REJECT; units granted earlier stay (a refused popup takes nothing back).
- popup ``ban``: the template is disabled for the user and operators are told.
- popup ``filter``: a configuration error (two ids with one title); operators are told.
- change ``reject``: the user turned the template off in WeChat's settings: the units granted
  before its CreateTime are voided, status REJECT; an accept newer than it keeps its unit and
  its ACCEPT status, whichever job ran first (``zero_units(as_of=CreateTime)``).
- sent: handed to the notice engine (``bff.notices.delivery.record_sent_event``), which matches
  it to the notice by ``msgid`` and records the delivery result.
- anything else: not about consent; ignored here.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bff.consent import ledger
from bff.consent.alerts import AlertKind, raise_alert
from bff.consent.matching import push_key, record_accept
from bff.models.consent import CreditSource, WeChatStatus
from bff.models.users import User
from bff.runtime.logsafe import mask
from bff.wechat.events import ChangeEvent, OtherEvent, PopupEvent, PushEvent, SentEvent

log = logging.getLogger(__name__)

ACCEPT_STATUSES = frozenset({"accept", "acceptwithaudio", "acceptwithalert"})


def event_time(create_time: int) -> datetime:
    return datetime.fromtimestamp(create_time, UTC)


async def handle(event: PushEvent, user: User) -> None:
    """Apply one typed push event of ``user`` to the consent ledger."""
    if isinstance(event, PopupEvent):
        await _popup(event, user)
    elif isinstance(event, ChangeEvent):
        await _change(event, user)
    elif isinstance(event, SentEvent):
        await _sent(event, user)
    elif isinstance(event, OtherEvent):
        log.debug("push %s of %s is not about consent", event.event, mask(event.openid))


async def _popup(event: PopupEvent, user: User) -> None:
    status = event.status.strip().lower()
    if status in ACCEPT_STATUSES:
        outcome = await record_accept(
            user.id,
            event.template_id,
            source=CreditSource.PUSH,
            source_key=push_key(
                event.openid, event.template_id, event.create_time, status, event.popup_scene
            ),
            occurred_at=event_time(event.create_time),
        )
        log.info(
            "popup accept of %s by %s: %s",
            event.template_id,
            mask(event.openid),
            "repeat" if outcome.duplicate else "granted" if outcome.granted else "matched to a report",
        )
    elif status == "reject":
        await ledger.set_status(user.id, event.template_id, WeChatStatus.REJECT)
    elif status == "ban":
        await ledger.ban(user.id, event.template_id)
        await raise_alert(
            AlertKind.BAN,
            user_id=user.id,
            template_id=event.template_id,
            detail="WeChat answered ban in a subscribe popup (subscribe_msg_popup_event)",
        )
    elif status == "filter":
        await raise_alert(
            AlertKind.FILTER,
            user_id=user.id,
            template_id=event.template_id,
            detail="WeChat filtered the template: another requested template has the same title",
        )
    else:
        log.warning("popup event with unknown status %r for %s", event.status, event.template_id)


async def _change(event: ChangeEvent, user: User) -> None:
    status = event.status.strip().lower()
    if status == "reject":
        await ledger.zero_units(
            user.id, event.template_id, WeChatStatus.REJECT, as_of=event_time(event.create_time)
        )
    elif status in ACCEPT_STATUSES:
        # Turning a template back on in settings grants no one-time unit; only a popup does.
        await ledger.set_status(user.id, event.template_id, WeChatStatus.ACCEPT)
    else:
        log.warning("change event with unknown status %r for %s", event.status, event.template_id)


SentRecorder = Callable[[SentEvent, User], Awaitable[Any]]


def _sent_recorder() -> SentRecorder | None:
    """The notice engine's hook, when it is installed (it owns the Notice rows and their msgids)."""
    try:
        module = importlib.import_module("bff.notices.delivery")
    except ModuleNotFoundError as exc:
        if exc.name not in ("bff.notices", "bff.notices.delivery"):
            raise
        return None
    recorder: SentRecorder | None = getattr(module, "record_sent_event", None)
    return recorder


async def _sent(event: SentEvent, user: User) -> None:
    recorder = _sent_recorder()
    if recorder is None:
        log.info("sent event %s for %s: no notice engine to record it", event.msgid, mask(event.openid))
        return
    await recorder(event, user)
