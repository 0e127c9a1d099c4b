"""No N+1: a page of orders and an order detail cost a fixed number of SQL statements.

Statements are counted on tortoise's `tortoise.db_client` logger (tests/querycount.py), which
sees every statement on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bff.models import User
from bff.supply_chain import builders as b
from tests.querycount import count_queries
from tests.schema.orders.conftest import ORDER_DETAIL, ORDER_LIST, Ask, feed, hours

ITEMS = [("SKU-A", "茶杯", 2, "19.90"), ("SKU-B", "茶壶", 1, "89.00"), ("SKU-C", "茶叶", 3, "59.00")]


async def give_orders(user: User, prefix: str, count: int) -> None:
    """`count` orders, each with items, a few nodes, a slot offer and an exception."""
    future = datetime.now(UTC) + timedelta(days=1)
    events: list[b.Event] = []
    for n in range(count):
        no = f"{prefix}{n:03d}"
        events += [
            b.placed(no, user.openid, hours(n), items=ITEMS),
            b.paid(no, hours(n + 0.1)),
            b.node(no, "OUTBOUND", hours(n + 1), expected=[("DELIVERED", hours(n + 48))]),
            b.node(no, "TRUNK_TRANSIT", hours(n + 2)),
            b.delivery_slots(no, hours(n + 3), future, [("S1", "上午", future, future + timedelta(hours=3))]),
        ]
    events.append(
        b.exception(f"EX-{prefix}", hours(5), future, order_nos=[f"{prefix}{n:03d}" for n in range(count)])
    )
    await feed(*events)


async def test_a_page_of_twenty_orders_costs_the_same_statements_as_a_page_of_two(
    ask: Ask, alice: User, bob: User
) -> None:
    # given
    await give_orders(alice, "A", 2)
    await give_orders(bob, "B", 20)

    # when
    with count_queries() as two:
        small = await ask(ORDER_LIST, {"first": 20}, as_user=alice)
    with count_queries() as twenty:
        large = await ask(ORDER_LIST, {"first": 20}, as_user=bob)

    # then
    assert len(small["data"]["viewer"]["orders"]["edges"]) == 2
    assert len(large["data"]["viewer"]["orders"]["edges"]) == 20
    assert all(len(edge["node"]["items"]) == 3 for edge in large["data"]["viewer"]["orders"]["edges"])
    print(f"\norder list: page of 2 → {len(two)} statements, page of 20 → {len(twenty)} statements")
    assert len(twenty) == len(two), "\n".join(twenty)


async def test_an_order_detail_costs_the_same_statements_however_much_it_holds(ask: Ask, alice: User) -> None:
    # given: a bare order, and one with a long timeline, ETAs, a slot offer and two exceptions
    future = datetime.now(UTC) + timedelta(days=1)
    await feed(b.placed("BARE", alice.openid, hours(0)))
    nodes = [
        "MATERIAL_IN",
        "PRODUCTION_STARTED",
        "QC_PASSED",
        "OUTBOUND",
        "TRUNK_TRANSIT",
        "COURIER_ACCEPTED",
    ]
    await feed(
        b.placed("FULL", alice.openid, hours(0), items=ITEMS, presale=True),
        b.presale_progress("FULL", hours(1), "生产中", 80, None),
        *(
            b.node("FULL", node, hours(2 + i), expected=[("DELIVERED", hours(90))])
            for i, node in enumerate(nodes)
        ),
        b.delivery_slots("FULL", hours(9), future, [("S1", "上午", future, future + timedelta(hours=3))]),
        b.exception("EX-1", hours(10), future, order_nos=["FULL"]),
        b.exception("EX-2", hours(11), future, order_nos=["FULL"]),
    )

    # when
    with count_queries() as bare:
        await ask(ORDER_DETAIL, {"orderNo": "BARE"}, as_user=alice)
    with count_queries() as full:
        answer = await ask(ORDER_DETAIL, {"orderNo": "FULL"}, as_user=alice)

    # then
    assert len(answer["data"]["order"]["timeline"]) == 6
    print(f"\norder detail: bare → {len(bare)} statements, full → {len(full)} statements")
    assert len(full) == len(bare), "\n".join(full)
