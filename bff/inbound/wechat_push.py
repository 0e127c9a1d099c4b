"""Where one of WeChat's subscription pushes goes (wechat-platform.md §4).

The push receiver stores each push and the job ``handle_push_event`` (tasks/push.py) calls
``route_push_event(event, user)`` once per typed event:

- popup and change events are about consent: the ledger (bff.consent.push_handlers);
- sent events are about a send: the notice engine matches them to the notice by ``msgid`` and
  records the delivery result (bff.notices.delivery.record_sent_event);
- anything else concerns neither; it is only logged.

Routing lives here, above both domains, so that consent imports nothing of the notices.
"""

from __future__ import annotations

import logging

from bff.consent import push_handlers
from bff.models.users import User
from bff.notices.delivery import record_sent_event
from bff.runtime.logsafe import mask
from bff.wechat.events import ChangeEvent, OtherEvent, PopupEvent, PushEvent, SentEvent

__all__ = ["route_push_event"]

log = logging.getLogger("lvyue.inbound.wechat_push")


async def route_push_event(event: PushEvent, user: User) -> None:
    """Hand one typed push event of ``user`` to the domain it is about."""
    if isinstance(event, PopupEvent | ChangeEvent):
        await push_handlers.handle(event, user)
    elif isinstance(event, SentEvent):
        await record_sent_event(event, user)
    elif isinstance(event, OtherEvent):
        log.debug("push %s of %s is for no domain of ours", event.event, mask(event.openid))
