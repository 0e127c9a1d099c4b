"""GraphQL enums that repeat a domain list by hand must list exactly the domain's values, in order."""

from __future__ import annotations

from bff.catalog.topics import NODE_ORDER
from bff.supply_chain.events import EXCEPTION_KINDS
from schema.orders.types import ExceptionKind, OrderNodeKind


def test_exception_kinds_are_the_supply_chains() -> None:
    assert [kind.value for kind in ExceptionKind] == list(EXCEPTION_KINDS)


def test_order_node_kinds_are_the_catalogs_nodes_in_order() -> None:
    assert [kind.value for kind in OrderNodeKind] == list(NODE_ORDER)
