"""Regional insight (bff/insight/regions.py): region × topic open rates against the rest of the
topic, Bonferroni over the cells, and forward-warehouse candidates."""

from __future__ import annotations

from datetime import date

import pytest
from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic
from bff.insight.period import period
from bff.insight.regions import regional_insight
from bff.models import Notice, NoticeOpen
from bff.notices.experiments.report import two_proportion_test
from bff.supply_chain import builders as b
from tests.insight.world import SHANGHAI, events, local, notice, user

RANGE = period(date(2026, 10, 1), date(2026, 10, 31), SHANGHAI)
NOW = local(12, 31)


async def given_regions() -> None:
    # Hangzhou opens 45 of 50 out-for-delivery notices, Shanghai 10 of 50; outbound is flat
    for region, opens in (("浙江省杭州市", 45), ("上海市", 10)):
        for i in range(50):
            openid = f"o{region[:2]}{i}"
            who = await user(openid)
            no = f"LV-{openid}"
            await events(b.placed(no, openid, local(10, 1), region=region))
            opened = local(10, 2, 13) if i < opens else None
            await notice(who, Topic.NODE_OUT_FOR_DELIVERY, local(10, 2, 12), order_no=no, opened=opened)
            await notice(
                who,
                Topic.NODE_OUTBOUND,
                local(10, 2, 9),
                order_no=no,
                opened=local(10, 2, 10) if i % 2 else None,
            )
            if i < 5 and opened is not None:  # five of the openers order again within 30 days
                await events(b.placed(f"{no}-again", openid, local(10, 20), region=region))
    # a lifecycle notice without an order counts in the user's region
    member = await user("oMember", "北京市")
    await notice(member, Topic.REPLENISHMENT, local(10, 3))


async def test_cells_compare_each_region_with_the_rest_of_its_topic(db: TortoiseContext) -> None:
    # given
    await given_regions()

    # when
    insight = await regional_insight(RANGE, now=NOW)

    # then
    cells = {(c.region, c.topic): c for c in insight.cells}
    assert [(c.region, c.topic) for c in insight.cells] == sorted(cells)
    hz = cells[("浙江省杭州市", "NODE_OUT_FOR_DELIVERY")]
    assert (hz.sent, hz.opened) == (50, 45)
    assert hz.open_rate == pytest.approx(0.9) and hz.open_rate_diff == pytest.approx(0.9 - 0.55)
    expected = two_proportion_test(45, 50, 10, 50)
    assert expected is not None and hz.open_p_value == pytest.approx(expected.p_value)
    assert hz.significant and insight.cells_tested == 4
    assert hz.repurchase_rate == pytest.approx(5 / 45)
    assert not cells[("浙江省杭州市", "NODE_OUTBOUND")].significant
    assert cells[("北京市", "REPLENISHMENT")].sent == 1
    # the last-mile topic responds best in Hangzhou: a forward-warehouse candidate; Shanghai is below
    assert [(c.region, c.topic) for c in insight.forward_warehouse_candidates] == [
        ("浙江省杭州市", "NODE_OUT_FOR_DELIVERY")
    ]
    # and the figures agree with counts made directly in SQL
    sent = await Notice.filter(status="SENT", created_at__gte=RANGE.start, created_at__lt=RANGE.end).count()
    assert sum(c.sent for c in insight.cells) == sent
    assert sum(c.opened for c in insight.cells) == await NoticeOpen.all().count()
