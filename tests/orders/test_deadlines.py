"""Defaults applied when a deadline passes undecided (bff/orders/deadlines.py, tasks/deadlines.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff import constants
from bff.inbound.supply_chain import ingest_body
from bff.models import (
    CommandType,
    DecidedBy,
    DeliverySlotOffer,
    OrderExceptionLink,
    OrderStatus,
    OutboxCommand,
)
from bff.orders.deadlines import apply_deadline_defaults, apply_exception_defaults
from bff.orders.decisions import DecisionError, DecisionErrorCode, choose_delivery_slot, resolve_exception
from bff.supply_chain import builders as b
from tasks.deadlines import apply_deadline_defaults as apply_deadline_defaults_job
from tests.orders.scenarios import (
    T0,
    bulk_orders,
    in_hours,
    offer_slots,
    openid_for,
    place_order,
    raise_exception,
    user_of,
)
from tests.querycount import count_queries

ALICE = openid_for("alice")


async def test_a_slot_offer_past_its_deadline_gets_its_default_and_a_command(db: TortoiseContext) -> None:
    # given an undecided offer whose deadline passed, defaulting to the afternoon slot
    await place_order("SO-DL-1", ALICE, OrderStatus.SHIPPED)
    deadline = in_hours(-0.5).replace(microsecond=0)
    await offer_slots("SO-DL-1", deadline=deadline, default_slot_id="SLOT-PM")

    # when
    applied = await apply_deadline_defaults()

    # then the default is the decision, made by DEFAULT at the deadline
    assert (applied.slots, applied.exceptions) == (1, 0)
    offer = await DeliverySlotOffer.get(order__order_no="SO-DL-1")
    assert (offer.chosen_slot_id, offer.decided_by, offer.decided_at) == (
        "SLOT-PM",
        DecidedBy.DEFAULT,
        deadline,
    )
    command = await OutboxCommand.get()
    assert command.command_id == applied.command_ids[0]
    assert command.payload == {
        "commandId": str(command.command_id),
        "type": "delivery_slot.chosen",
        "orderNo": "SO-DL-1",
        "slotId": "SLOT-PM",
        "decidedBy": "DEFAULT",
        "decidedAt": deadline.isoformat(timespec="milliseconds"),
    }


async def test_nothing_is_defaulted_before_the_deadline_or_after_a_user_decision(db: TortoiseContext) -> None:
    # given an offer still open, and one the user decided before its deadline passed
    await place_order("SO-DL-2", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-DL-2", deadline=in_hours(1))
    await place_order("SO-DL-3", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-DL-3", deadline=in_hours(1))
    await choose_delivery_slot((await user_of(ALICE)).id, "SO-DL-3", "SLOT-PM")

    # when the job runs now, and again after both deadlines
    now_applied = await apply_deadline_defaults()
    later_applied = await apply_deadline_defaults(now=in_hours(2))

    # then only the undecided offer got its default, after its deadline
    assert (now_applied.total, later_applied.slots) == (0, 1)
    chosen = dict(await DeliverySlotOffer.all().values_list("order__order_no", "decided_by"))
    assert chosen == {"SO-DL-2": DecidedBy.DEFAULT, "SO-DL-3": DecidedBy.USER}
    assert await OutboxCommand.all().count() == 2


async def test_orders_the_decision_no_longer_concerns_get_no_default(db: TortoiseContext) -> None:
    # given expired offers/exceptions on orders that were cancelled or delivered meanwhile
    await place_order("SO-DL-4", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-DL-4", deadline=in_hours(-1))
    await ingest_body(b.body(b.node("SO-DL-4", "DELIVERED", T0 + timedelta(hours=40))))
    await place_order("SO-DL-5", ALICE, OrderStatus.PAID)
    await raise_exception("EXC-DL-5", deadline=in_hours(-1), order_nos=["SO-DL-5"])
    await ingest_body(b.body(b.cancelled("SO-DL-5", T0 + timedelta(hours=8))))

    # when
    applied = await apply_deadline_defaults()

    # then
    assert applied.total == 0
    assert await OutboxCommand.all().count() == 0


async def test_an_expired_exception_defaults_every_undecided_order(db: TortoiseContext) -> None:
    # given three orders hit by one exception; one was resolved by its user in time
    for n in (1, 2, 3):
        await place_order(f"SO-DLX-{n}", ALICE, OrderStatus.PAID)
    deadline = in_hours(1).replace(microsecond=0)
    await raise_exception(
        "EXC-DLX", deadline=deadline, order_nos=["SO-DLX-1", "SO-DLX-2", "SO-DLX-3"], default_option="COUPON"
    )
    await resolve_exception((await user_of(ALICE)).id, "SO-DLX-2", "EXC-DLX", "CANCEL")

    # when the deadline passes
    applied = await apply_deadline_defaults(now=deadline + timedelta(seconds=1))

    # then the two others get the default, each with its own command
    assert applied.exceptions == 2
    links = (
        await OrderExceptionLink.all()
        .order_by("order__order_no")
        .values_list("order__order_no", "chosen_option", "decided_by")
    )
    assert links == [
        ("SO-DLX-1", "COUPON", DecidedBy.DEFAULT),
        ("SO-DLX-2", "CANCEL", DecidedBy.USER),
        ("SO-DLX-3", "COUPON", DecidedBy.DEFAULT),
    ]
    defaults = await OutboxCommand.filter(order_no__in=["SO-DLX-1", "SO-DLX-3"]).order_by("order_no")
    assert [(c.type, c.payload["option"], c.payload["decidedBy"]) for c in defaults] == [
        (CommandType.EXCEPTION_RESOLVED, "COUPON", "DEFAULT"),
        (CommandType.EXCEPTION_RESOLVED, "COUPON", "DEFAULT"),
    ]
    assert {c.payload["decidedAt"] for c in defaults} == {deadline.isoformat(timespec="milliseconds")}


async def test_a_user_cannot_decide_once_the_default_is_applied(db: TortoiseContext) -> None:
    # given an exception whose default was applied
    await place_order("SO-DL-6", ALICE, OrderStatus.PAID)
    deadline = in_hours(-1)
    await raise_exception("EXC-DL-6", deadline=deadline, order_nos=["SO-DL-6"])
    await apply_deadline_defaults()

    # when the user tries anyway (from a screen opened before the deadline)
    with pytest.raises(DecisionError) as refused:
        await resolve_exception((await user_of(ALICE)).id, "SO-DL-6", "EXC-DL-6", "CANCEL")

    # then
    assert refused.value.code == DecisionErrorCode.ALREADY_DECIDED
    assert await OutboxCommand.all().count() == 1


async def test_a_large_scoped_exception_is_defaulted_in_bounded_batches(db: TortoiseContext) -> None:
    # given 1 200 open orders of one warehouse, hit by a scoped exception that expired
    await bulk_orders("SODLB", 1200, warehouse="广州仓")
    await raise_exception("EXC-BIG", deadline=in_hours(-1), scope={"warehouse": "广州仓"})

    # when the job may do two batches of 500 per run
    with count_queries() as statements:
        first = await apply_deadline_defaults(batch_size=500, max_batches=2)
    second = await apply_deadline_defaults(batch_size=500, max_batches=2)
    third = await apply_deadline_defaults(batch_size=500, max_batches=2)

    # then the first run stops at 1 000, the next finishes, and a third finds nothing
    assert (first.exceptions, second.exceptions, third.exceptions) == (1000, 200, 0)
    assert await OrderExceptionLink.filter(chosen_option__isnull=True).count() == 0
    assert await OutboxCommand.all().count() == 1200
    assert len(set(await OutboxCommand.all().values_list("order_no", flat=True))) == 1200
    # and a batch costs a handful of statements, not one per order
    assert len(statements) <= 20


async def test_concurrent_default_runs_decide_each_order_once(db: TortoiseContext) -> None:
    # given 600 orders under an expired exception
    await bulk_orders("SODLC", 600, warehouse="成都仓")
    await raise_exception("EXC-CONC", deadline=in_hours(-1), scope={"warehouse": "成都仓"})

    # when four workers run the job at the same time, in small batches
    single_batches, full_runs = await asyncio.gather(
        asyncio.gather(*[apply_exception_defaults(batch_size=50) for _ in range(4)]),
        asyncio.gather(*[apply_deadline_defaults(batch_size=50) for _ in range(4)]),
    )

    # then every order was decided once, with one command each
    decided = sum(len(ids) for ids in single_batches) + sum(run.exceptions for run in full_runs)
    assert decided == 600
    assert await OrderExceptionLink.filter(chosen_option__isnull=True).count() == 0
    assert await OutboxCommand.all().count() == 600


async def test_the_cron_job_queues_a_send_for_each_default(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    # given an expired slot offer and an expired exception
    await place_order("SO-DL-7", ALICE, OrderStatus.SHIPPED)
    await offer_slots("SO-DL-7", deadline=in_hours(-1))
    await raise_exception("EXC-DL-7", deadline=in_hours(-1), order_nos=["SO-DL-7"])

    # when the cron job runs
    applied = await apply_deadline_defaults_job({"redis": arq_pool})

    # then each command has its send job queued under its own id
    assert applied == 2
    queued = {job.job_id for job in await arq_pool.queued_jobs()}
    expected = {f"{constants.COMMAND_JOB_ID_PREFIX}{c.command_id}" for c in await OutboxCommand.all()}
    assert queued == expected and len(expected) == 2


async def test_many_small_expired_exceptions_are_all_defaulted_in_one_run(db: TortoiseContext) -> None:
    # given five expired exceptions of one order each, and an older one whose only order was cancelled
    await place_order("SO-DLS-0", ALICE, OrderStatus.PAID)
    await raise_exception("EXC-DLS-0", deadline=in_hours(-5), order_nos=["SO-DLS-0"])
    await ingest_body(b.body(b.cancelled("SO-DLS-0", T0 + timedelta(hours=8))))
    for n in range(1, 6):
        await place_order(f"SO-DLS-{n}", ALICE, OrderStatus.PAID)
        await raise_exception(f"EXC-DLS-{n}", deadline=in_hours(-n / 10), order_nos=[f"SO-DLS-{n}"])

    # when the job runs once
    applied = await apply_deadline_defaults()

    # then each of the five open orders got its default; the cancelled one did not hold them up
    assert applied.exceptions == 5
    assert sorted(await OutboxCommand.all().values_list("order_no", flat=True)) == [
        f"SO-DLS-{n}" for n in range(1, 6)
    ]
    cancelled = await OrderExceptionLink.get(order__order_no="SO-DLS-0")
    assert cancelled.chosen_option is None
