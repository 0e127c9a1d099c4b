"""Users' decisions on their orders (bff/orders/decisions.py): each refusal, one winner, one command."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tortoise.context import TortoiseContext

from bff.inbound.supply_chain import ingest_body
from bff.models import (
    CommandStatus,
    CommandType,
    DecidedBy,
    DeliverySlotOffer,
    Order,
    OrderException,
    OrderExceptionLink,
    OrderReceipt,
    OrderStatus,
    OutboxCommand,
)
from bff.orders.decisions import (
    Decision,
    DecisionError,
    DecisionErrorCode,
    choose_delivery_slot,
    confirm_receipt,
    resolve_exception,
)
from bff.supply_chain import builders as b
from tests.orders.scenarios import (
    T0,
    in_hours,
    offer_slots,
    openid_for,
    place_order,
    raise_exception,
    user_of,
)

ALICE = openid_for("alice")
BOB = openid_for("bob")


async def alice_id() -> int:
    return int((await user_of(ALICE)).id)


def parse_time(value: object) -> datetime:
    return datetime.fromisoformat(str(value))


# ---------------------------------------------------------------- delivery slot


async def test_choosing_a_slot_records_it_and_writes_one_command(db: TortoiseContext) -> None:
    # given
    await place_order("SO-SLOT-1", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-SLOT-1", deadline=in_hours(12))

    # when
    decision = await choose_delivery_slot(await alice_id(), "SO-SLOT-1", "SLOT-PM")

    # then the offer says what the user chose
    offer = await DeliverySlotOffer.get(order__order_no="SO-SLOT-1")
    assert (offer.chosen_slot_id, offer.decided_by) == ("SLOT-PM", DecidedBy.USER)
    # and exactly one command waits in the outbox, with the contract's fields
    command = await OutboxCommand.get()
    assert command.command_id == decision.command_id
    assert (command.status, command.attempts, command.type) == (
        CommandStatus.PENDING,
        0,
        CommandType.DELIVERY_SLOT_CHOSEN,
    )
    payload = dict(command.payload)
    decided_at = parse_time(payload.pop("decidedAt"))
    assert payload == {
        "commandId": str(decision.command_id),
        "type": "delivery_slot.chosen",
        "orderNo": "SO-SLOT-1",
        "slotId": "SLOT-PM",
        "decidedBy": "USER",
    }
    assert decided_at.utcoffset() is not None
    assert abs(decided_at - datetime.now(UTC)) < timedelta(minutes=1)


async def test_an_unknown_slot_is_refused_and_nothing_is_written(db: TortoiseContext) -> None:
    # given
    await place_order("SO-SLOT-2", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-SLOT-2", deadline=in_hours(12))

    # when
    with pytest.raises(DecisionError) as refused:
        await choose_delivery_slot(await alice_id(), "SO-SLOT-2", "SLOT-MIDNIGHT")

    # then
    assert (refused.value.code, refused.value.field) == (DecisionErrorCode.UNKNOWN_SLOT, "slotId")
    assert (await DeliverySlotOffer.get(order__order_no="SO-SLOT-2")).chosen_slot_id is None
    assert await OutboxCommand.all().count() == 0


async def test_a_slot_cannot_be_chosen_after_the_deadline(db: TortoiseContext) -> None:
    # given an offer whose deadline passed a minute ago
    await place_order("SO-SLOT-3", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-SLOT-3", deadline=in_hours(-1 / 60))

    # when
    with pytest.raises(DecisionError) as refused:
        await choose_delivery_slot(await alice_id(), "SO-SLOT-3", "SLOT-AM")

    # then
    assert refused.value.code == DecisionErrorCode.DEADLINE_PASSED
    assert await OutboxCommand.all().count() == 0


async def test_a_second_slot_choice_is_refused(db: TortoiseContext) -> None:
    # given
    await place_order("SO-SLOT-4", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-SLOT-4", deadline=in_hours(12))
    await choose_delivery_slot(await alice_id(), "SO-SLOT-4", "SLOT-AM")

    # when the user (or a double tap) decides again, for the other slot or the same one
    refusals = []
    for slot in ("SLOT-PM", "SLOT-AM"):
        with pytest.raises(DecisionError) as refused:
            await choose_delivery_slot(await alice_id(), "SO-SLOT-4", slot)
        refusals.append(refused.value.code)

    # then the first choice stands and only its command exists
    assert refusals == [DecisionErrorCode.ALREADY_DECIDED] * 2
    assert (await DeliverySlotOffer.get(order__order_no="SO-SLOT-4")).chosen_slot_id == "SLOT-AM"
    assert await OutboxCommand.all().count() == 1


async def test_no_slot_can_be_chosen_without_an_offer_or_once_delivered(db: TortoiseContext) -> None:
    # given an order without an offer, and a delivered order that had one
    await place_order("SO-SLOT-5", ALICE, OrderStatus.SHIPPED)
    await place_order("SO-SLOT-6", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-SLOT-6", deadline=in_hours(12))
    await ingest_body(b.body(b.node("SO-SLOT-6", "DELIVERED", T0 + timedelta(hours=40))))

    # when / then
    for order_no in ("SO-SLOT-5", "SO-SLOT-6"):
        with pytest.raises(DecisionError) as refused:
            await choose_delivery_slot(await alice_id(), order_no, "SLOT-AM")
        assert (refused.value.code, refused.value.field) == (DecisionErrorCode.WRONG_STATE, "orderNo")
    assert await OutboxCommand.all().count() == 0


async def test_a_newer_offer_is_a_new_question_with_its_own_command(db: TortoiseContext) -> None:
    # given a choice on a first offer
    await place_order("SO-SLOT-7", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-SLOT-7", deadline=in_hours(12))
    first = await choose_delivery_slot(await alice_id(), "SO-SLOT-7", "SLOT-AM")

    # when the supply chain offers new slots (which resets the choice) and the user chooses again
    await offer_slots(
        "SO-SLOT-7",
        deadline=in_hours(24),
        slots=[("SLOT-EVE", "后天晚上 18:00-21:00")],
        offered_at=T0 + timedelta(hours=9),
    )
    second = await choose_delivery_slot(await alice_id(), "SO-SLOT-7", "SLOT-EVE")

    # then both decisions went out, each as its own command
    assert first.command_id != second.command_id
    slot_ids = sorted(str(c.payload["slotId"]) for c in await OutboxCommand.all())
    assert slot_ids == ["SLOT-AM", "SLOT-EVE"]


# ---------------------------------------------------------------- exception


async def test_resolving_an_exception_records_the_option_and_writes_one_command(db: TortoiseContext) -> None:
    # given
    await place_order("SO-EXC-1", ALICE, OrderStatus.IN_PRODUCTION)
    await raise_exception("EXC-1", deadline=in_hours(6), order_nos=["SO-EXC-1"])

    # when
    decision = await resolve_exception(await alice_id(), "SO-EXC-1", "EXC-1", "COUPON")

    # then
    link = await OrderExceptionLink.get(order__order_no="SO-EXC-1")
    assert (link.chosen_option, link.decided_by) == ("COUPON", DecidedBy.USER)
    command = await OutboxCommand.get()
    payload = dict(command.payload)
    parse_time(payload.pop("decidedAt"))
    assert payload == {
        "commandId": str(decision.command_id),
        "type": "exception.resolved",
        "exceptionId": "EXC-1",
        "orderNo": "SO-EXC-1",
        "option": "COUPON",
        "decidedBy": "USER",
    }


async def test_exception_refusals(db: TortoiseContext) -> None:
    # given an open exception on Alice's order, an expired one, and an exception of another order
    await place_order("SO-EXC-2", ALICE, OrderStatus.IN_PRODUCTION)
    await place_order("SO-EXC-3", ALICE, OrderStatus.IN_PRODUCTION)
    await raise_exception("EXC-OPEN", deadline=in_hours(6), order_nos=["SO-EXC-2"])
    await raise_exception("EXC-PAST", deadline=in_hours(-1), order_nos=["SO-EXC-2"])
    await raise_exception("EXC-OTHER", deadline=in_hours(6), order_nos=["SO-EXC-3"])
    user_id = await alice_id()

    cases = [
        (("SO-EXC-2", "EXC-NOPE", "WAIT"), DecisionErrorCode.UNKNOWN_EXCEPTION, "exceptionId"),
        (("SO-EXC-2", "EXC-OTHER", "WAIT"), DecisionErrorCode.UNKNOWN_EXCEPTION, "exceptionId"),
        (("SO-EXC-2", "EXC-OPEN", "REFUND_TWICE"), DecisionErrorCode.UNKNOWN_OPTION, "option"),
        (("SO-EXC-2", "EXC-PAST", "WAIT"), DecisionErrorCode.DEADLINE_PASSED, "option"),
    ]
    for (order_no, exception_id, option), code, field in cases:
        # when
        with pytest.raises(DecisionError) as refused:
            await resolve_exception(user_id, order_no, exception_id, option)
        # then
        assert (refused.value.code, refused.value.field) == (code, field), (exception_id, option)
    assert await OutboxCommand.all().count() == 0
    assert await OrderExceptionLink.filter(chosen_option__isnull=False).count() == 0


async def test_a_second_resolution_is_refused(db: TortoiseContext) -> None:
    # given
    await place_order("SO-EXC-4", ALICE, OrderStatus.IN_PRODUCTION)
    await raise_exception("EXC-4", deadline=in_hours(6), order_nos=["SO-EXC-4"])
    await resolve_exception(await alice_id(), "SO-EXC-4", "EXC-4", "WAIT")

    # when
    with pytest.raises(DecisionError) as refused:
        await resolve_exception(await alice_id(), "SO-EXC-4", "EXC-4", "CANCEL")

    # then
    assert refused.value.code == DecisionErrorCode.ALREADY_DECIDED
    assert (await OrderExceptionLink.get(order__order_no="SO-EXC-4")).chosen_option == "WAIT"
    assert await OutboxCommand.all().count() == 1


async def test_an_exception_of_a_cancelled_order_cannot_be_resolved(db: TortoiseContext) -> None:
    # given an exception, then the order is cancelled
    await place_order("SO-EXC-5", ALICE, OrderStatus.PAID)
    await raise_exception("EXC-5", deadline=in_hours(6), order_nos=["SO-EXC-5"])
    await ingest_body(b.body(b.cancelled("SO-EXC-5", T0 + timedelta(hours=8))))

    # when
    with pytest.raises(DecisionError) as refused:
        await resolve_exception(await alice_id(), "SO-EXC-5", "EXC-5", "WAIT")

    # then
    assert refused.value.code == DecisionErrorCode.WRONG_STATE
    assert await OutboxCommand.all().count() == 0


async def test_each_order_of_a_scoped_exception_is_resolved_on_its_own(db: TortoiseContext) -> None:
    # given two of Alice's orders in the same warehouse, hit by one scoped exception
    await place_order("SO-EXC-6", ALICE, OrderStatus.PAID)
    await place_order("SO-EXC-7", ALICE, OrderStatus.PAID)
    await raise_exception("EXC-SCOPE", deadline=in_hours(6), scope={"warehouse": "杭州仓"})

    # when she decides differently for each
    await resolve_exception(await alice_id(), "SO-EXC-6", "EXC-SCOPE", "WAIT")
    await resolve_exception(await alice_id(), "SO-EXC-7", "EXC-SCOPE", "CANCEL")

    # then
    exception = await OrderException.get(exception_id="EXC-SCOPE")
    chosen = dict(
        await OrderExceptionLink.filter(exception=exception).values_list("order__order_no", "chosen_option")
    )
    assert chosen == {"SO-EXC-6": "WAIT", "SO-EXC-7": "CANCEL"}
    assert sorted((c.order_no, c.payload["option"]) for c in await OutboxCommand.all()) == [
        ("SO-EXC-6", "WAIT"),
        ("SO-EXC-7", "CANCEL"),
    ]


# ---------------------------------------------------------------- receipt


async def test_confirming_receipt_completes_the_order_and_writes_one_command(db: TortoiseContext) -> None:
    # given
    await place_order("SO-RCPT-1", ALICE, OrderStatus.DELIVERED)

    # when
    decision = await confirm_receipt(await alice_id(), "SO-RCPT-1", rating=9, comment="  包装很好  ")

    # then
    assert decision.order.status == OrderStatus.COMPLETED
    assert (await Order.get(order_no="SO-RCPT-1")).status == OrderStatus.COMPLETED
    receipt = await OrderReceipt.get(order__order_no="SO-RCPT-1")
    assert (receipt.rating, receipt.comment) == (9, "包装很好")
    command = await OutboxCommand.get()
    payload = dict(command.payload)
    assert parse_time(payload.pop("confirmedAt")) == receipt.confirmed_at
    assert payload == {
        "commandId": str(decision.command_id),
        "type": "receipt.confirmed",
        "orderNo": "SO-RCPT-1",
        "rating": 9,
    }


async def test_receipt_without_a_rating_sends_a_null_rating(db: TortoiseContext) -> None:
    # given
    await place_order("SO-RCPT-2", ALICE, OrderStatus.DELIVERED)

    # when
    await confirm_receipt(await alice_id(), "SO-RCPT-2")

    # then
    command = await OutboxCommand.get()
    assert "rating" in command.payload and command.payload["rating"] is None
    assert (await OrderReceipt.get()).comment is None


@pytest.mark.parametrize(
    ("rating", "comment", "code", "field"),
    [
        (-1, None, DecisionErrorCode.INVALID_RATING, "rating"),
        (11, None, DecisionErrorCode.INVALID_RATING, "rating"),
        (5, "好" * 1001, DecisionErrorCode.COMMENT_TOO_LONG, "comment"),
    ],
)
async def test_bad_ratings_and_comments_are_refused(
    db: TortoiseContext, rating: int, comment: str | None, code: DecisionErrorCode, field: str
) -> None:
    # given
    await place_order("SO-RCPT-3", ALICE, OrderStatus.DELIVERED)

    # when
    with pytest.raises(DecisionError) as refused:
        await confirm_receipt(await alice_id(), "SO-RCPT-3", rating=rating, comment=comment)

    # then
    assert (refused.value.code, refused.value.field) == (code, field)
    assert (await Order.get(order_no="SO-RCPT-3")).status == OrderStatus.DELIVERED
    assert await OutboxCommand.all().count() == 0


async def test_the_rating_bounds_are_accepted(db: TortoiseContext) -> None:
    # given
    await place_order("SO-RCPT-4", ALICE, OrderStatus.DELIVERED)
    await place_order("SO-RCPT-5", ALICE, OrderStatus.DELIVERED)

    # when
    await confirm_receipt(await alice_id(), "SO-RCPT-4", rating=0, comment="好" * 1000)
    await confirm_receipt(await alice_id(), "SO-RCPT-5", rating=10)

    # then
    assert {r.rating for r in await OrderReceipt.all()} == {0, 10}


async def test_receipt_before_delivery_is_refused(db: TortoiseContext) -> None:
    # given
    await place_order("SO-RCPT-6", ALICE, OrderStatus.SHIPPED)

    # when
    with pytest.raises(DecisionError) as refused:
        await confirm_receipt(await alice_id(), "SO-RCPT-6", rating=8)

    # then
    assert refused.value.code == DecisionErrorCode.WRONG_STATE
    assert (await Order.get(order_no="SO-RCPT-6")).status == OrderStatus.SHIPPED


async def test_a_second_confirmation_is_refused(db: TortoiseContext) -> None:
    # given
    await place_order("SO-RCPT-7", ALICE, OrderStatus.DELIVERED)
    await confirm_receipt(await alice_id(), "SO-RCPT-7", rating=7)

    # when
    with pytest.raises(DecisionError) as refused:
        await confirm_receipt(await alice_id(), "SO-RCPT-7", rating=2)

    # then
    assert refused.value.code == DecisionErrorCode.ALREADY_DECIDED
    assert (await OrderReceipt.get()).rating == 7
    assert await OutboxCommand.all().count() == 1


async def test_a_late_event_does_not_undo_completion(db: TortoiseContext) -> None:
    # given a completed order
    await place_order("SO-RCPT-8", ALICE, OrderStatus.DELIVERED)
    await confirm_receipt(await alice_id(), "SO-RCPT-8")

    # when an older node arrives late
    await ingest_body(b.body(b.node("SO-RCPT-8", "OUT_FOR_DELIVERY", T0 + timedelta(hours=20))))

    # then
    assert (await Order.get(order_no="SO-RCPT-8")).status == OrderStatus.COMPLETED


# ---------------------------------------------------------------- who may decide


async def test_someone_elses_order_is_answered_like_a_missing_one(db: TortoiseContext) -> None:
    # given Bob's order with slots, an exception and a delivery
    await place_order("SO-BOB-1", BOB, OrderStatus.SHIPPED)
    await offer_slots("SO-BOB-1", deadline=in_hours(12))
    await raise_exception("EXC-BOB", deadline=in_hours(6), order_nos=["SO-BOB-1"])
    await place_order("SO-ALICE-1", ALICE, OrderStatus.PAID)
    alice = await alice_id()

    attempts: dict[str, Callable[[str], Awaitable[Decision]]] = {
        "slot": lambda order_no: choose_delivery_slot(alice, order_no, "SLOT-AM"),
        "exception": lambda order_no: resolve_exception(alice, order_no, "EXC-BOB", "WAIT"),
        "receipt": lambda order_no: confirm_receipt(alice, order_no, rating=1),
    }
    for name, attempt in attempts.items():
        # when Alice decides on Bob's order, and on an order that does not exist
        answers = []
        for order_no in ("SO-BOB-1", "SO-NOBODY"):
            with pytest.raises(DecisionError) as refused:
                await attempt(order_no)
            answers.append(
                (refused.value.code, refused.value.field, refused.value.message.replace(order_no, "?"))
            )
        # then both answers are the same
        assert answers[0] == answers[1], name
        assert answers[0][0] == DecisionErrorCode.ORDER_NOT_FOUND
    assert await OutboxCommand.all().count() == 0
    assert (await DeliverySlotOffer.get(order__order_no="SO-BOB-1")).chosen_slot_id is None


async def test_decisions_need_a_signed_in_user(db: TortoiseContext) -> None:
    # given
    await place_order("SO-ANON-1", ALICE, OrderStatus.DELIVERED)

    # when
    with pytest.raises(DecisionError) as refused:
        await confirm_receipt(None, "SO-ANON-1")

    # then
    assert (refused.value.code, refused.value.field) == (DecisionErrorCode.UNAUTHENTICATED, None)


# ---------------------------------------------------------------- concurrency (meaningful on PostgreSQL)


async def _race(attempts: list[Coroutine[Any, Any, Decision]]) -> tuple[list[Decision], list[DecisionError]]:
    results: list[Decision | BaseException] = await asyncio.gather(*attempts, return_exceptions=True)
    won = [r for r in results if isinstance(r, Decision)]
    lost = [r for r in results if isinstance(r, DecisionError)]
    unexpected = [r for r in results if not isinstance(r, Decision | DecisionError)]
    assert unexpected == []
    return won, lost


async def test_concurrent_slot_choices_have_one_winner_and_one_command(db: TortoiseContext) -> None:
    # given
    await place_order("SO-RACE-1", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-RACE-1", deadline=in_hours(12))
    user_id = await alice_id()

    # when ten taps race, alternating between the two slots
    won, lost = await _race(
        [choose_delivery_slot(user_id, "SO-RACE-1", ("SLOT-AM", "SLOT-PM")[n % 2]) for n in range(10)]
    )

    # then exactly one decision stands, and it is the one the command carries
    assert len(won) == 1 and len(lost) == 9
    assert {e.code for e in lost} == {DecisionErrorCode.ALREADY_DECIDED}
    offer = await DeliverySlotOffer.get(order__order_no="SO-RACE-1")
    command = await OutboxCommand.get()
    assert command.command_id == won[0].command_id
    assert command.payload["slotId"] == offer.chosen_slot_id


async def test_concurrent_exception_resolutions_have_one_winner_and_one_command(db: TortoiseContext) -> None:
    # given
    await place_order("SO-RACE-2", ALICE, OrderStatus.PAID)
    await raise_exception("EXC-RACE", deadline=in_hours(6), order_nos=["SO-RACE-2"])
    user_id = await alice_id()
    options = ("WAIT", "CHANGE_WAREHOUSE", "COUPON", "CANCEL")

    # when
    won, lost = await _race(
        [resolve_exception(user_id, "SO-RACE-2", "EXC-RACE", options[n % 4]) for n in range(10)]
    )

    # then
    assert len(won) == 1 and {e.code for e in lost} == {DecisionErrorCode.ALREADY_DECIDED}
    link = await OrderExceptionLink.get(order__order_no="SO-RACE-2")
    command = await OutboxCommand.get()
    assert command.payload["option"] == link.chosen_option


async def test_concurrent_receipt_confirmations_have_one_winner_and_one_command(db: TortoiseContext) -> None:
    # given
    await place_order("SO-RACE-3", ALICE, OrderStatus.DELIVERED)
    user_id = await alice_id()

    # when
    won, lost = await _race([confirm_receipt(user_id, "SO-RACE-3", rating=n) for n in range(10)])

    # then
    assert len(won) == 1 and {e.code for e in lost} == {DecisionErrorCode.ALREADY_DECIDED}
    receipt = await OrderReceipt.get()
    command = await OutboxCommand.get()
    assert command.payload["rating"] == receipt.rating
    assert await OutboxCommand.filter(status=CommandStatus.PENDING).count() == 1
