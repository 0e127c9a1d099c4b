"""The experiments winner rule: how often it crowns a winner that is none, and finds one that is.

Seeded repeated experiments with a holdout and two sent variants, 30-day repurchase as the
outcome (the holdout's true rate 20 %). Two worlds:

- A/A: both variants are no better than the holdout (any winner is a false one);
- A/B: variant ``a`` truly lifts repurchase by 3 points, ``b`` does nothing.

For each number of matured sends per arm, it runs many experiments and prints, side by side,

- naive: the variant with the larger observed rate wins whenever it beats the holdout at all,
- Lvyue: ``bff.notices.experiments.report.decide_winner`` (minimum sample, two-proportion z-test,
  α = 0.05 split over the sent variants) on the real ``VariantResult`` structures,
- oracle: knows the true rates (never wrong in A/A, always ``a`` in A/B),

as the share of experiments that name a false winner (A/A) and that name ``a`` (A/B).

    PYTHONPATH=. python bench/experiments.py [--runs 1000] [--seed 20261203]
"""

from __future__ import annotations

import argparse
import random
import time

from bff.notices.experiments.report import (
    WINNER_RULE,
    Repurchase,
    VariantResult,
    decide_winner,
    two_proportion_test,
)

HOLDOUT_RATE = 0.20
TRUE_LIFT = 0.03
SAMPLES = (100, 200, 1000, 5000)


def arm(name: str, n: int, bought: int, holdout: tuple[int, int] | None) -> VariantResult:
    test = two_proportion_test(bought, n, *holdout) if holdout is not None else None
    windows = (Repurchase(7, n, bought, test), Repurchase(30, n, bought, test))
    return VariantResult(name, holdout is None, n, n, 0, windows)


def binomial(rng: random.Random, n: int, p: float) -> int:
    return sum(1 for _ in range(n) if rng.random() < p)


def run(rng: random.Random, n: int, rate_a: float, rate_b: float) -> tuple[str | None, str | None]:
    """One experiment: (naive winner, Lvyue's winner)."""
    hold = binomial(rng, n, HOLDOUT_RATE)
    a = binomial(rng, n, rate_a)
    b = binomial(rng, n, rate_b)
    best_name, best = max((("a", a), ("b", b)), key=lambda item: item[1])
    naive = best_name if best > hold else None
    variants = (arm("holdout", n, hold, None), arm("a", n, a, (hold, n)), arm("b", n, b, (hold, n)))
    lvyue, _ = decide_winner(variants)
    return naive, lvyue


def pct(count: int, runs: int) -> str:
    return f"{100 * count / runs:6.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261203)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()

    print(
        f"{args.runs} experiments per row, seed {args.seed}; holdout repurchase {HOLDOUT_RATE:.0%}, "
        f"rule: min sample {WINNER_RULE.min_sample}, alpha {WINNER_RULE.alpha} over 2 variants"
    )
    header = (
        f"{'sends/arm':>9} | {'A/A false winner: naive':>23} | {'Lvyue':>7} | {'oracle':>7} || "
        f"{'A/B finds a: naive':>18} | {'Lvyue':>7} | {'oracle':>7}"
    )
    print(header)
    print("-" * len(header))
    for n in SAMPLES:
        false_naive = false_lvyue = 0
        for _ in range(args.runs):
            naive, lvyue = run(rng, n, HOLDOUT_RATE, HOLDOUT_RATE)
            false_naive += naive is not None
            false_lvyue += lvyue is not None
        found_naive = found_lvyue = 0
        for _ in range(args.runs):
            naive, lvyue = run(rng, n, HOLDOUT_RATE + TRUE_LIFT, HOLDOUT_RATE)
            found_naive += naive == "a"
            found_lvyue += lvyue == "a"
        print(
            f"{n:>9} | {pct(false_naive, args.runs):>23} | {pct(false_lvyue, args.runs)} | "
            f"{pct(0, args.runs)} || {pct(found_naive, args.runs):>18} | {pct(found_lvyue, args.runs)} | "
            f"{pct(args.runs, args.runs)}"
        )
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
