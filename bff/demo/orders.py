"""Demo orders for `make run`: the demo user gets one order in every state the tab can show.

The orders are fed through the real ingestion path (the same events the supply chain would
send), relative to the moment the seed runs, so deadlines and ETAs lie ahead.
`scripts/replay_events.py` moves some of them on while the tab is watched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bff.inbound.supply_chain import ingest_body
from bff.models.orders import Order, OrderReceipt
from bff.models.users import User
from bff.orders.status import derive_status
from bff.supply_chain import builders as b

# Fixed order numbers, so the replay script knows which orders to move on.
IN_PRODUCTION = "LV-DEMO-0001"
IN_TRANSIT = "LV-DEMO-0002"
SLOT_TO_CHOOSE = "LV-DEMO-0003"
OPEN_EXCEPTION = "LV-DEMO-0004"
DELIVERED = "LV-DEMO-0005"
PRESALE = "LV-DEMO-0006"
COMPLETED = "LV-DEMO-0007"
CANCELLED = "LV-DEMO-0008"

TABLE = ("SKU-TABLE-01", "胡桃木定制茶桌", 1, "2399.00")
TEA = ("SKU-TEA-001", "明前龙井 250g", 2, "129.00")
KETTLE = ("SKU-KETTLE-02", "电陶炉煮茶器", 1, "459.00")
PURIFIER = ("SKU-PURIFIER-03", "净水器滤芯", 1, "199.00")
CUPS = ("SKU-CUPS-04", "手作粗陶杯 4只装", 1, "168.00")


def _slots(now: datetime) -> list[tuple[str, str, datetime, datetime]]:
    day = (now + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    label = f"{day.month}月{day.day}日"
    return [
        ("AM", f"{label} 09:00-12:00", day + timedelta(hours=1), day + timedelta(hours=4)),
        ("PM", f"{label} 14:00-18:00", day + timedelta(hours=6), day + timedelta(hours=10)),
        ("EVE", f"{label} 19:00-21:00", day + timedelta(hours=11), day + timedelta(hours=13)),
    ]


def demo_events(openid: str, now: datetime) -> list[b.Event]:
    """The supply chain's story of the demo user's orders up to `now` (UTC)."""

    def ago(hours: float) -> datetime:
        return now - timedelta(hours=hours)

    def ahead(hours: float) -> datetime:
        return now + timedelta(hours=hours)

    events: list[b.Event] = [
        b.sku_upsert(
            "SKU-TABLE-01",
            ago(400),
            name="胡桃木定制茶桌",
            category="家具",
            consumable=False,
            usage_days_per_unit=None,
            maintenance=[(180, "木面保养上油")],
            renewal_after_days=1800,
        ),
        b.sku_upsert("SKU-TEA-001", ago(400), name="明前龙井 250g", category="茶叶", usage_days_per_unit=30),
        b.sku_upsert(
            "SKU-KETTLE-02",
            ago(400),
            name="电陶炉煮茶器",
            category="茶器",
            consumable=False,
            usage_days_per_unit=None,
            maintenance=[(90, "除水垢")],
            renewal_after_days=1095,
        ),
        b.sku_upsert("SKU-PURIFIER-03", ago(400), name="净水器滤芯", category="耗材", usage_days_per_unit=90),
        b.sku_upsert(
            "SKU-CUPS-04",
            ago(400),
            name="手作粗陶杯 4只装",
            category="茶器",
            consumable=False,
            usage_days_per_unit=None,
        ),
        # in production: a made-to-order table
        b.placed(IN_PRODUCTION, openid, ago(120), items=[TABLE], warehouse="湖州工厂"),
        b.paid(IN_PRODUCTION, ago(119.9)),
        b.node(IN_PRODUCTION, "MATERIAL_IN", ago(96), location="湖州工厂", note="胡桃木料已到厂"),
        b.node(
            IN_PRODUCTION,
            "PRODUCTION_STARTED",
            ago(30),
            location="湖州工厂",
            note="开始开料打磨",
            expected=[("QC_PASSED", ahead(48)), ("OUTBOUND", ahead(60)), ("DELIVERED", ahead(120))],
        ),
        # in transit with a courier
        b.placed(IN_TRANSIT, openid, ago(50), items=[TEA, CUPS]),
        b.paid(IN_TRANSIT, ago(49.9)),
        b.node(
            IN_TRANSIT,
            "OUTBOUND",
            ago(30),
            note="已出库",
            carrier="顺丰速运",
            tracking_no="SF1400000000002",
            estimated_arrival=ahead(30),
            expected=[("DELIVERED", ahead(30))],
            location="杭州仓",
        ),
        b.node(
            IN_TRANSIT,
            "TRUNK_TRANSIT",
            ago(12),
            location="杭州转运中心",
            note="干线运输中",
            expected=[("COURIER_ACCEPTED", ahead(12)), ("DELIVERED", ahead(28))],
        ),
        # a delivery slot to choose
        b.placed(SLOT_TO_CHOOSE, openid, ago(70), items=[KETTLE]),
        b.paid(SLOT_TO_CHOOSE, ago(69.9)),
        b.node(
            SLOT_TO_CHOOSE,
            "OUTBOUND",
            ago(40),
            note="大件出库",
            carrier="京东物流",
            tracking_no="JD0000000003",
            location="杭州仓",
        ),
        b.node(SLOT_TO_CHOOSE, "COURIER_ACCEPTED", ago(6), location="杭州西湖营业部", note="大件需预约送货"),
        b.delivery_slots(SLOT_TO_CHOOSE, ago(5), ahead(20), _slots(now), default_slot_id="PM"),
        # an open exception to decide
        b.placed(OPEN_EXCEPTION, openid, ago(30), items=[PURIFIER]),
        b.paid(OPEN_EXCEPTION, ago(29.9)),
        b.exception(
            "EX-DEMO-0001",
            ago(2),
            ahead(46),
            order_nos=[OPEN_EXCEPTION],
            kind="STOCKOUT",
            reason="杭州仓滤芯暂时缺货，预计 5 天后补货",
            default_option="WAIT",
        ),
        # delivered, waiting for the user's confirmation
        b.placed(DELIVERED, openid, ago(100), items=[TEA]),
        b.paid(DELIVERED, ago(99.9)),
        b.node(
            DELIVERED,
            "OUTBOUND",
            ago(80),
            note="已出库",
            carrier="中通快递",
            tracking_no="ZT0000000005",
            location="杭州仓",
        ),
        b.node(DELIVERED, "COURIER_ACCEPTED", ago(60), location="杭州转运中心", note="快递已揽收"),
        b.node(DELIVERED, "OUT_FOR_DELIVERY", ago(26), location="杭州西湖营业部", note="快递员派送中"),
        b.node(DELIVERED, "DELIVERED", ago(24), location="家门口", note="本人签收"),
        # presale in production
        b.placed(
            PRESALE, openid, ago(200), items=[("SKU-TEA-NEW", "2027 明前龙井预售", 1, "399.00")], presale=True
        ),
        b.paid(PRESALE, ago(199.9)),
        b.presale_progress(PRESALE, ago(20), "茶园采摘完成，炒制中", 35, (now + timedelta(days=20)).date()),
        # completed and cancelled, for the history
        b.placed(COMPLETED, openid, ago(900), items=[CUPS]),
        b.paid(COMPLETED, ago(899.9)),
        b.node(COMPLETED, "OUTBOUND", ago(880), note="已出库", location="杭州仓"),
        b.node(COMPLETED, "DELIVERED", ago(850), location="家门口", note="本人签收"),
        b.placed(CANCELLED, openid, ago(600), items=[KETTLE]),
        b.cancelled(CANCELLED, ago(590), "用户申请取消"),
    ]
    return events


async def seed_orders(user: User) -> str:
    """SEED_STEPS entry: the demo user's orders, one per state."""
    now = datetime.now(UTC).replace(microsecond=0)
    result = await ingest_body(b.body(*demo_events(user.openid, now)))
    await _confirm_receipt(COMPLETED, now - timedelta(hours=800), rating=10, comment="杯子很好看")
    states = await Order.filter(user_id=user.id).order_by("order_no").values_list("order_no", "status")
    shown = ", ".join(f"{no} {status}" for no, status in states)
    return f"seed: {result.accepted} supply-chain events → {len(states)} demo orders ({shown})"


async def _confirm_receipt(order_no: str, at: datetime, *, rating: int, comment: str) -> None:
    """What the user's receipt confirmation leaves behind (history only; no command is sent)."""
    order = await Order.get(order_no=order_no)
    await OrderReceipt.create(order_id=order.id, confirmed_at=at, rating=rating, comment=comment)
    order.status = derive_status(order, receipt_confirmed=True)
    await order.save(update_fields=["status", "updated_at"])


def replay_story(openid: str, new_order_no: str) -> Sequence[tuple[str, Callable[[datetime], b.Event]]]:
    """What `scripts/replay_events.py` sends, in order: (what it means, event stamped at a moment).

    The script stamps each event with the moment it sends it, so no event claims to have happened
    later than it arrived (expected times and deadlines still lie ahead of that moment).
    Events about the seeded orders have fixed ids, so a second replay is acknowledged as
    duplicates; the new order gets a fresh number each run.
    """

    def ahead(now: datetime, hours: float) -> datetime:
        return now + timedelta(hours=hours)

    def fixed(event: b.Event, key: str) -> b.Event:
        event["eventId"] = f"evt-replay-{key}"
        return event

    return [
        ("新订单下单", lambda now: b.placed(new_order_no, openid, now, items=[TEA, PURIFIER])),
        ("新订单支付成功", lambda now: b.paid(new_order_no, now)),
        (
            "在途订单：快递已揽收",
            lambda now: fixed(
                b.node(
                    IN_TRANSIT,
                    "COURIER_ACCEPTED",
                    now,
                    location="杭州西湖营业部",
                    note="快递已揽收",
                    expected=[("DELIVERED", ahead(now, 6))],
                ),
                "transit-courier",
            ),
        ),
        (
            "预售进度 35% → 60%",
            lambda now: fixed(
                b.presale_progress(PRESALE, now, "炒制完成，包装中", 60, (now + timedelta(days=12)).date()),
                "presale-60",
            ),
        ),
        (
            "生产中订单：质检通过",
            lambda now: fixed(
                b.node(
                    IN_PRODUCTION,
                    "QC_PASSED",
                    now,
                    location="湖州工厂",
                    note="质检合格",
                    expected=[("OUTBOUND", ahead(now, 12))],
                ),
                "production-qc",
            ),
        ),
        (
            "新订单出库",
            lambda now: b.node(
                new_order_no,
                "OUTBOUND",
                now,
                location="杭州仓",
                note="已出库",
                carrier="顺丰速运",
                tracking_no="SF1400000000099",
                estimated_arrival=ahead(now, 30),
                expected=[("DELIVERED", ahead(now, 30))],
            ),
        ),
        (
            "在途订单：派送中",
            lambda now: fixed(
                b.node(IN_TRANSIT, "OUT_FOR_DELIVERY", now, location="杭州西湖营业部", note="快递员正在派送"),
                "transit-out",
            ),
        ),
        (
            "新订单：物流异常（杭州仓范围）",
            lambda now: b.exception(
                f"EX-{new_order_no}",
                now,
                ahead(now, 24),
                scope={"warehouse": "杭州仓", "skuCode": PURIFIER[0]},
                kind="LOGISTICS_JAM",
                reason="杭州仓暴雨，部分订单延迟发出",
            ),
        ),
        (
            "在途订单：已签收",
            lambda now: fixed(
                b.node(IN_TRANSIT, "DELIVERED", now, location="家门口", note="本人签收"), "transit-delivered"
            ),
        ),
        (
            "新订单：请选择送货时段",
            lambda now: b.delivery_slots(new_order_no, now, ahead(now, 20), _slots(now)),
        ),
        (
            "预售进度 60% → 100%",
            lambda now: fixed(
                b.presale_progress(PRESALE, now, "已完成，待发货", 100, (now + timedelta(days=3)).date()),
                "presale-100",
            ),
        ),
    ]
