"""`bff seed`: the demo user's lifecycle tab shows every stage, a reminder due this week, a snoozed
one and maintenance due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.context import TortoiseContext

from bff.demo import lifecycle as demo
from bff.demo.seed import seed
from bff.lifecycle.queries import lifecycle_of
from bff.models import ReplenishmentStatus, User


async def test_the_seed_gives_the_demo_user_a_lifecycle_tab_with_everything_in_it(
    db: TortoiseContext,
) -> None:
    # when the demo data is loaded as `bff seed` does
    lines = await seed(if_empty=True)

    # then
    user = await User.get(openid="oDEMO_user_0000000000000001")
    now = datetime.now(UTC)
    view = await lifecycle_of(user.id, now=now)
    assert {p.stage.value for p in view.owned_products} == {"PURCHASE", "USAGE", "RENEWAL", "DORMANT"}
    statuses = {r.sku_code: r for r in view.replenishments}
    due = statuses[demo.TEA_BAGS[0]]
    assert due.status is ReplenishmentStatus.DUE and now < due.predicted_run_out_at < now + timedelta(days=7)
    snoozed = statuses[demo.MILK[0]]
    assert snoozed.status is ReplenishmentStatus.SNOOZED
    assert {(m.sku_code, m.note) for m in view.maintenance} >= {
        (demo.AIR_PURIFIER[0], "已到保养时间"),
        (demo.TABLE[0], "2天后到期"),
    }
    assert "lifecycle: 7 owned" in lines
