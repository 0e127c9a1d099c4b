"""`reportSubscribeResult`: what wx.requestSubscribeMessage answered, template by template.

The report is checked as a whole first (the request must be the user's, every template must be
one that request asked for, every status known) and nothing changes when any part is wrong.

Per template: ``ACCEPT`` is one accept, counted once with WeChat's popup push
(bff.consent.matching, keyed by requestId + templateId, so a repeated report changes nothing);
``REJECT`` records the refusal (earlier units stay); ``BAN`` disables the template for the user
and alerts operators; ``FILTER`` is a configuration error (two ids with one title) and alerts
operators. ``alwaysKeep`` lists the templates whose choice the user asked WeChat to keep.
``mainSwitch`` is WeChat's subscription main switch (wx.getSetting), kept with the preferences.

A report is idempotent per (requestId, template): a template already reported for the request is
not applied again (a repeated report changes nothing), and reporting it with another status is
an ``ALREADY_REPORTED`` error (one popup has one answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bff.consent import ledger
from bff.consent.alerts import AlertKind, raise_alert
from bff.consent.errors import ConsentErrorCode
from bff.consent.matching import Accept, record_accepts, report_key
from bff.consent.preferences import FieldProblem, set_main_switch
from bff.models.consent import CreditSource, SubscribeRequestLog, WeChatStatus

# A popup shows at most 5 templates; anything much longer is not a report of one.
MAX_ITEMS = 10


class ReportStatus(StrEnum):
    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    BAN = "BAN"
    FILTER = "FILTER"


# WeChat's own spellings (acceptWithAudio, acceptWithAlert) are accepts too (wechat-platform §3.2).
_STATUS_ALIASES = {
    "ACCEPT": ReportStatus.ACCEPT,
    "ACCEPTWITHAUDIO": ReportStatus.ACCEPT,
    "ACCEPTWITHALERT": ReportStatus.ACCEPT,
    "REJECT": ReportStatus.REJECT,
    "BAN": ReportStatus.BAN,
    "FILTER": ReportStatus.FILTER,
}


def parse_status(value: str) -> ReportStatus | None:
    return _STATUS_ALIASES.get(value.strip().upper().replace("_", ""))


@dataclass(frozen=True)
class ResultItem:
    template_id: str
    status: str


@dataclass(frozen=True)
class SubscribeReport:
    request_id: str
    results: Sequence[ResultItem]
    main_switch: bool | None = None
    always_keep: Sequence[str] = ()


async def report_subscribe_result(
    user_id: int, report: SubscribeReport, *, now: datetime | None = None
) -> list[FieldProblem]:
    """Apply the report; returns its problems (and then nothing was changed)."""
    at = now or datetime.now(UTC)
    if len(report.results) > MAX_ITEMS or len(report.always_keep) > MAX_ITEMS:
        field = "results" if len(report.results) > MAX_ITEMS else "alwaysKeep"
        return [
            FieldProblem(
                ConsentErrorCode.TOO_MANY_ITEMS, field, f"a popup answers at most {MAX_ITEMS} templates"
            )
        ]
    log = await SubscribeRequestLog.get_or_none(request_id=report.request_id, user_id=user_id)
    if log is None:
        return [
            FieldProblem(
                ConsentErrorCode.UNKNOWN_REQUEST,
                "requestId",
                "no subscribe request with this id was made for you",
            )
        ]
    asked = set(log.template_ids)
    problems: list[FieldProblem] = []
    statuses: dict[str, ReportStatus] = {}
    for index, item in enumerate(report.results):
        if item.template_id not in asked:
            problems.append(
                FieldProblem(
                    ConsentErrorCode.TEMPLATE_NOT_REQUESTED,
                    f"results[{index}].templateId",
                    f"{item.template_id!r} was not asked for in this request",
                )
            )
        status = parse_status(item.status)
        if status is None:
            problems.append(
                FieldProblem(
                    ConsentErrorCode.UNKNOWN_STATUS,
                    f"results[{index}].status",
                    f"{item.status!r} is not one of ACCEPT, REJECT, BAN, FILTER",
                )
            )
            continue
        reported = log.results.get(item.template_id)
        if reported is not None and reported != status:
            problems.append(
                FieldProblem(
                    ConsentErrorCode.ALREADY_REPORTED,
                    f"results[{index}].status",
                    f"{item.template_id!r} was already reported as {reported} for this request",
                )
            )
        if statuses.get(item.template_id, status) is not status:
            problems.append(
                FieldProblem(
                    ConsentErrorCode.DUPLICATE_TEMPLATE,
                    f"results[{index}].templateId",
                    f"{item.template_id!r} is reported twice with different answers",
                )
            )
        statuses[item.template_id] = status
    for index, template_id in enumerate(report.always_keep):
        if template_id not in asked:
            problems.append(
                FieldProblem(
                    ConsentErrorCode.TEMPLATE_NOT_REQUESTED,
                    f"alwaysKeep[{index}]",
                    f"{template_id!r} was not asked for in this request",
                )
            )
    if problems:
        return problems

    if report.main_switch is not None:
        await set_main_switch(user_id, report.main_switch)
    keep = set(report.always_keep)
    fresh = {
        template_id: status for template_id, status in statuses.items() if template_id not in log.results
    }
    # Accepts and rejects of every template at once (a fixed number of statements); a ban or a
    # filter (an operator alert each, rare) one by one.
    await record_accepts(
        user_id,
        [
            Accept(template_id, report_key(log.request_id, template_id), always_keep=template_id in keep)
            for template_id, status in fresh.items()
            if status is ReportStatus.ACCEPT
        ],
        source=CreditSource.REPORT,
        occurred_at=at,
    )
    rejected = [(t, t in keep) for t, status in fresh.items() if status is ReportStatus.REJECT]
    await ledger.set_statuses(user_id, rejected, WeChatStatus.REJECT)
    for template_id, status in fresh.items():
        if status in (ReportStatus.BAN, ReportStatus.FILTER):
            await _apply(user_id, log, template_id, status)
    if fresh:
        results = {**log.results, **{template_id: str(status) for template_id, status in fresh.items()}}
        await SubscribeRequestLog.filter(id=log.id).update(results=results, reported_at=log.reported_at or at)
    return []


async def _apply(user_id: int, log: SubscribeRequestLog, template_id: str, status: ReportStatus) -> None:
    if status is ReportStatus.BAN:
        await ledger.ban(user_id, template_id)
        await raise_alert(
            AlertKind.BAN,
            user_id=user_id,
            template_id=template_id,
            detail=f"the mini-program reported ban for request {log.request_id} ({log.moment})",
        )
    else:
        await raise_alert(
            AlertKind.FILTER,
            user_id=user_id,
            template_id=template_id,
            detail=f"WeChat filtered the template in request {log.request_id} ({log.moment}): "
            "another requested template has the same title",
        )
