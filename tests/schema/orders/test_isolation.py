"""Every order read is scoped to the session's user: someone else's order is like a missing one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bff.models import User
from bff.supply_chain import builders as b
from tests.schema.orders.conftest import ORDER_DETAIL, ORDER_LIST, Ask, feed, hours


async def give_bob_an_order_that_needs_everything(bob: User) -> None:
    future = datetime.now(UTC) + timedelta(days=1)
    await feed(
        b.placed("BOB-1", bob.openid, hours(0)),
        b.node("BOB-1", "OUTBOUND", hours(2), carrier="顺丰速运", tracking_no="SF-BOB"),
        b.delivery_slots(
            "BOB-1", hours(3), future, [("S1", "明天上午", future, future + timedelta(hours=2))]
        ),
        b.exception("EX-BOB", hours(4), future, order_nos=["BOB-1"]),
    )


async def test_someone_elses_order_is_null_exactly_like_a_missing_one(
    ask: Ask, alice: User, bob: User
) -> None:
    # given
    await give_bob_an_order_that_needs_everything(bob)

    # when
    theirs = await ask(ORDER_DETAIL, {"orderNo": "BOB-1"}, as_user=alice)
    missing = await ask(ORDER_DETAIL, {"orderNo": "NO-SUCH-ORDER"}, as_user=alice)
    own = await ask(ORDER_DETAIL, {"orderNo": "BOB-1"}, as_user=bob)

    # then
    assert theirs == missing == {"data": {"order": None}}
    assert own["data"]["order"]["shipment"]["trackingNo"] == "SF-BOB"


async def test_without_a_session_no_order_is_readable(ask: Ask, bob: User) -> None:
    # given
    await give_bob_an_order_that_needs_everything(bob)

    # when
    answer = await ask(ORDER_DETAIL, {"orderNo": "BOB-1"}, as_user=None)

    # then
    assert answer == {"data": {"order": None}}


async def test_the_list_holds_only_the_viewers_orders_whatever_the_filter(
    ask: Ask, alice: User, bob: User
) -> None:
    # given
    await give_bob_an_order_that_needs_everything(bob)
    await feed(b.placed("ALICE-1", alice.openid, hours(1)), b.node("ALICE-1", "OUTBOUND", hours(2)))

    # when
    everything = await ask(ORDER_LIST, {"first": 50}, as_user=alice)
    shipped = await ask(ORDER_LIST, {"first": 50, "status": "SHIPPED"}, as_user=alice)

    # then
    for answer in (everything, shipped):
        orders = answer["data"]["viewer"]["orders"]
        assert [edge["node"]["orderNo"] for edge in orders["edges"]] == ["ALICE-1"]
        assert orders["totalCount"] == 1


async def test_a_cursor_from_another_users_list_pages_only_the_viewers_orders(
    ask: Ask, alice: User, bob: User
) -> None:
    # given: Bob's cursor, placed later than all of Alice's orders
    await feed(*(b.placed(f"BOB-{n}", bob.openid, hours(100 + n)) for n in range(3)))
    await feed(*(b.placed(f"ALICE-{n}", alice.openid, hours(n)) for n in range(2)))
    bobs = await ask(ORDER_LIST, {"first": 1}, as_user=bob)
    bobs_cursor = bobs["data"]["viewer"]["orders"]["pageInfo"]["endCursor"]

    # when: Alice replays it
    answer = await ask(ORDER_LIST, {"first": 50, "after": bobs_cursor}, as_user=alice)

    # then
    orders = answer["data"]["viewer"]["orders"]
    assert [edge["node"]["orderNo"] for edge in orders["edges"]] == ["ALICE-1", "ALICE-0"]
