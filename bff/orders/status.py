"""Order status follows the supply chain's events and the user's receipt, in one place.

PENDING_PAYMENT → PAID → IN_PRODUCTION → SHIPPED → DELIVERED → COMPLETED (after the user confirms
receipt); CANCELLED at any point. The status is derived from what is known about the order
rather than moved step by step, so events arriving out of order still land on the right status.
"""

from __future__ import annotations

from bff.catalog.nodes import DELIVERED_NODE, PRODUCTION_NODES, SHIPPING_NODES
from bff.models.orders import Order, OrderStatus


def derive_status(order: Order, *, receipt_confirmed: bool) -> OrderStatus:
    """The status `order` should have given its projected fields and whether receipt is confirmed."""
    if order.cancelled_at is not None:
        return OrderStatus.CANCELLED
    if receipt_confirmed:
        return OrderStatus.COMPLETED
    node = order.current_node
    if node == DELIVERED_NODE:
        return OrderStatus.DELIVERED
    if node in SHIPPING_NODES:
        return OrderStatus.SHIPPED
    if node in PRODUCTION_NODES or order.presale_stage is not None:
        return OrderStatus.IN_PRODUCTION
    if order.paid_at is not None:
        return OrderStatus.PAID
    return OrderStatus.PENDING_PAYMENT


def is_open(status: OrderStatus) -> bool:
    """Whether supply-chain exceptions can still affect an order with this status."""
    return status not in (OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.CANCELLED)
