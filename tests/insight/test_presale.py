"""Presale demand sensing (bff/insight/presale.py): conversion on earlier presales applied to a
SKU's signals, with an interval; the fallback without history."""

from __future__ import annotations

from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic
from bff.consent.matching import record_accept
from bff.insight.presale import presale_suggestions
from bff.models import CreditSource, OrderItem
from bff.supply_chain import builders as b
from tests.insight.world import TEMPLATES, events, local, notice, user

OLD, NEW = ("SKU-OLD", "旧预售", 2, "99.00"), ("SKU-NEW", "新预售", 1, "199.00")


async def presale(
    sku: tuple[str, str, int, str], buyers: int, opens: int, subscribers: int, month: int
) -> None:
    progress = TEMPLATES.for_topic(Topic.PRESALE_PROGRESS)
    assert progress is not None
    for i in range(buyers):
        openid = f"o{sku[0]}{i}"
        who = await user(openid)
        no = f"LV-{sku[0]}-{i}"
        await events(b.placed(no, openid, local(month, 1 + i), items=[sku], presale=True))
        opened = local(month, 2 + i) if i < opens else None
        await notice(who, Topic.PRESALE_PROGRESS, local(month, 2 + i), order_no=no, opened=opened)
        if i < subscribers:
            await record_accept(
                who.id,
                progress.template_id,
                source=CreditSource.REPORT,
                source_key=f"k{no}",
                occurred_at=local(month, 2),
            )


async def test_a_new_presale_gets_the_earlier_conversion_times_its_signals(db: TortoiseContext) -> None:
    # given an earlier presale: 10 orders of 2 units = 20 units on 5 opens + 5 subscribers (2 per signal)
    await presale(OLD, buyers=10, opens=5, subscribers=5, month=6)
    # and the new one so far: 4 orders, 1 unit each, 6 opens... of 4 notices: 3 opens + 3 subscribers
    await presale(NEW, buyers=4, opens=3, subscribers=3, month=10)

    # when
    found = {s.sku_code: s for s in await presale_suggestions(TEMPLATES)}

    # then
    new = found["SKU-NEW"]
    assert (new.opens, new.progress_subscribers, new.orders_placed, new.units_ordered) == (3, 3, 4, 4)
    assert new.earlier_presales == 1
    assert new.suggested_quantity == 12  # 2 units per signal × 6 signals
    assert new.units_ordered <= new.low <= new.suggested_quantity <= new.high
    assert "1 earlier presale" in new.method
    # the first presale has no history: what was ordered, up to its Poisson upper bound
    old = found["SKU-OLD"]
    assert (old.earlier_presales, old.suggested_quantity, old.low) == (0, 20, 20)
    assert old.high > 20 and "no earlier presale" in old.method
    # and the units agree with the order items read directly
    items = await OrderItem.filter(sku_code="SKU-NEW", order__presale=True).values_list("quantity", flat=True)
    assert new.units_ordered == sum(items)
