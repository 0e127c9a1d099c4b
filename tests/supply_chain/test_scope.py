"""Scoped exceptions over a few thousand orders (bff/supply_chain/scope.py, through ingest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from tortoise.context import TortoiseContext
from tortoise.transactions import in_transaction

from bff.inbound.supply_chain import Plan, ingest_body
from bff.models import Order, OrderException, OrderExceptionLink, OrderStatus, User
from bff.supply_chain import builders as b
from bff.supply_chain.scope import iter_affected_orders
from bff.supply_chain.sql import render
from tests.querycount import count_queries

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=CST)


async def make_orders(
    prefix: str,
    count: int,
    *,
    warehouse: str = "杭州仓",
    region: str = "浙江省杭州市",
    sku_code: str = "SKU-TEA-001",
    status: OrderStatus = OrderStatus.IN_PRODUCTION,
) -> None:
    """`count` orders (one item each) for one user, written in bulk as a large shop would have them."""
    user, _ = await User.get_or_create(openid=f"o{prefix}_user_00000000000001")
    await Order.bulk_create(
        [
            Order(
                order_no=f"{prefix}{n:06d}",
                user_id=user.id,
                status=status,
                placed_at=T0 + timedelta(seconds=n),
                total_amount=Decimal("129.00"),
                region=region,
                warehouse=warehouse,
            )
            for n in range(count)
        ],
        batch_size=500,
    )
    async with in_transaction() as conn:
        sql = (
            "INSERT INTO order_items (order_id, position, sku_code, name, quantity, unit_price) "
            "SELECT id, 0, ?, '龙井茶礼盒', 1, 129.00 FROM orders WHERE order_no LIKE ?"
        )
        await conn.execute_query(render(conn, sql), [sku_code, f"{prefix}%"])


def scoped(exception_id: str, scope: dict[str, str], event_id: str | None = None) -> bytes:
    return b.body(b.exception(exception_id, T0, T0 + timedelta(days=1), scope=scope, event_id=event_id))


async def linked_order_nos(exception_id: str) -> set[str]:
    rows = await OrderExceptionLink.filter(exception__exception_id=exception_id).values_list(
        "order__order_no", flat=True
    )
    return {str(row) for row in rows}


async def test_a_warehouse_scope_reaches_every_open_order_of_that_warehouse_only(db: TortoiseContext) -> None:
    # given: 2,000 open orders in 杭州仓, 600 closed ones there, 500 open ones elsewhere
    await make_orders("HZ", 2000, warehouse="杭州仓")
    await make_orders("HD", 300, warehouse="杭州仓", status=OrderStatus.DELIVERED)
    await make_orders("HC", 300, warehouse="杭州仓", status=OrderStatus.CANCELLED)
    await make_orders("SH", 500, warehouse="上海仓")

    # when
    result = await ingest_body(scoped("EX-HZ", {"warehouse": "杭州仓"}, event_id="evt-scope"))

    # then
    linked = await linked_order_nos("EX-HZ")
    assert len(linked) == 2000
    assert all(no.startswith("HZ") for no in linked)
    exception = await OrderException.get(exception_id="EX-HZ")
    assert exception.scope_warehouse == "杭州仓" and exception.is_scoped
    assert len(result.plans) == 1  # one planning job for the whole scope, not one per order


async def test_scope_fields_combine_sku_and_region(db: TortoiseContext) -> None:
    # given
    await make_orders("AA", 1500, region="浙江省杭州市", sku_code="SKU-A")
    await make_orders("AB", 1000, region="浙江省杭州市", sku_code="SKU-B")
    await make_orders("AC", 500, region="上海市", sku_code="SKU-A")

    # when
    await ingest_body(scoped("EX-SKU", {"skuCode": "SKU-A", "region": "浙江省杭州市"}))

    # then
    linked = await linked_order_nos("EX-SKU")
    assert len(linked) == 1500
    assert all(no.startswith("AA") for no in linked)


async def test_the_scoped_ingest_costs_the_same_queries_for_ten_or_three_thousand_orders(
    db: TortoiseContext,
) -> None:
    # given
    await make_orders("SM", 10, warehouse="小仓")
    await make_orders("BG", 3000, warehouse="大仓")

    # when
    with count_queries() as small:
        await ingest_body(scoped("EX-S", {"warehouse": "小仓"}))
    with count_queries() as big:
        await ingest_body(scoped("EX-B", {"warehouse": "大仓"}))

    # then: the orders never travel to Python; the statements do not grow with them
    assert len(await linked_order_nos("EX-B")) == 3000
    assert len(big) == len(small), "\n".join(big)


async def test_a_repeated_scope_keeps_existing_links_and_their_decisions(db: TortoiseContext) -> None:
    # given
    await make_orders("HZ", 1200)
    await ingest_body(scoped("EX-1", {"warehouse": "杭州仓"}))
    await OrderExceptionLink.filter(order__order_no="HZ000007").update(
        chosen_option="COUPON", decided_at=datetime.now(UTC)
    )
    await make_orders("NW", 300)  # new open orders since

    # when: the supply chain restates the exception for the same scope
    await ingest_body(scoped("EX-1", {"warehouse": "杭州仓"}))

    # then
    assert len(await linked_order_nos("EX-1")) == 1500
    link = await OrderExceptionLink.get(order__order_no="HZ000007")
    assert link.chosen_option == "COUPON"


async def test_affected_orders_are_walked_in_keyset_chunks_each_exactly_once(db: TortoiseContext) -> None:
    # given
    await make_orders("HZ", 2500)
    result = await ingest_body(scoped("EX-W", {"warehouse": "杭州仓"}))
    exception = await OrderException.get(exception_id="EX-W")
    assert result.plans == [Plan(exception.source_event_id)]  # type: ignore[attr-defined]

    # when
    chunks = [chunk async for chunk in iter_affected_orders(exception.id, chunk=1000)]

    # then
    assert [len(chunk) for chunk in chunks] == [1000, 1000, 500]
    order_nos = [affected.order_no for chunk in chunks for affected in chunk]
    assert len(set(order_nos)) == 2500
    link_ids = [affected.link_id for chunk in chunks for affected in chunk]
    assert link_ids == sorted(link_ids)


async def test_the_walk_can_skip_orders_already_decided(db: TortoiseContext) -> None:
    # given
    await make_orders("HZ", 1000)
    await ingest_body(scoped("EX-D", {"warehouse": "杭州仓"}))
    await OrderExceptionLink.filter(order__order_no__in=["HZ000001", "HZ000002"]).update(chosen_option="WAIT")
    exception = await OrderException.get(exception_id="EX-D")

    # when
    undecided = [
        a async for chunk in iter_affected_orders(exception.id, chunk=300, undecided_only=True) for a in chunk
    ]

    # then
    assert len(undecided) == 998
    assert {"HZ000001", "HZ000002"}.isdisjoint(a.order_no for a in undecided)
