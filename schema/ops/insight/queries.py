"""The insight reads of the operators' API (thin: bff.insight does the work)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import strawberry

from bff.catalog.templates_file import templates_of
from bff.insight.consent_inventory import consent_inventory
from bff.insight.experiments import experiment_reports
from bff.insight.kpis import kpi_report
from bff.insight.period import Period, PeriodError, period
from bff.insight.presale import presale_suggestions
from bff.insight.regions import regional_insight
from bff.notices.experiments.definitions import load_experiments_file
from schema.context import Info
from schema.errors import PublicError
from schema.ops.insight.types import (
    ExperimentReportType,
    KpiReportType,
    PresaleSuggestionType,
    RegionalInsightType,
    TemplateInventoryType,
)

From = Annotated[date, strawberry.argument(name="from")]


def _period(info: Info, first: date, last: date) -> Period:
    try:
        return period(first, last, info.context.resources.settings.zone)
    except PeriodError as exc:
        raise PublicError(str(exc)) from None


@strawberry.type
class InsightQuery:
    @strawberry.field(description="notice outcomes, repurchase, NPS, delivery, fill rate, exception response")
    async def kpis(self, info: Info, from_: From, to: date) -> KpiReportType:
        span = _period(info, from_, to)
        settings = info.context.resources.settings
        return KpiReportType.of(await kpi_report(span, templates_of(settings), now=datetime.now(UTC)))

    @strawberry.field(description="by templateId")
    async def consent_inventory(self, info: Info, from_: From, to: date) -> list[TemplateInventoryType]:
        span = _period(info, from_, to)
        found = await consent_inventory(span, templates_of(info.context.resources.settings))
        return [TemplateInventoryType.of(t) for t in found]

    @strawberry.field(description="region × topic response; forward-warehouse candidates best first")
    async def regional_insight(self, info: Info, from_: From, to: date) -> RegionalInsightType:
        span = _period(info, from_, to)
        return RegionalInsightType.of(await regional_insight(span, now=datetime.now(UTC)))

    @strawberry.field(description="every SKU ever sold in a presale order, by skuCode")
    async def presale_suggestions(self, info: Info) -> list[PresaleSuggestionType]:
        found = await presale_suggestions(templates_of(info.context.resources.settings))
        return [PresaleSuggestionType.of(s) for s in found]

    @strawberry.field(description="every experiment of the experiments file")
    async def experiments(self, info: Info) -> list[ExperimentReportType]:
        settings = info.context.resources.settings
        file = load_experiments_file(settings.templates_file, templates_of(settings))
        return [ExperimentReportType.of(r) for r in await experiment_reports(file, now=datetime.now(UTC))]
