"""Order reads: `order(orderNo)` at the root and `viewer.orders` (resolved here, mounted on Viewer)."""

from __future__ import annotations

import strawberry

from bff.models.orders import OrderStatus
from bff.orders import queries
from schema.context import Info, as_viewer
from schema.errors import PublicError
from schema.orders.types import OrderConnectionType, OrderType


async def viewer_orders(
    info: Info, *, first: int, after: str | None, status: OrderStatus | None
) -> OrderConnectionType:
    """The signed-in user's orders, newest first (the `orders` field of `Viewer`)."""

    async def orders_of(viewer_id: int) -> OrderConnectionType:
        try:
            page = await queries.list_orders(viewer_id, first=first, after=after, status=status)
        except queries.PageRequestError as exc:
            raise PublicError(str(exc)) from None
        return OrderConnectionType.from_page(info, page)

    # Viewer is only resolved for a signed-in user; never widen by accident.
    return await as_viewer(info, orders_of, signed_out=PublicError("sign in to see orders"))


@strawberry.type
class OrderQueries:
    # One of the viewer's orders; null if missing or not the viewer's.
    @strawberry.field
    async def order(self, info: Info, order_no: str) -> OrderType | None:
        async def order_of(viewer_id: int) -> OrderType | None:
            order = await queries.get_order(viewer_id, order_no)
            return OrderType.from_model(info, order) if order else None

        return await as_viewer(info, order_of, signed_out=None)
