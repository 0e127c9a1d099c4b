"""Lifecycle cron jobs: the replenishment and maintenance scans (bff/lifecycle/scans.py).

Each run goes on from the scan's cursor for a bounded number of batches and time, acting as of
now; the next minute's run continues. Each run's start, end and rows walked go to /metrics
(``lvyue_scan_*{scan="replenishment"|"maintenance"}``). ``ctx["lifecycle_as_of"]`` (a datetime)
may replace now, for the demo script and tests that advance the clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bff.lifecycle.scans import scan_maintenance as scan_maintenance_due
from bff.lifecycle.scans import scan_replenishment as scan_replenishment_due
from bff.notices.planner import NoticeContext
from bff.runtime.metrics import record_scan


def _as_of(ctx: dict[str, Any]) -> datetime:
    as_of = ctx.get("lifecycle_as_of")
    return as_of if isinstance(as_of, datetime) else datetime.now(UTC)


async def scan_replenishment(ctx: dict[str, Any]) -> str:
    """Cron: plan the REPLENISHMENT reminders that are due."""
    notice_ctx = NoticeContext.from_settings(ctx["settings"], ctx["redis"])
    started = time.time()
    report = await scan_replenishment_due(notice_ctx, ctx["redis"], as_of=_as_of(ctx))
    await record_scan(
        ctx["redis"],
        report.scan,
        started=started,
        finished=time.time(),
        rows=report.rows,
        pass_done=report.finished,
    )
    return f"{report.rows} due, {report.planned} planned, {dict(report.decided)}, done {report.finished}"


async def scan_maintenance(ctx: dict[str, Any]) -> str:
    """Cron: plan the MAINTENANCE notices that fell due."""
    notice_ctx = NoticeContext.from_settings(ctx["settings"], ctx["redis"])
    started = time.time()
    report = await scan_maintenance_due(notice_ctx, ctx["redis"], as_of=_as_of(ctx))
    await record_scan(
        ctx["redis"],
        report.scan,
        started=started,
        finished=time.time(),
        rows=report.rows,
        pass_done=report.finished,
    )
    return f"{report.rows} owned, {report.planned} planned, {dict(report.decided)}, done {report.finished}"
