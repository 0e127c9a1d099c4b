"""`viewer.orders`: the order tab's list, as the mini-program pages through it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bff.models import OrderExceptionLink, User
from bff.supply_chain import builders as b
from tests.schema.orders.conftest import ORDER_LIST, Ask, feed, hours


def orders_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in answer, answer
    return answer["data"]["viewer"]["orders"]  # type: ignore[no-any-return]


def order_nos(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["orderNo"] for edge in connection["edges"]]


async def place_many(user: User, count: int, *, start: float = 0) -> None:
    await feed(*(b.placed(f"SO{n:03d}", user.openid, hours(start + n)) for n in range(count)))


async def test_the_list_pages_newest_first_with_cursors_and_a_total(ask: Ask, alice: User) -> None:
    # given
    await place_many(alice, 5)

    # when
    first = orders_of(await ask(ORDER_LIST, {"first": 2}, as_user=alice))
    second = orders_of(
        await ask(ORDER_LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}, as_user=alice)
    )
    third = orders_of(
        await ask(ORDER_LIST, {"first": 2, "after": second["pageInfo"]["endCursor"]}, as_user=alice)
    )

    # then
    assert [order_nos(page) for page in (first, second, third)] == [
        ["SO004", "SO003"],
        ["SO002", "SO001"],
        ["SO000"],
    ]
    assert [page["pageInfo"]["hasNextPage"] for page in (first, second, third)] == [True, True, False]
    assert {page["totalCount"] for page in (first, second, third)} == {5}
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]


async def test_orders_placed_while_paging_do_not_shift_the_next_page(ask: Ask, alice: User) -> None:
    # given
    await place_many(alice, 4)
    first = orders_of(await ask(ORDER_LIST, {"first": 2}, as_user=alice))

    # when: two new orders arrive before the user scrolls on
    await feed(b.placed("NEW1", alice.openid, hours(10)), b.placed("NEW2", alice.openid, hours(11)))
    second = orders_of(
        await ask(ORDER_LIST, {"first": 2, "after": first["pageInfo"]["endCursor"]}, as_user=alice)
    )

    # then: no order is shown twice or skipped
    assert order_nos(first) == ["SO003", "SO002"]
    assert order_nos(second) == ["SO001", "SO000"]
    assert second["totalCount"] == 6


async def test_orders_placed_at_the_same_instant_are_all_listed_once(ask: Ask, alice: User) -> None:
    # given
    await feed(*(b.placed(f"SAME{n}", alice.openid, hours(1)) for n in range(5)))

    # when
    seen: list[str] = []
    after = None
    while True:
        page = orders_of(await ask(ORDER_LIST, {"first": 2, "after": after}, as_user=alice))
        seen += order_nos(page)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    # then
    assert sorted(seen) == [f"SAME{n}" for n in range(5)]


async def test_the_status_filter_narrows_the_list_and_its_total(ask: Ask, alice: User) -> None:
    # given
    await place_many(alice, 3)
    await feed(
        b.paid("SO001", hours(5)),
        b.node("SO002", "OUTBOUND", hours(6)),
        b.node("SO000", "OUTBOUND", hours(7)),
    )

    # when
    shipped = orders_of(await ask(ORDER_LIST, {"first": 10, "status": "SHIPPED"}, as_user=alice))
    paid = orders_of(await ask(ORDER_LIST, {"first": 10, "status": "PAID"}, as_user=alice))

    # then
    assert (order_nos(shipped), shipped["totalCount"]) == (["SO002", "SO000"], 2)
    assert (order_nos(paid), paid["totalCount"]) == (["SO001"], 1)


async def test_a_page_larger_than_fifty_is_refused_with_a_clear_error(ask: Ask, alice: User) -> None:
    # when
    too_big = await ask(ORDER_LIST, {"first": 51}, as_user=alice)
    zero = await ask(ORDER_LIST, {"first": 0}, as_user=alice)

    # then
    assert too_big["errors"][0]["message"] == "first: must be between 1 and 50, got 51"
    assert zero["errors"][0]["message"] == "first: must be between 1 and 50, got 0"


async def test_a_cursor_that_is_not_ours_is_refused(ask: Ask, alice: User) -> None:
    # when
    answer = await ask(ORDER_LIST, {"first": 5, "after": "bm90LWEtY3Vyc29y"}, as_user=alice)

    # then
    assert "is not a cursor of this list" in answer["errors"][0]["message"]


async def test_each_order_shows_items_amount_current_node_and_whether_it_needs_action(
    ask: Ask, alice: User
) -> None:
    # given
    future = datetime.now(UTC) + timedelta(days=2)
    await feed(
        b.placed(
            "QUIET",
            alice.openid,
            hours(0),
            items=[("SKU-A", "茶杯", 2, "19.90"), ("SKU-B", "茶壶", 1, "89.50")],
        ),
        b.node("QUIET", "OUTBOUND", hours(3), carrier="顺丰速运"),
        b.placed("SLOT", alice.openid, hours(1)),
        b.delivery_slots("SLOT", hours(4), future, [("S1", "明天上午", future, future + timedelta(hours=3))]),
        b.placed("EXC", alice.openid, hours(2)),
        b.exception("EX-1", hours(5), future, order_nos=["EXC"]),
        b.placed("DONE", alice.openid, hours(3)),
        b.node("DONE", "DELIVERED", hours(9)),
    )

    # when
    page = orders_of(await ask(ORDER_LIST, {"first": 10}, as_user=alice))

    # then
    nodes = {edge["node"]["orderNo"]: edge["node"] for edge in page["edges"]}
    quiet = nodes["QUIET"]
    assert quiet["totalAmount"] == "129.30"
    assert quiet["items"] == [
        {"skuCode": "SKU-A", "name": "茶杯", "quantity": 2},
        {"skuCode": "SKU-B", "name": "茶壶", "quantity": 1},
    ]
    assert quiet["currentNode"] == {
        "kind": "OUTBOUND",
        "title": "已出库",
        "occurredAt": "2026-11-20T12:00:00+08:00",
    }
    assert quiet["placedAt"] == "2026-11-20T09:00:00+08:00"
    assert quiet["status"] == "SHIPPED"
    assert nodes["SLOT"]["currentNode"] is None
    assert {no: node["needsAction"] for no, node in nodes.items()} == {
        "QUIET": False,
        "SLOT": True,  # a slot to choose before its deadline
        "EXC": True,  # an exception to decide
        "DONE": True,  # delivered, awaiting confirmation
    }


async def test_a_decided_exception_or_a_passed_deadline_needs_no_action(ask: Ask, alice: User) -> None:
    # given
    past = datetime.now(UTC) - timedelta(hours=1)
    future = datetime.now(UTC) + timedelta(days=1)
    await feed(
        b.placed("DECIDED", alice.openid, hours(0)),
        b.placed("EXPIRED", alice.openid, hours(1)),
        b.exception("EX-D", hours(2), future, order_nos=["DECIDED"]),
        b.exception("EX-E", hours(2), past, order_nos=["EXPIRED"]),
    )
    await OrderExceptionLink.filter(order__order_no="DECIDED").update(chosen_option="WAIT")

    # when
    page = orders_of(await ask(ORDER_LIST, {"first": 10}, as_user=alice))

    # then
    assert [edge["node"]["needsAction"] for edge in page["edges"]] == [False, False]


async def test_without_a_session_there_is_no_viewer_and_no_orders(ask: Ask, alice: User) -> None:
    # given
    await place_many(alice, 2)

    # when
    answer = await ask(ORDER_LIST, {"first": 10}, as_user=None)

    # then
    assert answer == {"data": {"viewer": None}}
