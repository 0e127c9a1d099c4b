"""The node vocabulary of an order's journey, in one place (docs/supply-chain.md).

`NODE_ORDER` (bff/catalog/topics.py, beside each node's topic and title) is the order the
nodes happen in. This module says what follows from it: which nodes are production nodes
(made-to-order and presale orders go through them, stock orders skip them), which carry a
shipment, whether an order is made to order, and which nodes are still ahead of it. The order
tab, the consent prompts, the notice policy and ingestion all ask here, so they agree.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from bff.catalog.topics import NODE_ORDER

# Stock orders skip these; made-to-order (and presale) orders go through them first.
PRODUCTION_NODES: tuple[str, ...] = ("MATERIAL_IN", "PRODUCTION_STARTED", "QC_PASSED")
DELIVERED_NODE = "DELIVERED"
# Nodes from which the courier fields (carrier, trackingNo, estimatedArrival) make sense.
SHIPPED_NODES: tuple[str, ...] = NODE_ORDER[NODE_ORDER.index("OUTBOUND") :]
# On its way: shipped but not delivered yet.
SHIPPING_NODES: tuple[str, ...] = tuple(n for n in SHIPPED_NODES if n != DELIVERED_NODE)
# Order numbers are at most this long (the contract's id limit and Order.order_no's column).
ORDER_NO_MAX_LENGTH = 64

assert NODE_ORDER[: len(PRODUCTION_NODES)] == PRODUCTION_NODES, "production nodes come first"


def node_rank(node: str | None) -> int:
    """The node's position in NODE_ORDER; -1 for no node or one the vocabulary does not know."""
    return NODE_ORDER.index(node) if node in NODE_ORDER else -1


def is_made_to_order(*, presale: bool, known_nodes: Iterable[str]) -> bool:
    """Whether an order goes through the production nodes: a presale order does, and so does
    an order any production node was reported or announced for (`known_nodes`: whatever the
    caller knows of). Until one is known, a non-presale order is taken for a stock order."""
    return presale or any(node in PRODUCTION_NODES for node in known_nodes)


def nodes_ahead(
    current: str | None, *, made_to_order: bool, reached: Collection[str] = ()
) -> tuple[str, ...]:
    """The nodes still to come after `current` (every node when there is none yet), in order:
    production nodes only for a made-to-order order, and none already `reached` (events arrive
    out of order, so a later node may be known before the current one moves)."""
    return tuple(
        node
        for node in NODE_ORDER[node_rank(current) + 1 :]
        if node not in reached and (made_to_order or node not in PRODUCTION_NODES)
    )
