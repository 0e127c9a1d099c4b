"""Consent inventory per template: who holds units now, how many, what the range's popups and
settings changes did day by day, and how many notices went unsent for want of a unit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bff.catalog.templates_file import TemplatesFile
from bff.insight.period import Period
from bff.insight.sql import as_int, epoch, hour_bucket, rows
from bff.models.consent import LedgerMoveKind, SubscribeRequestLog
from bff.models.users import User
from bff.models.wechat import PushEvent
from bff.notices.reasons import Reason
from bff.wechat.events import CHANGE_EVENT, POPUP_EVENT

BAN_ALERT = "BAN"  # bff.consent.alerts.AlertKind.BAN: one alert per (user, template), dated when first seen


@dataclass(frozen=True)
class ConsentDay:
    day: date
    accepts: int  # accepts that granted a unit (a popup's report and push count once)
    rejects: int  # users who rejected the template that day (popup or settings), each counted once
    bans: int  # users for whom WeChat banned the template that day


@dataclass(frozen=True)
class TemplateInventory:
    template_id: str
    title: str | None
    topics: tuple[str, ...]
    users_with_units: int  # now: granted > spent, not banned
    units_outstanding: int  # now
    suppressed_no_units: int  # notices created in the range, SUPPRESSED with NO_UNITS
    history: tuple[ConsentDay, ...]  # every day of the range


async def consent_inventory(period: Period, templates: TemplatesFile) -> tuple[TemplateInventory, ...]:
    """Every template of the templates file, and any other template the ledger or the notices know,
    by template id."""
    bounds = [period.start.timestamp(), period.end.timestamp()]
    units = {
        row["template_id"]: (as_int(row["users"]), as_int(row["units"]))
        for row in await rows(
            "SELECT template_id, COUNT(*) AS users, SUM(granted - spent) AS units FROM consent_ledger "
            "WHERE granted > spent AND banned = ? GROUP BY template_id",
            [False],
        )
    }
    suppressed = {
        row["template_id"]: as_int(row["notices"])
        for row in await rows(
            "SELECT template_id, COUNT(*) AS notices FROM notices WHERE status = 'SUPPRESSED' AND reason = ? "
            f"AND {epoch('created_at')} >= ? AND {epoch('created_at')} < ? GROUP BY template_id",
            [str(Reason.NO_UNITS), *bounds],
        )
    }
    accepts: dict[tuple[str, date], int] = defaultdict(int)
    for row in await rows(
        f"SELECT template_id, {hour_bucket('at')} AS hour, COUNT(*) AS moves FROM consent_ledger_moves "
        f"WHERE kind = ? AND {epoch('at')} >= ? AND {epoch('at')} < ? GROUP BY 1, 2",
        [str(LedgerMoveKind.GRANT), *bounds],
    ):
        accepts[(row["template_id"], _day(period, row["hour"]))] += as_int(row["moves"])
    bans: dict[tuple[str, date], int] = defaultdict(int)
    for row in await rows(
        f"SELECT template_id, {hour_bucket('first_seen_at')} AS hour, COUNT(*) AS alerts FROM ops_alerts "
        f"WHERE kind = ? AND template_id IS NOT NULL AND {epoch('first_seen_at')} >= ? "
        f"AND {epoch('first_seen_at')} < ? GROUP BY 1, 2",
        [BAN_ALERT, *bounds],
    ):
        bans[(row["template_id"], _day(period, row["hour"]))] += as_int(row["alerts"])
    rejects = await _rejects(period)

    known = {t.template_id for t in templates.templates} | set(units) | set(suppressed)
    known |= {key[0] for key in (*accepts, *bans, *rejects)}
    out = []
    for template_id in sorted(known):
        template = templates.by_id(template_id)
        users, outstanding = units.get(template_id, (0, 0))
        out.append(
            TemplateInventory(
                template_id=template_id,
                title=template.title if template else None,
                topics=tuple(str(t) for t in template.topics) if template else (),
                users_with_units=users,
                units_outstanding=outstanding,
                suppressed_no_units=suppressed.get(template_id, 0),
                history=tuple(
                    ConsentDay(
                        day,
                        accepts.get((template_id, day), 0),
                        rejects.get((template_id, day), 0),
                        bans.get((template_id, day), 0),
                    )
                    for day in period.days()
                ),
            )
        )
    return tuple(out)


def _day(period: Period, hour: object) -> date:
    return period.day_of(datetime.fromtimestamp(as_int(hour) * 3600, UTC))


async def _rejects(period: Period) -> dict[tuple[str, date], int]:
    """Rejects per (template, day): distinct users who said no, in a popup (the mini-program's
    report or WeChat's popup push: one answer reaches us twice) or in WeChat's settings (change
    push). Read from the range's subscribe reports and subscription pushes only (JSON columns are
    not grouped alike on both engines)."""
    seen: set[tuple[str, str, date]] = set()
    reports = await SubscribeRequestLog.filter(
        reported_at__gte=period.start, reported_at__lt=period.end
    ).values_list("user_id", "results", "reported_at")
    user_ids = {int(user_id) for user_id, _, _ in reports}
    openids = dict(await User.filter(id__in=sorted(user_ids)).values_list("id", "openid")) if user_ids else {}
    for user_id, results, reported_at in reports:
        for template_id, status in dict(results or {}).items():
            if str(status).upper() == "REJECT":
                seen.add(
                    (
                        str(openids.get(user_id, f"user:{user_id}")),
                        str(template_id),
                        period.day_of(reported_at),
                    )
                )
    pushes = await PushEvent.filter(
        event__in=[POPUP_EVENT, CHANGE_EVENT],
        create_time__gte=int(period.start.timestamp()),
        create_time__lt=int(period.end.timestamp()),
    ).values_list("openid", "template_id", "details", "create_time")
    for openid, template_id, details, create_time in pushes:
        if template_id and str(dict(details or {}).get("status", "")).strip().lower() == "reject":
            at = datetime.fromtimestamp(int(create_time), UTC)
            seen.add((str(openid), str(template_id), period.day_of(at)))
    counts: dict[tuple[str, date], int] = defaultdict(int)
    for _, template_id, day in seen:
        counts[(template_id, day)] += 1
    return counts
