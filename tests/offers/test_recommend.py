"""The co-purchase recommender (bff/offers/recommend.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bff.offers import recommend as rec

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def stats_of(*users: list[list[str]]) -> rec.CoPurchaseStats:
    stats = rec.CoPurchaseStats()
    for baskets in users:
        stats.add_user(baskets)
    return stats


def test_pairs_are_what_was_bought_in_the_very_next_purchase() -> None:
    assert rec.next_pairs([["A"], ["B", "C"], ["D"]]) == {("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")}
    # buying A again is not "bought next"
    assert rec.next_pairs([["A"], ["A", "B"]]) == {("A", "B")}


def test_each_user_counts_once_per_pair() -> None:
    stats = stats_of([["A"], ["B"], ["A"], ["B"]], [["A"], ["B"]])
    assert stats.next_counts["A"]["B"] == 2
    assert stats.buyers == {"A": 2, "B": 2}


def test_buyers_of_the_same_sku_say_what_comes_next_not_what_is_most_popular() -> None:
    # given many buyers of P (popular), and buyers of A who then bought B
    stats = stats_of(*([["P"]] for _ in range(50)), *([["A"], ["B"]] for _ in range(5)), [["A"], ["P"]])

    # then a user who bought A is recommended B; the most-popular baseline says P
    assert rec.recommend(stats, [["A"]]) == ["B"]
    assert rec.most_popular(stats, [["A"]]) == ["P"]


def test_recommendations_never_name_what_the_user_owns_or_dismissed() -> None:
    # given A's buyers went on to B (most), C, then D
    stats = stats_of(*([["A"], ["B"]] for _ in range(5)), *([["A"], ["C"]] for _ in range(3)), [["A"], ["D"]])

    # when the user owns A and B, and dismissed C
    picks = rec.recommend(stats, [["A"], ["B"]], excluded={"C"}, k=3)

    # then neither owned B nor dismissed C is named; D is
    assert picks[0] == "D"
    assert not {"A", "B", "C"} & set(picks)


def test_with_no_co_purchase_evidence_the_most_popular_unowned_fill_in() -> None:
    stats = stats_of([["P"]], [["P"]], [["Q"]])
    assert rec.recommend(stats, [["NEW"]], k=2) == ["P", "Q"]
    assert rec.recommend(stats, [["NEW"]], excluded={"P"}, k=2) == ["Q"]


def test_the_latest_purchase_weighs_more_than_older_ones() -> None:
    # given A leads to X and B leads to Y, equally often
    stats = stats_of(*([["A"], ["X"]] for _ in range(4)), *([["B"], ["Y"]] for _ in range(4)))
    # then a user who bought A long ago and B lately is recommended Y, and the other way round X
    assert rec.recommend(stats, [["A"], ["B"]]) == ["Y"]
    assert rec.recommend(stats, [["B"], ["A"]]) == ["X"]


def test_purchases_at_the_same_moment_are_one_basket_oldest_first() -> None:
    purchases = [("B", T0 + timedelta(days=3)), ("A", T0), ("C", T0 + timedelta(days=3))]
    assert rec.baskets_of(purchases) == [["A"], ["B", "C"]]


def test_a_successor_is_the_most_bought_next_in_the_same_category_and_not_excluded() -> None:
    stats = stats_of(
        *([["A1"], ["FILTER"]] for _ in range(9)), *([["A1"], ["A2"]] for _ in range(3)), [["A1"], ["A3"]]
    )
    category = {"A1": "净水器", "A2": "净水器", "A3": "净水器", "FILTER": "滤芯"}
    assert rec.successor(stats, "A1", category_of=category) == "A2"
    assert rec.successor(stats, "A1", category_of=category, excluded={"A2"}) == "A3"
    assert rec.successor(stats, "A1", category_of=category, excluded={"A2", "A3"}) is None
    assert rec.successor(stats, "A1", category_of={}) is None
