"""What a user decides on an order: a delivery slot, an exception's option, receipt and rating.

Each decision is one transaction that
1. locks the user's order row (FOR UPDATE on PostgreSQL; ingestion locks it the same way, so
   events and decisions about one order apply one after the other),
2. checks the decision is still open (order state, not decided yet, deadline not passed,
   a known slot / option),
3. records it with a conditional UPDATE (`... WHERE chosen IS NULL`), so of two concurrent
   decisions exactly one wins even without the lock, and
4. writes the command for the supply chain into the outbox.

Nothing is sent here: the caller queues `send_command` for `Decision.command_id` after the
commit (`bff.supply_chain.outbox.enqueue_sends`). Expected failures raise `DecisionError`,
which the GraphQL layer returns as a user error. An order of someone else is answered exactly
like an order that does not exist.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bff.models.commands import CommandType
from bff.models.orders import (
    DecidedBy,
    DeliverySlotOffer,
    Order,
    OrderException,
    OrderExceptionLink,
    OrderReceipt,
    OrderStatus,
)
from bff.orders.queries import could_be_order_no
from bff.orders.status import derive_status, is_open
from bff.supply_chain import commands
from bff.supply_chain.outbox import add_command, new_command_id

__all__ = [
    "COMMENT_MAX_CHARS",
    "RATING_MAX",
    "RATING_MIN",
    "Decision",
    "DecisionError",
    "DecisionErrorCode",
    "choose_delivery_slot",
    "confirm_receipt",
    "resolve_exception",
]

RATING_MIN = 0
RATING_MAX = 10
COMMENT_MAX_CHARS = 1000  # OrderReceipt.comment
# Exceptions no longer concern orders in these states (as ingestion links them).
EXCEPTION_CLOSED = (OrderStatus.CANCELLED, OrderStatus.COMPLETED)
RECEIPT_CONFIRMABLE = (OrderStatus.DELIVERED,)


class DecisionErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    UNKNOWN_SLOT = "UNKNOWN_SLOT"
    UNKNOWN_EXCEPTION = "UNKNOWN_EXCEPTION"
    UNKNOWN_OPTION = "UNKNOWN_OPTION"
    DEADLINE_PASSED = "DEADLINE_PASSED"
    WRONG_STATE = "WRONG_STATE"
    ALREADY_DECIDED = "ALREADY_DECIDED"
    INVALID_RATING = "INVALID_RATING"
    COMMENT_TOO_LONG = "COMMENT_TOO_LONG"


class DecisionError(Exception):
    """An expected refusal: `code` is stable, `field` names the argument at fault (or None)."""

    def __init__(self, code: DecisionErrorCode, field: str | None, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Decision:
    """A recorded decision: the order as it is now, and the command written for it."""

    order: Order
    command_id: UUID


_T = TypeVar("_T")


def _now(now: datetime | None) -> datetime:
    """The decision time, at the millisecond precision the command carries (stored = sent)."""
    moment = now or datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _require_viewer(viewer_id: int | None) -> int:
    if viewer_id is None:
        raise DecisionError(DecisionErrorCode.UNAUTHENTICATED, None, "Sign in to decide on an order.")
    return viewer_id


def _not_found(order_no: str) -> DecisionError:
    return DecisionError(DecisionErrorCode.ORDER_NOT_FOUND, "orderNo", f"No order {order_no!r}.")


async def _locked_order(viewer_id: int, order_no: str) -> Order:
    if not could_be_order_no(order_no):
        raise _not_found(order_no[:80])
    order = await Order.filter(order_no=order_no, user_id=viewer_id).select_for_update().first()
    if order is None:
        raise _not_found(order_no)
    return order


def _lost_race() -> DecisionError:
    return DecisionError(DecisionErrorCode.ALREADY_DECIDED, None, "This was decided a moment ago.")


async def _in_decision(work: Callable[[], Awaitable[_T]]) -> _T:
    """Run `work` in one transaction; a unique violation (the decision or its command exists
    already) means another decision won."""
    try:
        async with in_transaction():
            return await work()
    except IntegrityError:
        raise _lost_race() from None


# ---------------------------------------------------------------- delivery slot


def slot_decision_key(order_no: str, offer: DeliverySlotOffer) -> str:
    """One decision per offer: a newer offer (same row, new source event) is a new question."""
    source_event_id = getattr(offer, "source_event_id", None)  # the FK's id (not declared on the model)
    version = source_event_id if source_event_id is not None else offer.offered_at.isoformat()
    return f"delivery_slot:{order_no}:{version}"


async def choose_delivery_slot(
    viewer_id: int | None, order_no: str, slot_id: str, *, now: datetime | None = None
) -> Decision:
    """The user picks one of the offered delivery slots before the offer's deadline."""
    user_id = _require_viewer(viewer_id)
    moment = _now(now)

    async def work() -> Decision:
        order = await _locked_order(user_id, order_no)
        offer = await DeliverySlotOffer.filter(order_id=order.id).first()
        if offer is None:
            raise DecisionError(
                DecisionErrorCode.WRONG_STATE, "orderNo", "No delivery slots are offered for this order."
            )
        if not is_open(order.status):
            raise DecisionError(
                DecisionErrorCode.WRONG_STATE,
                "orderNo",
                f"The delivery slot cannot be chosen any more: the order is {order.status.value}.",
            )
        if offer.chosen_slot_id is not None:
            raise DecisionError(
                DecisionErrorCode.ALREADY_DECIDED, "slotId", "The delivery slot has already been chosen."
            )
        if moment >= offer.deadline:
            raise DecisionError(
                DecisionErrorCode.DEADLINE_PASSED,
                "slotId",
                "The deadline to choose a delivery slot has passed.",
            )
        if slot_id not in {str(option.get("id")) for option in offer.options}:
            raise DecisionError(
                DecisionErrorCode.UNKNOWN_SLOT, "slotId", f"{slot_id!r} is not one of the offered slots."
            )
        won = await DeliverySlotOffer.filter(
            id=offer.id, offered_at=offer.offered_at, chosen_slot_id__isnull=True, deadline__gt=moment
        ).update(chosen_slot_id=slot_id, decided_by=DecidedBy.USER, decided_at=moment, updated_at=moment)
        if not won:
            raise _lost_race()
        command_id = new_command_id()
        await add_command(
            command_id=command_id,
            command_type=CommandType.DELIVERY_SLOT_CHOSEN,
            decision_key=slot_decision_key(order.order_no, offer),
            order_no=order.order_no,
            payload=commands.delivery_slot_chosen(
                command_id=command_id,
                order_no=order.order_no,
                slot_id=slot_id,
                decided_by=DecidedBy.USER,
                decided_at=moment,
            ),
            now=moment,
        )
        return Decision(order=order, command_id=command_id)

    return await _in_decision(work)


# ---------------------------------------------------------------- exception


def exception_decision_key(exception_id: str, order_no: str) -> str:
    return f"exception:{exception_id}:{order_no}"


async def resolve_exception(
    viewer_id: int | None, order_no: str, exception_id: str, option: str, *, now: datetime | None = None
) -> Decision:
    """The user picks one of an exception's options for one of their orders before its deadline."""
    user_id = _require_viewer(viewer_id)
    moment = _now(now)

    async def work() -> Decision:
        order = await _locked_order(user_id, order_no)
        exception = await OrderException.get_or_none(exception_id=exception_id)
        link = (
            await OrderExceptionLink.get_or_none(order_id=order.id, exception_id=exception.id)
            if exception is not None
            else None
        )
        if exception is None or link is None:
            raise DecisionError(
                DecisionErrorCode.UNKNOWN_EXCEPTION, "exceptionId", "This order has no such exception."
            )
        if order.status in EXCEPTION_CLOSED:
            raise DecisionError(
                DecisionErrorCode.WRONG_STATE,
                "orderNo",
                f"The exception cannot be resolved any more: the order is {order.status.value}.",
            )
        if link.chosen_option is not None:
            raise DecisionError(
                DecisionErrorCode.ALREADY_DECIDED, "option", "This exception has already been resolved."
            )
        if moment >= exception.deadline:
            raise DecisionError(
                DecisionErrorCode.DEADLINE_PASSED,
                "option",
                "The deadline to resolve this exception has passed.",
            )
        if option not in {str(choice.get("code")) for choice in exception.options}:
            raise DecisionError(
                DecisionErrorCode.UNKNOWN_OPTION, "option", f"{option!r} is not one of the offered options."
            )
        won = await OrderExceptionLink.filter(id=link.id, chosen_option__isnull=True).update(
            chosen_option=option, decided_by=DecidedBy.USER, decided_at=moment
        )
        if not won:
            raise _lost_race()
        command_id = new_command_id()
        await add_command(
            command_id=command_id,
            command_type=CommandType.EXCEPTION_RESOLVED,
            decision_key=exception_decision_key(exception.exception_id, order.order_no),
            order_no=order.order_no,
            payload=commands.exception_resolved(
                command_id=command_id,
                exception_id=exception.exception_id,
                order_no=order.order_no,
                option=option,
                decided_by=DecidedBy.USER,
                decided_at=moment,
            ),
            now=moment,
        )
        return Decision(order=order, command_id=command_id)

    return await _in_decision(work)


# ---------------------------------------------------------------- receipt


def receipt_decision_key(order_no: str) -> str:
    return f"receipt:{order_no}"


def _check_rating(rating: int | None) -> None:
    if rating is not None and not RATING_MIN <= rating <= RATING_MAX:
        raise DecisionError(
            DecisionErrorCode.INVALID_RATING,
            "rating",
            f"The rating must be a whole number from {RATING_MIN} to {RATING_MAX}, or left out.",
        )


def _clean_comment(comment: str | None) -> str | None:
    if comment is None or not comment.strip():
        return None
    comment = comment.strip()
    if len(comment) > COMMENT_MAX_CHARS:
        raise DecisionError(
            DecisionErrorCode.COMMENT_TOO_LONG,
            "comment",
            f"The comment has {len(comment)} characters; at most {COMMENT_MAX_CHARS} are kept.",
        )
    return comment


async def confirm_receipt(
    viewer_id: int | None,
    order_no: str,
    rating: int | None = None,
    comment: str | None = None,
    *,
    now: datetime | None = None,
) -> Decision:
    """The user confirms a delivered order arrived (rating 0–10, optional comment): COMPLETED."""
    user_id = _require_viewer(viewer_id)
    _check_rating(rating)
    cleaned = _clean_comment(comment)
    moment = _now(now)

    async def work() -> Decision:
        order = await _locked_order(user_id, order_no)
        if order.status == OrderStatus.COMPLETED or await OrderReceipt.exists(order_id=order.id):
            raise DecisionError(
                DecisionErrorCode.ALREADY_DECIDED, "orderNo", "Receipt of this order is already confirmed."
            )
        if order.status not in RECEIPT_CONFIRMABLE:
            raise DecisionError(
                DecisionErrorCode.WRONG_STATE,
                "orderNo",
                f"Receipt can be confirmed once the order is delivered; it is {order.status.value}.",
            )
        completed = derive_status(order, receipt_confirmed=True)
        won = await Order.filter(id=order.id, status=order.status).update(status=completed, updated_at=moment)
        if not won:
            raise _lost_race()
        # The receipt row is unique per order: a concurrent confirmation fails here.
        await OrderReceipt.create(order_id=order.id, confirmed_at=moment, rating=rating, comment=cleaned)
        order.status = completed
        order.updated_at = moment
        command_id = new_command_id()
        await add_command(
            command_id=command_id,
            command_type=CommandType.RECEIPT_CONFIRMED,
            decision_key=receipt_decision_key(order.order_no),
            order_no=order.order_no,
            payload=commands.receipt_confirmed(
                command_id=command_id, order_no=order.order_no, confirmed_at=moment, rating=rating
            ),
            now=moment,
        )
        return Decision(order=order, command_id=command_id)

    return await _in_decision(work)
