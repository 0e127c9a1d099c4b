"""The insight reads over GraphQL (schema/ops/insight): the contract's fields, executed through a
schema holding InsightQuery (the lead wires it into /ops/graphql)."""

from __future__ import annotations

from typing import Any

import strawberry
from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic
from bff.runtime.resources import Resources
from bff.supply_chain import builders as b
from schema.context import Context
from schema.ops.insight.queries import InsightQuery
from tests.insight.world import events, local, notice, user

SCHEMA = strawberry.Schema(query=InsightQuery)

KPIS = """
query Kpis($from: Date!, $to: Date!) {
  kpis(from: $from, to: $to) {
    from to
    outcomes { planned sent opened openRate suppressedByReason { key count } failedByErrcode { key count } }
    byDay { day outcomes { planned sent } }
    byTopic { topic outcomes { sent } }
    byTemplate { templateId title outcomes { sent } }
    repurchase { windowDays opened { numerator denominator rate } holdout { rate } lift pValue }
    nps { responses promoters passives detractors score }
    onTimeDelivery { numerator denominator rate }
    fillRate { numerator denominator rate }
    exceptionResponse { raised decidedByUser decidedByDefault open medianMinutes p90Minutes }
  }
  consentInventory(from: $from, to: $to) {
    templateId title topics usersWithUnits unitsOutstanding suppressedNoUnits
    history { day accepts rejects bans }
  }
  regionalInsight(from: $from, to: $to) {
    cells { region topic sent openRate openRateDiff openPValue repurchaseRate repurchaseRateDiff significant }
    forwardWarehouseCandidates { region topic }
  }
  presaleSuggestions { skuCode name opens progressSubscribers ordersPlaced unitsOrdered earlierPresales
    suggestedQuantity low high method }
  experiments { key topic winner why variants { name holdout assigned sends opens openRate
    repurchase { windowDays matured repurchased lift { lift z pValue } } } }
}
"""


async def run(resources: Resources, document: str, variables: dict[str, Any]) -> Any:
    context = Context(resources=resources)
    return await SCHEMA.execute(document, variable_values=variables, context_value=context)


async def test_the_five_reads_answer_the_contracts_fields(resources: Resources, db: TortoiseContext) -> None:
    # given a sent, opened notice about a presale order in Hangzhou
    who = await user("oA")
    await events(b.placed("LV-P1", "oA", local(10, 1), items=[("SKU-P", "预售", 1, "9.00")], presale=True))
    await notice(who, Topic.PRESALE_PROGRESS, local(10, 2), order_no="LV-P1", opened=local(10, 2, 13))

    # when
    result = await run(resources, KPIS, {"from": "2026-10-01", "to": "2026-10-03"})

    # then
    assert result.errors is None, result.errors
    data = result.data
    kpis = data["kpis"]
    assert (kpis["from"], kpis["to"]) == ("2026-10-01", "2026-10-03")
    assert kpis["outcomes"]["sent"] == 1 and kpis["outcomes"]["openRate"] == 1.0
    assert [d["day"] for d in kpis["byDay"]] == ["2026-10-01", "2026-10-02", "2026-10-03"]
    assert [r["windowDays"] for r in kpis["repurchase"]] == [7, 30]
    assert kpis["repurchase"][0]["holdout"] is None
    assert kpis["fillRate"] == {"numerator": 1, "denominator": 1, "rate": 1.0}
    assert kpis["onTimeDelivery"]["rate"] is None  # nothing delivered: no denominator
    assert len(data["consentInventory"]) >= 1
    assert all(len(t["history"]) == 3 for t in data["consentInventory"])
    assert data["regionalInsight"]["cells"][0]["region"] == "浙江省杭州市"
    assert data["presaleSuggestions"][0]["skuCode"] == "SKU-P"
    assert data["presaleSuggestions"][0]["opens"] == 1
    assert [e["key"] for e in data["experiments"]] == ["replenishment-tip-1"]  # the bundled file's


async def test_a_bad_range_is_a_clear_error(resources: Resources, db: TortoiseContext) -> None:
    # when (only ranged reads: the unranged ones of KPIS would still be reading when the error
    # answers, and a test's event loop ends with its request)
    backwards = await run(
        resources,
        "query($from: Date!, $to: Date!) { kpis(from: $from, to: $to) { from } }",
        {"from": "2026-10-03", "to": "2026-10-01"},
    )
    too_long = await run(
        resources,
        "query($from: Date!, $to: Date!) { regionalInsight(from: $from, to: $to) { cells { region } } }",
        {"from": "2025-01-01", "to": "2026-10-01"},
    )

    # then
    assert backwards.errors is not None and "before it starts" in backwards.errors[0].message
    assert too_long.errors is not None and "at most 366" in too_long.errors[0].message
