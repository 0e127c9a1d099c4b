"""The policy's last word before a unit is reserved: is a claimed notice still wanted?

A decision may be hours old (quiet hours, a retry's backoff); the facts it was taken on may not
hold any more (receipt confirmed, switch turned off …). The sender asks ``withdrawal_before_send``
right before it reserves a unit; it loads only the facts ``policy.withdrawal`` reads.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bff.catalog.templates_file import TemplatesFile
from bff.models.notices import Notice
from bff.notices import policy
from bff.notices.facts import load_user_facts, notice_facts

__all__ = ["withdrawal_before_send"]


async def withdrawal_before_send(
    notice: Notice, now: datetime, *, templates: TemplatesFile, zone: ZoneInfo
) -> str | None:
    """Why the notice is no longer wanted (``policy.withdrawal`` on facts loaded now), or None."""
    facts = await load_user_facts(
        [notice.user_id],
        now=now,
        zone=zone,
        order_nos=[notice.order_no] if notice.order_no is not None else [],
        withdrawal_only=True,
    )
    reason = policy.withdrawal(notice_facts(notice, templates), facts[notice.user_id], now)
    return str(reason) if reason is not None else None
