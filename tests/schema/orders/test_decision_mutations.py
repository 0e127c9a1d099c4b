"""The order tab's decisions, driven as the mini-program drives them: GraphQL over HTTP with a session
token, orders fed in through the supply chain's events, and the commands delivered by the worker
to a real HTTP receiver that fails the first attempts."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from arq.worker import Worker

from bff.models import CommandStatus, OutboxCommand, User
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from bff.supply_chain.outbox import COMMAND_RETRY
from tasks.deadlines import apply_deadline_defaults
from tests.conftest import WorkerFactory
from tests.schema.orders.conftest import ORDER_DETAIL, Ask, feed, hours
from tests.supply_chain.receiver import CommandReceiver, serve_receiver

# schema/operations/miniprogram.graphql, as written there
CHOOSE_DELIVERY_SLOT = """
mutation ChooseDeliverySlot($orderNo: String!, $slotId: ID!) {
  chooseDeliverySlot(orderNo: $orderNo, slotId: $slotId) {
    order { orderNo deliverySlot { chosen { id label startsAt endsAt } } }
    userErrors { code field message }
  }
}
"""

RESOLVE_EXCEPTION = """
mutation ResolveException($orderNo: String!, $exceptionId: ID!, $option: String!) {
  resolveException(orderNo: $orderNo, exceptionId: $exceptionId, option: $option) {
    order { orderNo exception { id chosen } }
    userErrors { code field message }
  }
}
"""

CONFIRM_RECEIPT = """
mutation ConfirmReceipt($orderNo: String!, $rating: Int, $comment: String) {
  confirmReceipt(orderNo: $orderNo, rating: $rating, comment: $comment) {
    order { orderNo status receipt { confirmedAt rating } }
    userErrors { code field message }
  }
}
"""

SLOTS = [
    ("SLOT-AM", "周六上午 9:00-12:00", hours(96), hours(99)),
    ("SLOT-PM", "周六下午 14:00-18:00", hours(101), hours(105)),
]


def payload(answer: dict[str, Any], field: str) -> dict[str, Any]:
    assert "errors" not in answer, answer
    return answer["data"][field]  # type: ignore[no-any-return]


def codes(result: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(e["code"], e["field"]) for e in result["userErrors"]]


def from_now(hours_ahead: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours_ahead)


async def shipped_order(order_no: str, user: User, *, deadline: datetime | None = None) -> None:
    """A paid, shipped order with two delivery slots offered until `deadline` (12 h from now)."""
    await feed(
        b.placed(order_no, user.openid, hours(0)),
        b.paid(order_no, hours(1)),
        b.node(order_no, "OUTBOUND", hours(20), carrier="顺丰速运", tracking_no="SF0000000001"),
        b.delivery_slots(order_no, hours(21), deadline or from_now(12), SLOTS, default_slot_id="SLOT-PM"),
    )


async def delivered_order(order_no: str, user: User) -> None:
    await feed(
        b.placed(order_no, user.openid, hours(0)),
        b.paid(order_no, hours(1)),
        b.node(order_no, "OUTBOUND", hours(20)),
        b.node(order_no, "DELIVERED", hours(60)),
    )


async def delivering_worker(
    worker: WorkerFactory, settings: Settings, http: httpx.AsyncClient, url: str
) -> Worker:
    ctx: dict[str, Any] = {
        "settings": replace(settings, supply_chain_callback_url=url),
        "http": http,
        "worker_id": "test-worker",
        "started_at": datetime.now(UTC),
        "command_retry_policy": replace(COMMAND_RETRY, base_s=0.02, cap_s=0.1),
    }
    return await worker(ctx=ctx)


# ---------------------------------------------------------------- the three decisions, end to end


async def test_choosing_a_slot_reaches_the_supply_chain_despite_two_failures(
    ask: Ask,
    alice: User,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
) -> None:
    # given a shipped order with slots offered, and a receiver that fails twice
    await shipped_order("SO-GQL-1", alice)
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret, answers=[503, 500])) as receiver:
        # when Alice chooses the morning slot in the mini-program
        result = payload(
            await ask(CHOOSE_DELIVERY_SLOT, {"orderNo": "SO-GQL-1", "slotId": "SLOT-AM"}, as_user=alice),
            "chooseDeliverySlot",
        )
        # and the worker runs
        w = await delivering_worker(worker, settings, http, receiver.url)
        await w.run_check()

    # then the answer shows her choice
    assert result["userErrors"] == []
    chosen = result["order"]["deliverySlot"]["chosen"]
    assert (result["order"]["orderNo"], chosen["id"], chosen["label"]) == (
        "SO-GQL-1",
        "SLOT-AM",
        "周六上午 9:00-12:00",
    )
    # and the supply chain received it once, after two failures, signed and under one key
    assert [r.answered for r in receiver.received] == [503, 500, 200]
    assert all(r.signature_ok for r in receiver.received)
    assert len({r.idempotency_key for r in receiver.received}) == 1
    body = receiver.received[-1].json
    assert (body["type"], body["orderNo"], body["slotId"], body["decidedBy"]) == (
        "delivery_slot.chosen",
        "SO-GQL-1",
        "SLOT-AM",
        "USER",
    )
    assert body["commandId"] == receiver.received[-1].idempotency_key
    # and the order detail shows the choice too
    detail = payload(await ask(ORDER_DETAIL, {"orderNo": "SO-GQL-1"}, as_user=alice), "order")
    assert detail["deliverySlot"]["chosen"]["id"] == "SLOT-AM"


async def test_resolving_an_exception_reaches_the_supply_chain(
    ask: Ask, alice: User, worker: WorkerFactory, settings: Settings, http: httpx.AsyncClient
) -> None:
    # given an order delayed by a warehouse exception
    await feed(b.placed("SO-GQL-2", alice.openid, hours(0)), b.paid("SO-GQL-2", hours(1)))
    await feed(b.exception("EXC-GQL-2", hours(2), from_now(6), order_nos=["SO-GQL-2"]))
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret, answers=[503])) as receiver:
        # when Alice takes the coupon
        variables = {"orderNo": "SO-GQL-2", "exceptionId": "EXC-GQL-2", "option": "COUPON"}
        result = payload(await ask(RESOLVE_EXCEPTION, variables, as_user=alice), "resolveException")
        await (await delivering_worker(worker, settings, http, receiver.url)).run_check()

    # then
    assert result == {
        "order": {"orderNo": "SO-GQL-2", "exception": {"id": "EXC-GQL-2", "chosen": "COUPON"}},
        "userErrors": [],
    }
    body = receiver.received[-1].json
    assert (body["type"], body["exceptionId"], body["orderNo"], body["option"], body["decidedBy"]) == (
        "exception.resolved",
        "EXC-GQL-2",
        "SO-GQL-2",
        "COUPON",
        "USER",
    )
    assert [r.answered for r in receiver.received] == [503, 200]


ORDER_EXCEPTION = """
query OrderException($orderNo: String!) { order(orderNo: $orderNo) { exception { id chosen } } }
"""
ORDER_EXCEPTIONS = """
query OrderExceptions($orderNo: String!) { order(orderNo: $orderNo) { exceptions { id chosen } } }
"""


async def two_open_exceptions(order_no: str, user: User) -> None:
    """An order hit by two exceptions: a delay due in 6 h and a stockout due in 3 h."""
    await feed(b.placed(order_no, user.openid, hours(0)), b.paid(order_no, hours(1)))
    await feed(b.exception(f"{order_no}-DELAY", hours(2), from_now(6), order_nos=[order_no]))
    await feed(b.exception(f"{order_no}-STOCK", hours(3), from_now(3), order_nos=[order_no], kind="STOCKOUT"))


async def test_resolving_the_exception_the_order_does_not_show_answers_with_the_one_resolved(
    ask: Ask, alice: User
) -> None:
    # given two open exceptions; the order's single `exception` shows the one due first
    await two_open_exceptions("SO-2X", alice)
    shown = payload(await ask(ORDER_EXCEPTION, {"orderNo": "SO-2X"}, as_user=alice), "order")
    assert shown["exception"] == {"id": "SO-2X-STOCK", "chosen": None}

    # when Alice resolves the other one
    variables = {"orderNo": "SO-2X", "exceptionId": "SO-2X-DELAY", "option": "WAIT"}
    result = payload(await ask(RESOLVE_EXCEPTION, variables, as_user=alice), "resolveException")
    after = payload(await ask(ORDER_EXCEPTION, {"orderNo": "SO-2X"}, as_user=alice), "order")

    # then the answer shows the exception she resolved, with her choice
    assert result == {
        "order": {"orderNo": "SO-2X", "exception": {"id": "SO-2X-DELAY", "chosen": "WAIT"}},
        "userErrors": [],
    }
    # and the order page goes on showing the one still waiting for her
    assert after["exception"] == {"id": "SO-2X-STOCK", "chosen": None}
    # and a refusal about the resolved one answers with that one too
    variables = {"orderNo": "SO-2X", "exceptionId": "SO-2X-DELAY", "option": "CANCEL"}
    again = payload(await ask(RESOLVE_EXCEPTION, variables, as_user=alice), "resolveException")
    assert codes(again) == [("ALREADY_DECIDED", "option")]
    assert again["order"]["exception"] == {"id": "SO-2X-DELAY", "chosen": "WAIT"}


async def test_every_exception_of_an_order_is_listed_those_awaiting_a_decision_first(
    ask: Ask, alice: User
) -> None:
    # given two open exceptions
    await two_open_exceptions("SO-2Y", alice)
    before = payload(await ask(ORDER_EXCEPTIONS, {"orderNo": "SO-2Y"}, as_user=alice), "order")

    # when the one due first is resolved
    variables = {"orderNo": "SO-2Y", "exceptionId": "SO-2Y-STOCK", "option": "COUPON"}
    assert codes(payload(await ask(RESOLVE_EXCEPTION, variables, as_user=alice), "resolveException")) == []
    after = payload(await ask(ORDER_EXCEPTIONS, {"orderNo": "SO-2Y"}, as_user=alice), "order")

    # then both are listed, open ones first (the one due first leading), decided ones after
    assert [(e["id"], e["chosen"]) for e in before["exceptions"]] == [
        ("SO-2Y-STOCK", None),
        ("SO-2Y-DELAY", None),
    ]
    assert [(e["id"], e["chosen"]) for e in after["exceptions"]] == [
        ("SO-2Y-DELAY", None),
        ("SO-2Y-STOCK", "COUPON"),
    ]


async def test_confirming_receipt_completes_the_order_and_reaches_the_supply_chain(
    ask: Ask, alice: User, worker: WorkerFactory, settings: Settings, http: httpx.AsyncClient
) -> None:
    # given a delivered order
    await delivered_order("SO-GQL-3", alice)
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret, answers=[429])) as receiver:
        # when Alice confirms it with a 9 and a comment
        variables = {"orderNo": "SO-GQL-3", "rating": 9, "comment": "茶很好喝"}
        result = payload(await ask(CONFIRM_RECEIPT, variables, as_user=alice), "confirmReceipt")
        await (await delivering_worker(worker, settings, http, receiver.url)).run_check()

    # then the order is completed, with her rating
    assert result["userErrors"] == []
    order = result["order"]
    assert (order["orderNo"], order["status"], order["receipt"]["rating"]) == ("SO-GQL-3", "COMPLETED", 9)
    # shown in the business zone, to the second like every other time of the API
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", order["receipt"]["confirmedAt"])
    confirmed_at = datetime.fromisoformat(order["receipt"]["confirmedAt"])
    # and the supply chain was told, at the same moment (to the millisecond)
    body = receiver.received[-1].json
    assert (body["type"], body["orderNo"], body["rating"]) == ("receipt.confirmed", "SO-GQL-3", 9)
    assert datetime.fromisoformat(body["confirmedAt"]).replace(microsecond=0) == confirmed_at
    assert "comment" not in body  # not part of the contract's command


async def test_a_passed_deadline_sends_the_default_and_the_order_shows_it(
    ask: Ask,
    alice: User,
    worker: WorkerFactory,
    settings: Settings,
    http: httpx.AsyncClient,
    arq_pool: ArqRedis,
) -> None:
    # given slots whose deadline passed without a choice (default: afternoon)
    await shipped_order("SO-GQL-4", alice, deadline=from_now(-0.1))
    async with serve_receiver(CommandReceiver(settings.supply_chain_secret, answers=[502])) as receiver:
        # when the deadline cron runs, then the worker
        applied = await apply_deadline_defaults({"redis": arq_pool})
        await (await delivering_worker(worker, settings, http, receiver.url)).run_check()

    # then the default went out as DEFAULT
    assert applied == 1
    body = receiver.received[-1].json
    assert (body["slotId"], body["decidedBy"]) == ("SLOT-PM", "DEFAULT")
    # and the order shows it; choosing now is refused
    detail = payload(await ask(ORDER_DETAIL, {"orderNo": "SO-GQL-4"}, as_user=alice), "order")
    assert detail["deliverySlot"]["chosen"]["id"] == "SLOT-PM"
    late = payload(
        await ask(CHOOSE_DELIVERY_SLOT, {"orderNo": "SO-GQL-4", "slotId": "SLOT-AM"}, as_user=alice),
        "chooseDeliverySlot",
    )
    assert codes(late) == [("ALREADY_DECIDED", "slotId")]


# ---------------------------------------------------------------- user errors


async def test_slot_user_errors(ask: Ask, alice: User) -> None:
    # given one open offer and one whose deadline passed
    await shipped_order("SO-GQL-5", alice)
    await shipped_order("SO-GQL-6", alice, deadline=from_now(-0.1))

    async def choose(order_no: str, slot_id: str) -> dict[str, Any]:
        answer = await ask(CHOOSE_DELIVERY_SLOT, {"orderNo": order_no, "slotId": slot_id}, as_user=alice)
        return payload(answer, "chooseDeliverySlot")

    # when / then: an unknown slot, with the order as it stands
    unknown = await choose("SO-GQL-5", "SLOT-NIGHT")
    assert codes(unknown) == [("UNKNOWN_SLOT", "slotId")]
    assert unknown["order"] == {"orderNo": "SO-GQL-5", "deliverySlot": {"chosen": None}}
    # a passed deadline
    assert codes(await choose("SO-GQL-6", "SLOT-AM")) == [("DEADLINE_PASSED", "slotId")]
    # a second decision
    assert codes(await choose("SO-GQL-5", "SLOT-PM")) == []
    second = await choose("SO-GQL-5", "SLOT-AM")
    assert codes(second) == [("ALREADY_DECIDED", "slotId")]
    assert second["order"]["deliverySlot"]["chosen"]["id"] == "SLOT-PM"
    # and only the one decision became a command
    assert await OutboxCommand.all().count() == 1


async def test_exception_user_errors(ask: Ask, alice: User) -> None:
    # given
    await feed(b.placed("SO-GQL-7", alice.openid, hours(0)), b.paid("SO-GQL-7", hours(1)))
    await feed(b.exception("EXC-GQL-7", hours(2), from_now(6), order_nos=["SO-GQL-7"]))
    await feed(b.exception("EXC-GQL-7-OLD", hours(2), from_now(-1), order_nos=["SO-GQL-7"]))

    async def resolve(exception_id: str, option: str) -> dict[str, Any]:
        variables = {"orderNo": "SO-GQL-7", "exceptionId": exception_id, "option": option}
        return payload(await ask(RESOLVE_EXCEPTION, variables, as_user=alice), "resolveException")

    # when / then
    assert codes(await resolve("EXC-NOPE", "WAIT")) == [("UNKNOWN_EXCEPTION", "exceptionId")]
    assert codes(await resolve("EXC-GQL-7", "FREE_UPGRADE")) == [("UNKNOWN_OPTION", "option")]
    assert codes(await resolve("EXC-GQL-7-OLD", "WAIT")) == [("DEADLINE_PASSED", "option")]
    assert codes(await resolve("EXC-GQL-7", "WAIT")) == []
    assert codes(await resolve("EXC-GQL-7", "CANCEL")) == [("ALREADY_DECIDED", "option")]
    assert await OutboxCommand.all().count() == 1


async def test_receipt_user_errors(ask: Ask, alice: User) -> None:
    # given a delivered order and one still on its way
    await delivered_order("SO-GQL-8", alice)
    await shipped_order("SO-GQL-9", alice)

    async def confirm(order_no: str, rating: int | None, comment: str | None = None) -> dict[str, Any]:
        variables = {"orderNo": order_no, "rating": rating, "comment": comment}
        return payload(await ask(CONFIRM_RECEIPT, variables, as_user=alice), "confirmReceipt")

    # when / then
    assert codes(await confirm("SO-GQL-8", 11)) == [("INVALID_RATING", "rating")]
    assert codes(await confirm("SO-GQL-8", -1)) == [("INVALID_RATING", "rating")]
    assert codes(await confirm("SO-GQL-8", 5, "长" * 1001)) == [("COMMENT_TOO_LONG", "comment")]
    on_the_way = await confirm("SO-GQL-9", 8)
    assert codes(on_the_way) == [("WRONG_STATE", "orderNo")]
    assert on_the_way["order"]["status"] == "SHIPPED"
    assert codes(await confirm("SO-GQL-8", None)) == []
    again = await confirm("SO-GQL-8", 10)
    assert codes(again) == [("ALREADY_DECIDED", "orderNo")]
    assert again["order"]["receipt"]["rating"] is None
    assert await OutboxCommand.all().count() == 1


async def test_someone_elses_order_is_answered_like_a_missing_one(ask: Ask, alice: User, bob: User) -> None:
    # given Bob's delivered order with slots offered
    await shipped_order("SO-GQL-BOB", bob)
    await feed(b.node("SO-GQL-BOB", "DELIVERED", hours(60)))

    for document, field, extra in (
        (CHOOSE_DELIVERY_SLOT, "chooseDeliverySlot", {"slotId": "SLOT-AM"}),
        (RESOLVE_EXCEPTION, "resolveException", {"exceptionId": "EXC-X", "option": "WAIT"}),
        (CONFIRM_RECEIPT, "confirmReceipt", {"rating": 10}),
    ):
        # when Alice tries Bob's order and an order that does not exist
        answers = []
        for order_no in ("SO-GQL-BOB", "SO-GQL-NONE"):
            result = payload(await ask(document, {"orderNo": order_no, **extra}, as_user=alice), field)
            answers.append(
                (
                    result["order"],
                    [
                        (e["code"], e["field"], e["message"].replace(order_no, "?"))
                        for e in result["userErrors"]
                    ],
                )
            )
        # then both answers are the same: no order, ORDER_NOT_FOUND
        assert answers[0] == answers[1], field
        assert answers[0][0] is None and answers[0][1][0][:2] == ("ORDER_NOT_FOUND", "orderNo")
    assert await OutboxCommand.all().count() == 0


async def test_decisions_without_a_session_are_refused(ask: Ask, alice: User) -> None:
    # given
    await delivered_order("SO-GQL-10", alice)

    # when no token is sent
    result = payload(
        await ask(CONFIRM_RECEIPT, {"orderNo": "SO-GQL-10", "rating": 3}, as_user=None), "confirmReceipt"
    )

    # then
    assert result["order"] is None
    assert codes(result) == [("UNAUTHENTICATED", None)]
    assert await OutboxCommand.all().count() == 0


async def test_a_double_tap_sent_as_concurrent_requests_decides_once(
    ask: Ask, alice: User, arq_pool: ArqRedis
) -> None:
    # given
    await shipped_order("SO-GQL-11", alice)

    # when five requests for different slots arrive together
    answers = await asyncio.gather(
        *[
            ask(
                CHOOSE_DELIVERY_SLOT,
                {"orderNo": "SO-GQL-11", "slotId": ("SLOT-AM", "SLOT-PM")[n % 2]},
                as_user=alice,
            )
            for n in range(5)
        ]
    )

    # then one wins, the others are told it is decided, and one command is queued for sending
    results = [payload(answer, "chooseDeliverySlot") for answer in answers]
    assert sorted(tuple(codes(r)) for r in results) == [()] + [(("ALREADY_DECIDED", "slotId"),)] * 4
    winner = next(r for r in results if not r["userErrors"])
    command = await OutboxCommand.get()
    assert command.payload["slotId"] == winner["order"]["deliverySlot"]["chosen"]["id"]
    assert command.status == CommandStatus.PENDING
    assert [job.job_id for job in await arq_pool.queued_jobs()] == [f"command:{command.command_id}"]
