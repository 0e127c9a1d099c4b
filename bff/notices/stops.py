"""What a send's refusal says beyond its own notice: the side actions of wechat-platform.md §11.

``after_refusal`` is called by the sender once the refused notice is settled:

* TEMPLATE_BUG (40037 unknown template, 41030 page, 43107 template banned, 48001, 200011–200022):
  the template is stopped (``StoppedTemplate``) and operators get a TEMPLATE_STOPPED alert (one
  row per template, counting repeats). Until an operator clears it (``resume_template``), every
  notice of that template is SUPPRESSED with reason TEMPLATE_STOPPED before a unit is reserved:
  no call that cannot work, and the users keep their units.
* DROP_RECIPIENT (40003 invalid openid): the user is flagged (``User.openid_invalid_at``); their
  notices are SUPPRESSED with reason OPENID_INVALID until the flag is cleared
  (``clear_invalid_openid``). No alert: one user's openid is not an operator's problem.
* DEFER_TOMORROW (45009, the app's daily API quota): a DAILY_API_LIMIT alert, one row for the app.
* CREDENTIALS (appid, secret, IP whitelist) and REFRESH_TOKEN (a token refused again after the
  client's one refresh, §1.4): a CREDENTIALS alert, one row for the app.

``send_blocker`` is what the sender asks before reserving a unit.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bff.consent.alerts import AlertKind, raise_alert, resolve_alert
from bff.models.notices import StoppedTemplate
from bff.models.users import User
from bff.wechat.errors import Action, WeChatAPIError, WeChatTransportError

__all__ = [
    "OPENID_INVALID",
    "TEMPLATE_STOPPED",
    "after_refusal",
    "blocker_of",
    "clear_invalid_openid",
    "flag_invalid_openid",
    "resume_template",
    "send_blocker",
    "stop_template",
    "stopped_templates",
]

log = logging.getLogger("lvyue.notices.stops")

# Reasons of a SUPPRESSED notice (stable UPPER_SNAKE strings, like bff/notices/sender.py's).
TEMPLATE_STOPPED = "TEMPLATE_STOPPED"
OPENID_INVALID = "OPENID_INVALID"

_DETAIL_MAX = 1000


def utcnow() -> datetime:
    return datetime.now(UTC)


async def send_blocker(user_id: int, template_id: str) -> tuple[str, str] | None:
    """(reason, detail) when a send of ``template_id`` to the user must not be tried; else None."""
    stopped = await StoppedTemplate.get_or_none(template_id=template_id, cleared_at__isnull=True)
    if stopped is not None:
        return _template_stopped(template_id, stopped)
    flagged = await User.filter(id=user_id).first().values_list("openid_invalid_at", flat=True)
    if flagged is not None:
        return _openid_invalid(flagged)
    return None


async def blocker_of(
    template_id: str, stopped_id: int | None, flagged_at: datetime | None
) -> tuple[str, str] | None:
    """``send_blocker`` from what the sender's claim read on PostgreSQL (bff/notices/send_rows.py):
    the template's open stop (its id) and the user's invalid-openid flag. No query unless stopped."""
    if stopped_id is not None:
        stopped = await StoppedTemplate.get_or_none(id=stopped_id)
        if stopped is not None:
            return _template_stopped(template_id, stopped)
    if flagged_at is not None:
        return _openid_invalid(flagged_at)
    return None


def _template_stopped(template_id: str, stopped: StoppedTemplate) -> tuple[str, str]:
    return TEMPLATE_STOPPED, (
        f"template {template_id} stopped after errcode {stopped.errcode} "
        f"at {stopped.stopped_at.isoformat()}: {stopped.detail}"
    )[:_DETAIL_MAX]


def _openid_invalid(flagged: object) -> tuple[str, str]:
    return OPENID_INVALID, f"WeChat answered 40003 (invalid openid) for this user at {flagged}"


async def after_refusal(
    error: WeChatAPIError | WeChatTransportError,
    *,
    user_id: int,
    template_id: str,
    notice_id: int,
    now: datetime | None = None,
) -> None:
    """The side action of WeChat's refusal of one send (see the module docstring)."""
    if not isinstance(error, WeChatAPIError):
        return
    at = now or utcnow()
    detail = f"errcode {error.errcode} on notice {notice_id}: {error.errmsg}"[:_DETAIL_MAX]
    action = error.action
    if action is Action.TEMPLATE_BUG:
        await stop_template(
            template_id, errcode=error.errcode, detail=error.errmsg, notice_id=notice_id, now=at
        )
        await raise_alert(
            AlertKind.TEMPLATE_STOPPED, user_id=None, template_id=template_id, detail=detail, now=at
        )
    elif action is Action.DROP_RECIPIENT:
        await flag_invalid_openid(user_id, now=at)
    elif action is Action.DEFER_TOMORROW:
        await raise_alert(AlertKind.DAILY_API_LIMIT, user_id=None, template_id=None, detail=detail, now=at)
    elif action in (Action.CREDENTIALS, Action.REFRESH_TOKEN):
        await raise_alert(AlertKind.CREDENTIALS, user_id=None, template_id=None, detail=detail, now=at)


async def stop_template(
    template_id: str, *, errcode: int, detail: str, notice_id: int | None = None, now: datetime | None = None
) -> bool:
    """Stop sends of ``template_id``; True when it was not stopped before (idempotent)."""
    at = now or utcnow()
    fields = {"errcode": errcode, "detail": detail[:_DETAIL_MAX], "notice_id": notice_id, "stopped_at": at}
    if await StoppedTemplate.filter(template_id=template_id, cleared_at__isnull=False).update(
        **fields, cleared_at=None
    ):
        started = True
    else:
        before = await StoppedTemplate.filter(template_id=template_id).exists()
        # ON CONFLICT DO NOTHING: two workers refused at once make one row.
        await StoppedTemplate.bulk_create(
            [StoppedTemplate(template_id=template_id, **fields)], ignore_conflicts=True
        )
        started = not before
    if started:
        log.warning("template %s stopped after errcode %d (notice %s)", template_id, errcode, notice_id)
    return started


async def resume_template(template_id: str, *, now: datetime | None = None) -> bool:
    """An operator fixed the template: sends of it are tried again and its alert is resolved.
    True if it was stopped."""
    at = now or utcnow()
    resumed = bool(
        await StoppedTemplate.filter(template_id=template_id, cleared_at__isnull=True).update(cleared_at=at)
    )
    await resolve_alert(AlertKind.TEMPLATE_STOPPED, user_id=None, template_id=template_id, now=at)
    if resumed:
        log.warning("template %s resumed by an operator", template_id)
    return resumed


async def stopped_templates() -> list[StoppedTemplate]:
    """Templates currently stopped, oldest first."""
    return await StoppedTemplate.filter(cleared_at__isnull=True).order_by("stopped_at", "id")


async def flag_invalid_openid(user_id: int, *, now: datetime | None = None) -> bool:
    """Record that WeChat called the user's openid invalid; True if newly flagged."""
    flagged = bool(
        await User.filter(id=user_id, openid_invalid_at__isnull=True).update(
            openid_invalid_at=now or utcnow()
        )
    )
    if flagged:
        log.warning("user %d flagged: WeChat answered 40003 (invalid openid); sends to them stop", user_id)
    return flagged


async def clear_invalid_openid(user_id: int) -> bool:
    """Sends to the user are tried again (their openid was shown valid); True if it was flagged."""
    return bool(await User.filter(id=user_id, openid_invalid_at__isnull=False).update(openid_invalid_at=None))
