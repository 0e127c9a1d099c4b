"""The insight reads are served on POST /ops/graphql, beside search and actions, behind the ops key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.demo.seed import seed
from bff.models import Notice
from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from tests.insight.world import SHANGHAI
from tests.ops.fixtures import app_client, ops, with_ops_keys

INSIGHT = """
query Insight($from: Date!, $to: Date!) {
  operator { name }
  kpis(from: $from, to: $to) { outcomes { planned sent openRate } nps { score } }
  consentInventory(from: $from, to: $to) { templateId usersWithUnits }
  regionalInsight(from: $from, to: $to) { forwardWarehouseCandidates { region topic } }
  presaleSuggestions { skuCode suggestedQuantity low high }
  experiments { key variants { name } }
}
"""


@pytest.fixture
async def client_with_keys(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(resources, with_ops_keys(settings)) as client:
        yield client


async def test_the_demo_insight_is_read_over_the_ops_api_with_one_request(
    client_with_keys: httpx.AsyncClient, db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given the demo data
    await seed(if_empty=True)
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    first, last = today - timedelta(days=59), today

    # when an operator reads every insight at once
    answer = await ops(client_with_keys, INSIGHT, {"from": first.isoformat(), "to": last.isoformat()})

    # then each read answers, and the planned count is the database's
    assert "errors" not in answer, answer
    data = answer["data"]
    assert data["operator"] == {"name": "alice"}
    start = datetime.combine(first, datetime.min.time(), SHANGHAI)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), SHANGHAI)
    planned = await Notice.filter(created_at__gte=start, created_at__lt=end).count()
    assert data["kpis"]["outcomes"]["planned"] == planned
    assert data["kpis"]["outcomes"]["sent"] > 0 and data["kpis"]["nps"]["score"] is not None
    assert any(t["usersWithUnits"] > 0 for t in data["consentInventory"])
    assert data["regionalInsight"]["forwardWarehouseCandidates"]
    assert any(
        s["skuCode"] == "SKU-TEA-NEW" and s["low"] <= s["suggestedQuantity"] <= s["high"]
        for s in data["presaleSuggestions"]
    )
    assert data["experiments"] and data["experiments"][0]["variants"]


async def test_a_range_the_wrong_way_round_is_a_clear_error(
    client_with_keys: httpx.AsyncClient, db: object
) -> None:
    # (only ranged reads: an unranged one would still be reading when the error answers, and a
    # test's event loop ends with its request)
    ranged = "query($from: Date!, $to: Date!) { kpis(from: $from, to: $to) { from } }"
    answer = await ops(client_with_keys, ranged, {"from": "2026-11-30", "to": "2026-11-01"})
    assert answer["data"] is None
    assert answer["errors"][0]["message"] == "the range ends (2026-11-01) before it starts (2026-11-30)"
