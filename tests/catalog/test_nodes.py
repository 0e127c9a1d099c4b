"""The node vocabulary (bff/catalog/nodes.py): what the order tab, consent prompts and the notice
policy each ask about the nodes ahead of an order."""

from __future__ import annotations

from bff.catalog.nodes import PRODUCTION_NODES, is_made_to_order, node_rank, nodes_ahead
from bff.catalog.topics import NODE_ORDER


def test_a_stock_order_not_started_has_every_node_but_the_production_ones_ahead() -> None:
    # given a stock order with no node yet
    # when its nodes ahead are listed
    ahead = nodes_ahead(None, made_to_order=False)
    # then production is skipped and the rest come in order
    assert ahead == ("OUTBOUND", "TRUNK_TRANSIT", "COURIER_ACCEPTED", "OUT_FOR_DELIVERY", "DELIVERED")


def test_a_made_to_order_order_goes_through_production_first() -> None:
    assert nodes_ahead(None, made_to_order=True) == NODE_ORDER
    assert nodes_ahead("MATERIAL_IN", made_to_order=True)[:2] == ("PRODUCTION_STARTED", "QC_PASSED")


def test_nodes_ahead_start_after_the_current_node_and_skip_those_already_reached() -> None:
    # given an order at TRUNK_TRANSIT whose OUT_FOR_DELIVERY arrived early (out of order)
    ahead = nodes_ahead("TRUNK_TRANSIT", made_to_order=False, reached={"OUT_FOR_DELIVERY"})
    # then only what is still to come is ahead
    assert ahead == ("COURIER_ACCEPTED", "DELIVERED")
    assert nodes_ahead("DELIVERED", made_to_order=True) == ()


def test_an_unknown_current_node_counts_as_no_node_yet() -> None:
    assert node_rank("NOT_A_NODE") == -1
    assert node_rank(None) == -1
    assert nodes_ahead("NOT_A_NODE", made_to_order=False) == nodes_ahead(None, made_to_order=False)


def test_an_order_is_made_to_order_when_presale_or_a_production_node_is_known() -> None:
    assert is_made_to_order(presale=True, known_nodes=())
    assert is_made_to_order(presale=False, known_nodes={"OUTBOUND", "QC_PASSED"})
    assert not is_made_to_order(presale=False, known_nodes={"OUTBOUND", "DELIVERED"})
    assert all(node_rank(node) < node_rank("OUTBOUND") for node in PRODUCTION_NODES)
