"""Recommendations: co-purchase ("bought next") vs most popular vs an oracle, on held-out purchases.

One seeded data set with a hidden structure: SKUs in categories, popularity following a Zipf law,
and for each SKU a few "successors" (two in its own category, one elsewhere) that its buyers
tend to buy next. Each user's first purchase follows popularity; each next one follows a
successor of the previous purchase with probability ``--follow``, else popularity (never a SKU
the user already owns). Each user's last purchase is held out; the stats are learnt from every
other purchase (bff.offers.recommend.CoPurchaseStats, the code the service runs), and each
method names 1 and 3 SKUs the user does not own:

- most popular: the most bought SKUs the user does not own;
- co-purchase: bff.offers.recommend.recommend, as the service calls it;
- oracle: the true next-purchase distribution given the previous purchase (the generator's own
  probabilities): no method that sees the same history can expect more.

Prints hit rate @1 and @3 (held-out purchase among the SKUs named) and the share of the oracle's
gain over most popular that co-purchase gets.

    PYTHONPATH=. python bench/recommendations.py [--users 20000] [--seed 20261203]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bff.offers import recommend as rec


@dataclass(frozen=True)
class World:
    skus: list[str]
    popularity: list[float]  # normalised
    successors: dict[str, list[tuple[str, float]]]  # weights sum to 1
    follow: float

    def next_distribution(self, last: str, owned: set[str]) -> dict[str, float]:
        """P(next = b | previous purchase, owned), as the generator draws it."""
        probs: dict[str, float] = {}
        for sku, weight in self.successors[last]:
            probs[sku] = probs.get(sku, 0.0) + self.follow * weight
        for sku, weight in zip(self.skus, self.popularity, strict=True):
            probs[sku] = probs.get(sku, 0.0) + (1 - self.follow) * weight
        kept = {sku: p for sku, p in probs.items() if sku not in owned}
        total = sum(kept.values())
        return {sku: p / total for sku, p in kept.items()}


def build_world(rng: random.Random, *, categories: int, per_category: int, follow: float) -> World:
    skus = [f"SKU-{c:02d}-{i:02d}" for c in range(categories) for i in range(per_category)]
    weights = [1 / (rank + 1) for rank in range(len(skus))]
    rng.shuffle(weights)
    total = sum(weights)
    popularity = [w / total for w in weights]
    successors: dict[str, list[tuple[str, float]]] = {}
    for index, sku in enumerate(skus):
        category = index // per_category
        same = [s for s in skus[category * per_category : (category + 1) * per_category] if s != sku]
        other = [s for s in skus if not s.startswith(f"SKU-{category:02d}-")]
        picks = [*rng.sample(same, 2), rng.choice(other)]
        successors[sku] = list(zip(picks, (0.5, 0.3, 0.2), strict=True))
    return World(skus, popularity, successors, follow)


def draw(rng: random.Random, world: World, last: str | None, owned: set[str]) -> str:
    while True:
        if last is not None and rng.random() < world.follow:
            names = [name for name, _ in world.successors[last]]
            weights = [weight for _, weight in world.successors[last]]
            sku: str = rng.choices(names, weights)[0]
        else:
            sku = rng.choices(world.skus, world.popularity)[0]
        if sku not in owned:
            return sku


def histories(rng: random.Random, world: World, users: int) -> list[list[str]]:
    result = []
    for _ in range(users):
        length = rng.randint(2, 8)
        owned: set[str] = set()
        sequence: list[str] = []
        for _ in range(length):
            sku = draw(rng, world, sequence[-1] if sequence else None, owned)
            sequence.append(sku)
            owned.add(sku)
        result.append(sequence)
    return result


@dataclass
class Hits:
    at1: int = 0
    at3: int = 0

    def add(self, named: Sequence[str], truth: str) -> None:
        self.at1 += truth in named[:1]
        self.at3 += truth in named[:3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--categories", type=int, default=20)
    parser.add_argument("--per-category", type=int, default=10)
    parser.add_argument("--follow", type=float, default=0.6, help="share of purchases following a successor")
    args = parser.parse_args()

    started = time.perf_counter()
    rng = random.Random(args.seed)
    world = build_world(rng, categories=args.categories, per_category=args.per_category, follow=args.follow)
    data = histories(rng, world, args.users)

    stats = rec.CoPurchaseStats()
    for sequence in data:
        stats.add_user([[sku] for sku in sequence[:-1]])  # the held-out purchase is never seen
    popular = stats.most_popular()

    methods = {"most popular": Hits(), "co-purchase (Lvyue)": Hits(), "oracle": Hits()}
    for sequence in data:
        history, truth = sequence[:-1], sequence[-1]
        baskets = [[sku] for sku in history]
        methods["most popular"].add(rec.most_popular(stats, baskets, k=3, popular=popular), truth)
        methods["co-purchase (Lvyue)"].add(rec.recommend(stats, baskets, k=3, popular=popular), truth)
        truth_probs = world.next_distribution(history[-1], set(history))
        oracle = sorted(truth_probs, key=lambda sku: (-truth_probs[sku], sku))[:3]
        methods["oracle"].add(oracle, truth)
    seconds = time.perf_counter() - started

    users = len(data)
    print(
        f"{users} users, {len(world.skus)} SKUs in {args.categories} categories, "
        f"{sum(len(s) for s in data)} purchases, follow {args.follow}, seed {args.seed}; {seconds:.1f} s"
    )
    print("held out: each user's last purchase; learnt from all the others")
    print(f"{'method':<22}{'hit@1':>8}{'hit@3':>8}")
    for name, hits in methods.items():
        print(f"{name:<22}{100 * hits.at1 / users:7.1f}%{100 * hits.at3 / users:7.1f}%")
    base, ours, best = methods["most popular"], methods["co-purchase (Lvyue)"], methods["oracle"]
    for label, attr in (("@1", "at1"), ("@3", "at3")):
        gain = getattr(best, attr) - getattr(base, attr)
        share = 100 * (getattr(ours, attr) - getattr(base, attr)) / gain if gain else float("nan")
        print(f"co-purchase gets {share:.0f}% of the oracle's gain over most popular {label}")


if __name__ == "__main__":
    main()
