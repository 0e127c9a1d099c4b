"""DataLoaders of the order types, built once per request (`Context.loader`), keyed by order id.

Each loader turns the order ids a page asks for into one query (bff.orders.queries); the keys
are always ids of orders already scoped to the viewer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from strawberry.dataloader import DataLoader

from bff.models.orders import (
    DeliverySlotOffer,
    OrderExceptionLink,
    OrderItem,
    OrderNodeEvent,
    OrderNodeExpectation,
    OrderReceipt,
)
from bff.orders import queries
from schema.context import Info

V = TypeVar("V")


def _many(
    fetch: Callable[[Sequence[int]], Awaitable[Mapping[int, list[V]]]],
) -> Callable[[list[int]], Awaitable[list[list[V]]]]:
    async def load(keys: list[int]) -> list[list[V]]:
        found = await fetch(keys)
        return [found.get(key, []) for key in keys]

    return load


def _one(
    fetch: Callable[[Sequence[int]], Awaitable[Mapping[int, V]]],
) -> Callable[[list[int]], Awaitable[list[V | None]]]:
    async def load(keys: list[int]) -> list[V | None]:
        found = await fetch(keys)
        return [found.get(key) for key in keys]

    return load


def items(info: Info) -> DataLoader[int, list[OrderItem]]:
    return info.context.loader("orders.items", lambda: DataLoader(_many(queries.items_by_order)))  # type: ignore[no-any-return]


def timeline(info: Info) -> DataLoader[int, list[OrderNodeEvent]]:
    return info.context.loader("orders.timeline", lambda: DataLoader(_many(queries.timelines_by_order)))  # type: ignore[no-any-return]


def expectations(info: Info) -> DataLoader[int, list[OrderNodeExpectation]]:
    return info.context.loader(  # type: ignore[no-any-return]
        "orders.expectations", lambda: DataLoader(_many(queries.expectations_by_order))
    )


def slot_offer(info: Info) -> DataLoader[int, DeliverySlotOffer | None]:
    return info.context.loader("orders.slot_offer", lambda: DataLoader(_one(queries.slot_offers_by_order)))  # type: ignore[no-any-return]


def exception_links(info: Info) -> DataLoader[int, list[OrderExceptionLink]]:
    return info.context.loader(  # type: ignore[no-any-return]
        "orders.exception_links", lambda: DataLoader(_many(queries.exception_links_by_order))
    )


def receipt(info: Info) -> DataLoader[int, OrderReceipt | None]:
    return info.context.loader("orders.receipt", lambda: DataLoader(_one(queries.receipts_by_order)))  # type: ignore[no-any-return]
