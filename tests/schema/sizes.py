"""Users of two sizes for the query-count tests (tests/schema/*/test_query_counts.py).

Every operation of the mini-program must cost the same SQL statements for a user with two of
everything and for a user with twenty: orders (with items, nodes, ETAs, a slot offer and an
exception each), owned products (consumables with a replenishment, durables with maintenance),
consent (a unit of every template, topic switches, earlier subscribe requests) and notices.
Everything arrives the way production gets it: through the supply chain's ingest path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bff.catalog.templates_file import load_templates_file
from bff.catalog.topics import TOPICS
from bff.consent import ledger
from bff.inbound.supply_chain import ingest_body
from bff.models import Notice, NoticeOpen, NoticeStatus, SubscribeRequestLog, TopicPreference, User
from bff.supply_chain import builders as b
from tests.querycount import count_queries

SMALL = 2
LARGE = 20
NOW = datetime.now(UTC).replace(microsecond=0)
ITEMS = [("SKU-A", "茶杯", 2, "19.90"), ("SKU-B", "茶壶", 1, "89.00"), ("SKU-C", "茶叶", 3, "59.00")]

Ask = Callable[..., Awaitable[dict[str, Any]]]


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def feed(*events: b.Event) -> None:
    await ingest_body(b.body(*events))


def order_no(prefix: str, n: int) -> str:
    return f"{prefix}{n:03d}"


async def give_orders(user: User, prefix: str, count: int, *, exception_id: str | None = None) -> list[str]:
    """``count`` open orders, each with three items, two nodes, an ETA and a delivery-slot offer
    (slot ``S1``, deadline tomorrow), all linked to one exception (``EX-<prefix>``, deadline
    tomorrow, options of the builders' default). Their numbers, oldest first."""
    future = NOW + timedelta(days=1)
    events: list[b.Event] = []
    numbers = [order_no(prefix, n) for n in range(count)]
    for n, no in enumerate(numbers):
        placed = ago(3) + timedelta(minutes=n)
        events += [
            b.placed(no, user.openid, placed, items=ITEMS),
            b.paid(no, placed + timedelta(minutes=1)),
            b.node(no, "OUTBOUND", placed + timedelta(hours=1), expected=[("DELIVERED", future)]),
            b.node(no, "TRUNK_TRANSIT", placed + timedelta(hours=2)),
            b.delivery_slots(
                no, placed + timedelta(hours=3), future, [("S1", "上午", future, future + timedelta(hours=3))]
            ),
        ]
    events.append(b.exception(exception_id or f"EX-{prefix}", ago(1), future, order_nos=numbers))
    await feed(*events)
    return numbers


async def give_delivered_orders(user: User, prefix: str, count: int) -> list[str]:
    """``count`` delivered orders of three items each (receipt not confirmed yet): SKU-A is a
    consumable, SKU-B has maintenance."""
    events: list[b.Event] = [
        b.sku_upsert("SKU-A", ago(400), name="茶杯"),
        b.sku_upsert("SKU-B", ago(400), name="茶壶", consumable=False, maintenance=[(90, "清洗")]),
    ]
    numbers = [order_no(prefix, n) for n in range(count)]
    for n, no in enumerate(numbers):
        placed = ago(4) + timedelta(minutes=n)
        events += [
            b.placed(no, user.openid, placed, items=ITEMS),
            b.paid(no, placed + timedelta(minutes=1)),
            b.node(no, "OUTBOUND", placed + timedelta(hours=1)),
            b.node(no, "DELIVERED", placed + timedelta(days=2)),
        ]
    await feed(*events)
    return numbers


def sku_code(prefix: str, n: int) -> str:
    return f"SKU-{prefix}-{n:03d}"


async def give_owned(user: User, prefix: str, count: int) -> list[str]:
    """``count`` owned products delivered 60 days ago in one order: even ones consumables (a
    replenishment each, reminded soon), odd ones durables with maintenance due within the tab's
    window and a renewal after 50 days (so they bring offers). Their SKU codes."""
    codes = [sku_code(prefix, n) for n in range(count)]
    describe = []
    for n, code in enumerate(codes):
        if n % 2 == 0:
            describe.append(
                b.sku_upsert(code, ago(400), name=f"茶叶{n}", consumable=True, usage_days_per_unit=60)
            )
        else:
            describe.append(
                b.sku_upsert(
                    code,
                    ago(400),
                    name=f"水壶{n}",
                    category="家电",
                    consumable=False,
                    usage_days_per_unit=None,
                    maintenance=[(60, "除垢保养"), (70, "滤网更换")],
                    renewal_after_days=50,
                )
            )
    await feed(*describe)
    placed = ago(62)
    no = f"OWN-{prefix}"
    await feed(
        b.placed(no, user.openid, placed, items=[(code, f"商品{code}", 1, "10.00") for code in codes]),
        b.paid(no, placed + timedelta(minutes=1)),
        b.node(no, "DELIVERED", placed + timedelta(days=2)),
    )
    return codes


async def give_consent(user: User, count: int) -> None:
    """A unit of ``count`` templates (every one of the file's when ``count`` exceeds them), that
    many topic switches (all on but WIN_BACK) and that many notices, one of them opened."""
    templates = load_templates_file().templates
    for template in templates[: min(count, len(templates))]:
        await ledger.credit(user.id, template.template_id)
    switchable = [topic for topic, info in TOPICS.items() if info.opt_out_allowed]
    for topic in switchable[: min(count, len(switchable))]:
        await TopicPreference.create(user=user, topic=str(topic), enabled=topic != "WIN_BACK")
    for n in range(count):
        notice = await Notice.create(
            user_id=user.id,
            topic="NODE_OUTBOUND",
            template_id="tmpl-order-shipping-0001",
            dedupe_key=f"size:{user.id}:{n}",
            priority=50,
            status=NoticeStatus.SENT,
            occurred_at=ago(2),
        )
        if n == 0:
            await NoticeOpen.create(notice_id=notice.id, user_id=user.id, opened_at=ago(1), local_hour=9)


async def give_earlier_asks(user: User, count: int) -> None:
    """``count`` subscribe requests answered long ago (they do not count against today's limits)."""
    for n in range(count):
        await SubscribeRequestLog.create(
            request_id=f"sr_old_{user.id}_{n}",
            user_id=user.id,
            moment="SUBSCRIPTION_CENTER",
            order_no=None,
            template_ids=["tmpl-order-shipping-0001"],
            results={"tmpl-order-shipping-0001": "ACCEPT"},
            created_at=ago(10),
            reported_at=ago(10),
        )


async def give_everything(user: User, prefix: str, count: int) -> None:
    """``count`` of each: open orders, delivered orders, owned products, consent, earlier asks."""
    await give_orders(user, f"{prefix}O", count)
    await give_delivered_orders(user, f"{prefix}D", count)
    await give_owned(user, prefix, count)
    await give_consent(user, count)
    await give_earlier_asks(user, count)


async def counted(
    ask: Ask, document: str, variables: dict[str, Any] | None, user: User
) -> tuple[Any, list[str]]:
    """The operation's data (GraphQL errors fail the test) and the SQL statements it cost."""
    with count_queries() as statements:
        answer = await ask(document, variables, as_user=user)
    assert "errors" not in answer, answer
    return answer["data"], statements


def assert_statements(label: str, small: list[str], large: list[str], expected: int) -> None:
    """The same number of statements at both sizes, and the stated number."""
    print(f"\n{label}: {SMALL} → {len(small)} statements, {LARGE} → {len(large)} statements")
    assert len(large) == len(small), "\n".join(large)
    assert len(small) == expected, "\n".join(small)


async def two_users() -> tuple[User, User]:
    """A user with two of everything (one owned product of each kind) and a user with twenty
    (``give_everything``), prefixes S and L: open orders ``SO000``…, delivered orders
    ``SD000``…, consumables ``SKU-S-000``…"""
    small = await User.create(openid="oSIZE_small_00000000000001", nickname="小")
    large = await User.create(openid="oSIZE_large_00000000000002", nickname="大")
    await give_everything(small, "S", SMALL)
    await give_everything(large, "L", LARGE)
    return small, large
