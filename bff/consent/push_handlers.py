"""What the consent ledger does with WeChat's subscription pushes (wechat-platform.md §4).

The push receiver stores each push and a job routes each typed event (bff/inbound/wechat_push.py);
popup and change events come here, ``handle(event, user)``. Every branch is idempotent: WeChat
retries a push up to three times and a job may run again.

- popup ``accept`` (also ``acceptWithAudio`` / ``acceptWithAlert``): one accept, counted once
  together with the mini-program's report (bff.consent.matching).
- popup ``reject``: status REJECT; units granted earlier stay (a refused popup takes nothing back).
- popup ``ban``: the template is disabled for the user and operators are told.
- popup ``filter``: a configuration error (two ids with one title); operators are told.
- change ``reject``: the user turned the template off in WeChat's settings: the units granted
  before its CreateTime are voided, status REJECT; an accept newer than it keeps its unit and
  its ACCEPT status, whichever job ran first (``zero_units(as_of=CreateTime)``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bff.consent import ledger
from bff.consent.alerts import AlertKind, raise_alert
from bff.consent.matching import push_key, record_accept
from bff.models.consent import CreditSource, WeChatStatus
from bff.models.users import User
from bff.runtime.logsafe import mask
from bff.wechat.events import ChangeEvent, PopupEvent

log = logging.getLogger(__name__)

ACCEPT_STATUSES = frozenset({"accept", "acceptwithaudio", "acceptwithalert"})


def event_time(create_time: int) -> datetime:
    return datetime.fromtimestamp(create_time, UTC)


async def handle(event: PopupEvent | ChangeEvent, user: User) -> None:
    """Apply one popup or change event of ``user`` to the consent ledger."""
    if isinstance(event, PopupEvent):
        await _popup(event, user)
    else:
        await _change(event, user)


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
