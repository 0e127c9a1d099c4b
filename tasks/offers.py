"""Offer cron jobs: the offers scan and the co-purchase refresh (bff/offers/).

Each run goes on from its cursor for a bounded number of batches and time; the next minute's run
continues. ``ctx["offers_as_of"]`` (a datetime) may replace now, for scripts and tests that
advance the clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bff.notices.planner import NoticeContext
from bff.offers.rules import rules_from_settings
from bff.offers.scan import scan_offers as scan_offers_due
from bff.offers.store import refresh_co_purchase as refresh_stats
from bff.runtime.metrics import record_scan


def _as_of(ctx: dict[str, Any]) -> datetime:
    as_of = ctx.get("offers_as_of")
    return as_of if isinstance(as_of, datetime) else datetime.now(UTC)


async def scan_offers(ctx: dict[str, Any]) -> str:
    """Cron: plan one notice per user × offer period for the offers valid now."""
    settings = ctx["settings"]
    notice_ctx = NoticeContext.from_settings(settings, ctx["redis"])
    started = time.time()
    report = await scan_offers_due(
        notice_ctx, ctx["redis"], as_of=_as_of(ctx), rules=rules_from_settings(settings)
    )
    # The offers scan walks users: its rows are users.
    await record_scan(
        ctx["redis"],
        "offers",
        started=started,
        finished=time.time(),
        rows=report.users,
        pass_done=report.finished,
    )
    return f"{report.users} users, {report.offers} offers, {report.planned} planned, done {report.finished}"


async def refresh_co_purchase(ctx: dict[str, Any]) -> str:
    """Cron: go on rebuilding the co-purchase stats behind recommendations."""
    report = await refresh_stats(ctx["redis"], now=_as_of(ctx))
    return (
        f"{report.users} users in {report.batches} batches, pass done {report.finished}, idle {report.idle}"
    )
