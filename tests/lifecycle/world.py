"""Users buying and receiving products, fed through the supply chain's webhook path (ingest)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bff.inbound.supply_chain import ingest_body
from bff.supply_chain import builders as b

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 2, 10, 0, tzinfo=CST)

TEA = "SKU-TEA-LJ"  # consumable, 30 days per unit
CAPSULE = "SKU-CAPSULE"  # consumable, nominal rate unknown
KETTLE = "SKU-KETTLE"  # durable, descaling at 90 days, renewal after 720 days


def days(n: float) -> datetime:
    return T0 + timedelta(days=n)


async def feed(*events: b.Event) -> None:
    await ingest_body(b.body(*events))


async def describe_skus() -> None:
    await feed(
        b.sku_upsert(TEA, days(-100), name="龙井茶", consumable=True, usage_days_per_unit=30),
        b.sku_upsert(CAPSULE, days(-100), name="咖啡胶囊", consumable=True, usage_days_per_unit=None),
        b.sku_upsert(
            KETTLE,
            days(-100),
            name="电热水壶",
            category="家电",
            consumable=False,
            usage_days_per_unit=None,
            maintenance=[(90, "除垢保养"), (365, "滤网更换")],
            renewal_after_days=720,
        ),
    )


def order_events(
    order_no: str, openid: str, placed_at: datetime, items: list[tuple[str, str, int, str]]
) -> list[b.Event]:
    return [
        b.placed(order_no, openid, placed_at, items=items),
        b.paid(order_no, placed_at + timedelta(minutes=1)),
    ]


async def buy(
    order_no: str,
    openid: str,
    placed_at: datetime,
    items: list[tuple[str, str, int, str]],
    *,
    delivered_after: timedelta = timedelta(days=2),
) -> b.Event:
    """An order placed, paid and delivered; returns the DELIVERED event (to replay it)."""
    delivered = b.node(order_no, "DELIVERED", placed_at + delivered_after)
    await feed(*order_events(order_no, openid, placed_at, items), delivered)
    return delivered


def tea(quantity: int = 1) -> tuple[str, str, int, str]:
    return (TEA, "龙井茶", quantity, "59.00")


def capsules(quantity: int = 1) -> tuple[str, str, int, str]:
    return (CAPSULE, "咖啡胶囊", quantity, "39.00")


def kettle() -> tuple[str, str, int, str]:
    return (KETTLE, "电热水壶", 1, "299.00")
