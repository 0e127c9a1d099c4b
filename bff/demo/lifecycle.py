"""Demo data for the lifecycle tab (`bff seed`): the demo user owns products in every stage, a
replenishment due this week, one snoozed, and maintenance due.

Fed through the real ingestion path (the supply chain's own events, relative to the moment the
seed runs), after the order tab's demo orders (bff/demo/orders.py), which add a tea delivered
yesterday (PURCHASE) and cups delivered five weeks ago (USAGE). The snooze goes through the
mutation's service. The tab's offer comes from bff/demo/offers.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bff.inbound.supply_chain import ingest_body
from bff.lifecycle import actions
from bff.lifecycle.queries import lifecycle_of
from bff.models.users import User
from bff.supply_chain import builders as b

AIR_PURIFIER = ("SKU-AIR-05", "桌面空气净化器", 1, "899.00")  # RENEWAL, its filter overdue
TEA_BAGS = ("SKU-TEABAG-06", "冷泡茶包 10袋装", 3, "39.00")  # replenishment due this week
MILK = ("SKU-MILK-07", "有机纯牛奶 12盒", 1, "79.00")  # replenishment snoozed
CADDY = ("SKU-CADDY-08", "锡制茶叶罐", 1, "268.00")  # DORMANT
TABLE = ("SKU-TABLE-01", "胡桃木定制茶桌", 1, "2399.00")  # oiling due in two days (SKU of the order demo)

SNOOZE_DAYS = 5


def lifecycle_events(openid: str, now: datetime) -> list[b.Event]:
    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    def delivered_order(
        order_no: str, item: tuple[str, str, int, str], delivered_days_ago: float
    ) -> list[b.Event]:
        placed = ago(delivered_days_ago + 2)
        return [
            b.placed(order_no, openid, placed, items=[item]),
            b.paid(order_no, placed + timedelta(minutes=3)),
            b.node(order_no, "OUTBOUND", placed + timedelta(days=1), note="已出库"),
            b.node(order_no, "DELIVERED", ago(delivered_days_ago), location="家门口", note="本人签收"),
        ]

    return [
        b.sku_upsert(
            AIR_PURIFIER[0],
            ago(500),
            name=AIR_PURIFIER[1],
            category="家电",
            consumable=False,
            usage_days_per_unit=None,
            maintenance=[(150, "更换HEPA滤网")],
            renewal_after_days=150,
        ),
        b.sku_upsert(TEA_BAGS[0], ago(500), name=TEA_BAGS[1], category="茶叶", usage_days_per_unit=10),
        b.sku_upsert(MILK[0], ago(500), name=MILK[1], category="食品", usage_days_per_unit=1),
        b.sku_upsert(
            CADDY[0], ago(500), name=CADDY[1], category="茶器", consumable=False, usage_days_per_unit=None
        ),
        *delivered_order("LV-LIFE-0001", AIR_PURIFIER, 160),
        *delivered_order("LV-LIFE-0002", TEA_BAGS, 28),
        *delivered_order("LV-LIFE-0003", MILK, 10),
        *delivered_order("LV-LIFE-0004", CADDY, 400),
        *delivered_order("LV-LIFE-0005", TABLE, 178),
    ]


async def seed_lifecycle(user: User) -> str:
    """SEED_STEPS entry: the demo user's lifecycle tab."""
    now = datetime.now(UTC).replace(microsecond=0)
    await ingest_body(b.body(*lifecycle_events(user.openid, now)))
    await actions.snooze(user.id, MILK[0], SNOOZE_DAYS, now=now)
    view = await lifecycle_of(user.id, now=now)
    stages = ", ".join(f"{p.name} {p.stage}" for p in view.owned_products)
    reminders = ", ".join(f"{r.name} {r.status}" for r in view.replenishments)
    return (
        f"seed: lifecycle: {len(view.owned_products)} owned ({stages}); replenishment: {reminders}; "
        f"{len(view.maintenance)} maintenance due"
    )
