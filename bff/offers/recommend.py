"""The one recommended product of a lifecycle notice or offer: co-purchase ("bought next").

``CoPurchaseStats`` counts, for each SKU A, how many users bought SKU B in the purchase right
after one that held A (each user counts once per pair), and how many users bought each SKU.
``recommend`` scores every B for a user by what their own purchases lead to, the latest purchase
weighing most:

    score(B) = Σ over the user's purchases p (latest first, rank r = 0, 1, ...)
                 DECAY^r · Σ over A in p of next(A → B) / buyers(A)

i.e. a recency-weighted sum of estimated P(next = B | bought A). SKUs the user owns or dismissed
are never recommended; when co-purchase says nothing (a new user, a rare SKU) the most popular
remaining SKUs fill in. bench/recommendations.py measures it against "most popular" on held-out
purchases (docs/offers.md has the figures).

Pure: no database, no Redis (bff/offers/store.py loads and keeps the stats).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise

# Weight of each older purchase relative to the one after it.
DECAY = 0.5


@dataclass
class CoPurchaseStats:
    next_counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    buyers: Counter[str] = field(default_factory=Counter)

    def add_user(self, baskets: Sequence[Collection[str]]) -> None:
        """Count one user's purchases (baskets of SKUs, oldest first)."""
        for a, b in next_pairs(baskets):
            self.next_counts[a][b] += 1
        for sku in {sku for basket in baskets for sku in basket}:
            self.buyers[sku] += 1

    def merge(self, other: CoPurchaseStats) -> None:
        for a, counts in other.next_counts.items():
            self.next_counts[a].update(counts)
        self.buyers.update(other.buyers)

    def most_popular(self) -> list[str]:
        return sorted(self.buyers, key=lambda sku: (-self.buyers[sku], sku))


def next_pairs(baskets: Sequence[Collection[str]]) -> set[tuple[str, str]]:
    """(A, B) for B bought in the purchase right after one holding A (B not in that one)."""
    pairs: set[tuple[str, str]] = set()
    for before, after in pairwise(baskets):
        held = set(before)
        pairs.update((a, b) for a in held for b in after if b not in held)
    return pairs


def baskets_of(purchases: Iterable[tuple[str, datetime]]) -> list[list[str]]:
    """(SKU, purchased at) → baskets of SKUs bought at the same moment, oldest first."""
    by_moment: dict[datetime, list[str]] = defaultdict(list)
    for sku, moment in purchases:
        if sku not in by_moment[moment]:
            by_moment[moment].append(sku)
    return [sorted(by_moment[moment]) for moment in sorted(by_moment)]


def scores(
    stats: CoPurchaseStats, baskets: Sequence[Collection[str]], skip: Collection[str]
) -> dict[str, float]:
    scored: dict[str, float] = defaultdict(float)
    for rank, basket in enumerate(reversed(baskets)):
        weight = DECAY**rank
        for a in basket:
            bought = stats.buyers.get(a, 0)
            if bought <= 0:
                continue
            for b, count in stats.next_counts.get(a, Counter()).items():
                if b not in skip:
                    scored[b] += weight * count / bought
    return scored


def recommend(
    stats: CoPurchaseStats,
    baskets: Sequence[Collection[str]],
    *,
    excluded: Collection[str] = (),
    k: int = 1,
    popular: Sequence[str] | None = None,
) -> list[str]:
    """Up to ``k`` SKUs for a user whose purchases are ``baskets`` (oldest first): co-purchase
    first, then the most popular; never one the user bought or ``excluded`` (dismissed)."""
    skip = {sku for basket in baskets for sku in basket} | set(excluded)
    scored = scores(stats, baskets, skip)
    ranked = sorted(scored, key=lambda sku: (-scored[sku], -stats.buyers.get(sku, 0), sku))[:k]
    if len(ranked) < k:
        for sku in popular if popular is not None else stats.most_popular():
            if sku not in skip and sku not in ranked:
                ranked.append(sku)
                if len(ranked) == k:
                    break
    return ranked


def most_popular(
    stats: CoPurchaseStats,
    baskets: Sequence[Collection[str]],
    *,
    k: int = 1,
    popular: Sequence[str] | None = None,
) -> list[str]:
    """The baseline: the ``k`` most bought SKUs the user has not bought."""
    owned = {sku for basket in baskets for sku in basket}
    return [sku for sku in (popular if popular is not None else stats.most_popular()) if sku not in owned][:k]


def successor(
    stats: CoPurchaseStats,
    sku_code: str,
    *,
    category_of: Mapping[str, str | None],
    excluded: Collection[str] = (),
) -> str | None:
    """What the buyers of ``sku_code`` most often bought next in its own category (an upgrade),
    not ``excluded`` (owned or dismissed); None when nobody did."""
    category = category_of.get(sku_code)
    if category is None:
        return None
    candidates = [
        (count, b)
        for b, count in stats.next_counts.get(sku_code, Counter()).items()
        if b not in excluded and b != sku_code and category_of.get(b) == category
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda item: (-item[0], item[1]))[1]
