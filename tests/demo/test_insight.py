"""Demo data (bff/demo/insight.py): after `bff seed` each of the operators' five insight reads has
something to show over the last 60 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.catalog.templates_file import load_templates_file
from bff.demo.seed import seed
from bff.insight.consent_inventory import consent_inventory
from bff.insight.experiments import experiment_reports
from bff.insight.kpis import kpi_report
from bff.insight.period import period
from bff.insight.presale import presale_suggestions
from bff.insight.regions import regional_insight
from bff.models import Notice
from bff.notices.experiments.definitions import load_experiments_file
from tests.insight.world import SHANGHAI

TEMPLATES = load_templates_file()


async def test_after_seeding_every_insight_read_has_figures(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given the demo data
    await seed(if_empty=True)
    now = datetime.now(UTC)
    today = now.astimezone(SHANGHAI).date()
    span = period(today - timedelta(days=59), today, SHANGHAI)

    # when
    kpis = await kpi_report(span, TEMPLATES, now=now)
    inventory = await consent_inventory(span, TEMPLATES)
    regions = await regional_insight(span, now=now)
    presales = {s.sku_code: s for s in await presale_suggestions(TEMPLATES)}
    experiments = await experiment_reports(load_experiments_file(None, TEMPLATES), now=now)

    # then KPIs: sends, opens, repurchase against the experiment's holdout, ratings, deliveries
    assert kpis.outcomes.sent > 0 and kpis.outcomes.opened > 0 and kpis.outcomes.suppressed > 0
    assert kpis.outcomes.failed_by_errcode and kpis.outcomes.suppressed_by_reason
    seven, thirty = kpis.repurchase
    assert seven.opened.numerator > 0 and seven.holdout is not None
    assert thirty.opened.numerator > 0 and thirty.holdout is not None and thirty.p_value is not None
    assert kpis.nps.responses > 0 and kpis.nps.score is not None
    assert kpis.on_time_delivery.denominator > 0 and kpis.on_time_delivery.numerator > 0
    assert kpis.fill_rate.denominator > kpis.fill_rate.numerator > 0
    assert kpis.exception_response.decided_by_user > 0 and kpis.exception_response.decided_by_default > 0
    in_span = Notice.filter(created_at__gte=span.start, created_at__lt=span.end)
    assert kpis.outcomes.planned == await in_span.count()
    # the consent inventory: units held for the presale progress template
    assert any(t.users_with_units > 0 for t in inventory)
    # regions: four regions, Hangzhou's out-for-delivery response a forward-warehouse candidate
    assert len({c.region for c in regions.cells}) >= 4
    assert [(c.region, c.topic) for c in regions.forward_warehouse_candidates][:1] == [
        ("浙江省杭州市", "NODE_OUT_FOR_DELIVERY")
    ]
    # presale: the current SKU gets a suggestion from the two earlier presales
    current = presales["SKU-TEA-NEW"]
    assert current.earlier_presales == 2 and current.low <= current.suggested_quantity <= current.high
    assert current.suggested_quantity >= current.units_ordered > 0
    # the experiment: every variant assigned, the sent ones opened
    (report,) = experiments
    assert all(v.assigned > 0 for v in report.variants)
    assert all(v.opens > 0 for v in report.variants if not v.holdout)
    assert all(v.window(7).matured > 0 for v in report.variants)
