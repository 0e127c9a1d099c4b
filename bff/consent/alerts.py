"""Alerts for operators: things only a person can fix (a banned template, a filtered request,
a template WeChat refuses, the app's daily API quota, wrong credentials).

One row per fingerprint (kind + user + template): a thousand users hitting the same
configuration error make one alert per user and template, each counting its repeats, not a
thousand identical rows per user. Every alert is also logged at WARNING with the openid masked.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from enum import StrEnum

from tortoise.expressions import F

from bff.models.consent import OpsAlert

log = logging.getLogger(__name__)


class AlertKind(StrEnum):
    BAN = "BAN"  # WeChat banned a template for a user (popup answer or report: `ban`)
    FILTER = "FILTER"  # WeChat filtered a template of a request: two ids with one title (config bug)
    # Raised by a send's refusal (bff/notices/stops.py), one row per template / per app:
    TEMPLATE_STOPPED = "TEMPLATE_STOPPED"  # 40037, 41030, 43107, 48001, 2000xx: the template is stopped
    DAILY_API_LIMIT = "DAILY_API_LIMIT"  # 45009: sends wait for tomorrow
    CREDENTIALS = "CREDENTIALS"  # appid / secret / IP whitelist wrong, or a refreshed token refused


def fingerprint(kind: AlertKind, user_id: int | None, template_id: str | None) -> str:
    return f"{kind}:{user_id if user_id is not None else '-'}:{template_id or '-'}"


async def raise_alert(
    kind: AlertKind, *, user_id: int | None, template_id: str | None, detail: str, now: datetime | None = None
) -> None:
    """Record (or count again) an alert for operators."""
    at = now or datetime.now(UTC)
    key = fingerprint(kind, user_id, template_id)
    log.warning("ops alert %s user=%s template=%s: %s", kind, user_id, template_id, detail)
    updated = await OpsAlert.filter(fingerprint=key).update(
        count=F("count") + 1, last_seen_at=at, detail=detail, resolved_at=None
    )
    if updated:
        return
    await OpsAlert.bulk_create(
        [
            OpsAlert(
                fingerprint=key,
                kind=str(kind),
                user_id=user_id,
                template_id=template_id,
                detail=detail,
                first_seen_at=at,
                last_seen_at=at,
            )
        ],
        ignore_conflicts=True,
    )


async def resolve_alert(
    kind: AlertKind, *, user_id: int | None, template_id: str | None, now: datetime | None = None
) -> bool:
    """Mark an open alert resolved (the operator fixed its cause); True if one was open."""
    at = now or datetime.now(UTC)
    key = fingerprint(kind, user_id, template_id)
    return bool(await OpsAlert.filter(fingerprint=key, resolved_at__isnull=True).update(resolved_at=at))


async def open_alerts(kind: AlertKind | None = None) -> list[OpsAlert]:
    """Unresolved alerts, newest first (for the operators' API)."""
    query = OpsAlert.filter(resolved_at__isnull=True)
    if kind is not None:
        query = query.filter(kind=str(kind))
    return await query.order_by("-last_seen_at", "-id")
