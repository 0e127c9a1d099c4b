"""The order tab's decisions: chooseDeliverySlot, resolveException, confirmReceipt.

Each resolver calls one decision service (`bff.orders.decisions`), which records the decision
and its outbox command in one transaction; after the commit the command's send job is queued.
Refusals come back as `userErrors` next to the order as it stands (null when the order is not
the viewer's or does not exist, exactly like `order(orderNo)`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry

from bff.orders import decisions, queries
from bff.orders.decisions import Decision, DecisionError, DecisionErrorCode
from bff.supply_chain.outbox import enqueue_sends
from schema.context import Info
from schema.errors import UserError
from schema.orders.types import OrderType

# Refusals that say nothing about an order of the viewer's: no order goes with them.
_NO_ORDER = (DecisionErrorCode.UNAUTHENTICATED, DecisionErrorCode.ORDER_NOT_FOUND)


@strawberry.type
class ChooseDeliverySlotPayload:
    order: OrderType | None
    user_errors: list[UserError]


@strawberry.type
class ResolveExceptionPayload:
    order: OrderType | None
    user_errors: list[UserError]


@strawberry.type
class ConfirmReceiptPayload:
    order: OrderType | None
    user_errors: list[UserError]


async def _decide(
    info: Info,
    order_no: str,
    decide: Callable[[], Awaitable[Decision]],
    *,
    focus_exception_id: str | None = None,
) -> tuple[OrderType | None, list[UserError]]:
    """Run a decision; the order in the answer shows ``focus_exception_id`` as its exception."""
    try:
        decision = await decide()
    except DecisionError as refused:
        error = UserError(code=refused.code.value, field=refused.field, message=refused.message)
        viewer_id = info.context.viewer_id
        if refused.code in _NO_ORDER or viewer_id is None:
            return None, [error]
        order = await queries.get_order(viewer_id, order_no)
        if order is None:
            return None, [error]
        return OrderType.from_model(info, order, focus_exception_id=focus_exception_id), [error]
    # After the commit: a lost enqueue is only logged, the dispatcher finds the command later.
    await enqueue_sends(info.context.resources.arq, [decision.command_id])
    return OrderType.from_model(info, decision.order, focus_exception_id=focus_exception_id), []


@strawberry.type
class OrderMutations:
    # Choose one of the offered delivery slots before the deadline.
    @strawberry.mutation
    async def choose_delivery_slot(
        self, info: Info, order_no: str, slot_id: strawberry.ID
    ) -> ChooseDeliverySlotPayload:
        order, errors = await _decide(
            info,
            order_no,
            lambda: decisions.choose_delivery_slot(info.context.viewer_id, order_no, str(slot_id)),
        )
        return ChooseDeliverySlotPayload(order=order, user_errors=errors)

    # Choose how an order's exception is handled before its deadline. The answer's
    # `order.exception` is the exception named by `exceptionId` (an order may have several).
    @strawberry.mutation
    async def resolve_exception(
        self, info: Info, order_no: str, exception_id: strawberry.ID, option: str
    ) -> ResolveExceptionPayload:
        order, errors = await _decide(
            info,
            order_no,
            lambda: decisions.resolve_exception(info.context.viewer_id, order_no, str(exception_id), option),
            focus_exception_id=str(exception_id),
        )
        return ResolveExceptionPayload(order=order, user_errors=errors)

    # Confirm a delivered order arrived, with an optional 0–10 rating.
    @strawberry.mutation
    async def confirm_receipt(
        self, info: Info, order_no: str, rating: int | None = None, comment: str | None = None
    ) -> ConfirmReceiptPayload:
        order, errors = await _decide(
            info,
            order_no,
            lambda: decisions.confirm_receipt(info.context.viewer_id, order_no, rating, comment),
        )
        return ConfirmReceiptPayload(order=order, user_errors=errors)
