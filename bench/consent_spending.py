"""Spend consent where it matters: the reservation rule vs first come, first served vs an oracle.

One seeded run of bff.notices.simulation (the real policy decides every notice) on the bundled
templates, and on a layout where one template carries every order topic (the hardest case: all
of them compete for the same units). Prints, for each, the high-priority notices delivered
(priority >= 80: exception, delivery slot, out for delivery, delivered) and all notices delivered.

Then the same users again with lifecycle notices competing (replenishment reminders, maintenance,
offers at random times, decided by the same policy with the weekly limit), on the bundled
templates, the one-template layout, and a layout where one template carries every order topic AND
every lifecycle and member topic (the hardest case): the high-priority order notices delivered
without and with them, the lifecycle notices delivered, and the exceptions left without a unit a
lifecycle notice took while their order was open.

    PYTHONPATH=. python bench/consent_spending.py [--users 5000] [--seed 20261120]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from bff.catalog.templates_file import load_templates_file
from bff.notices.simulation import (
    HIGH_PRIORITY,
    SimConfig,
    SimResult,
    Tally,
    all_order_topics_on_one_template,
    order_and_lifecycle_topics_on_one_template,
    simulate,
    template_map,
)


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def report(title: str, result: SimResult, seconds: float) -> None:
    print(f"\n{title}")
    print(
        f"  {result.users} users, {result.orders} orders, {result.notices} notices wanted "
        f"({result.high_wanted} high priority, >= {HIGH_PRIORITY}); {seconds:.1f} s"
    )
    print(f"  {'':28}{'high-priority delivered':>24}{'of oracle':>11}{'all delivered':>15}{'of oracle':>11}")
    oracle = result.oracle
    for name, tally in (
        ("rule (keep units for ahead)", result.rule),
        ("first come, first served", result.fcfs),
        ("oracle (knows the future)", oracle),
    ):
        print(
            f"  {name:28}{tally.high:>24}{share(tally.high, oracle.high):>11}"
            f"{tally.total:>15}{share(tally.total, oracle.total):>11}"
        )
    saved = sum(v for k, v in result.rule_reasons.items() if k == "SAVED_FOR_HIGHER_PRIORITY")
    print(f"  the rule kept a unit for something more important {saved} times")


def report_competition(title: str, alone: SimResult, competing: SimResult, seconds: float) -> None:
    print(f"\n{title}")
    print(
        f"  {competing.lifecycle_wanted} lifecycle notices wanted besides the orders' "
        f"{alone.notices}; {seconds:.1f} s"
    )
    print(
        f"  {'':28}{'high-priority delivered':>24}{'with lifecycle':>16}{'lifecycle delivered':>21}"
        f"{'exceptions starved':>20}"
    )
    rows: tuple[tuple[str, Tally, Tally], ...] = (
        ("rule (keep units for ahead)", alone.rule, competing.rule),
        ("first come, first served", alone.fcfs, competing.fcfs),
        ("oracle (knows the future)", alone.oracle, competing.oracle),
    )
    for name, without, with_lifecycle in rows:
        starved = "-" if name.startswith("oracle") else str(with_lifecycle.exceptions_starved)
        print(
            f"  {name:28}{without.high:>24}{with_lifecycle.high:>16}{with_lifecycle.lifecycle:>21}"
            f"{starved:>20}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=SimConfig.users)
    parser.add_argument("--seed", type=int, default=SimConfig.seed)
    args = parser.parse_args()
    config = SimConfig(users=args.users, seed=args.seed)
    templates = load_templates_file()
    print(
        f"seed {config.seed}: 1–{config.max_orders} orders per user, "
        f"0–{config.max_units} units per template, "
        f"{config.topic_off_p:.0%} of switchable topics off, {config.made_to_order_p:.0%} made to order, "
        f"{config.slot_p:.0%} asking for a delivery slot, {config.exception_p:.0%} with an exception "
        f"({config.cancel_after_exception_p:.0%} of those cancelled)"
    )
    for title, layout in (
        ("bundled templates (bff/data/templates.toml)", template_map(templates)),
        ("one template carries every order topic", all_order_topics_on_one_template(templates)),
    ):
        started = time.perf_counter()
        result = simulate(config, layout)
        report(title, result, time.perf_counter() - started)

    competing_config = replace(config, lifecycle=True)
    shortest, longest = competing_config.replenishment_cycle_days
    print(
        f"\nwith lifecycle notices competing over {competing_config.lifecycle_days} days: "
        f"{competing_config.replenishing_p:.0%} of users get a replenishment reminder every "
        f"{shortest:.0f}–{longest:.0f} "
        f"days, {competing_config.maintenance_p:.0%} a maintenance item, 0–{competing_config.max_offers} "
        f"offers; weekly limit {competing_config.weekly_limit}"
    )
    for title, layout in (
        ("bundled templates", template_map(templates)),
        ("one template carries every order topic", all_order_topics_on_one_template(templates)),
        (
            "one template carries every order, lifecycle and member topic",
            order_and_lifecycle_topics_on_one_template(templates),
        ),
    ):
        started = time.perf_counter()
        alone = simulate(config, layout)
        competing = simulate(competing_config, layout)
        report_competition(title, alone, competing, time.perf_counter() - started)


if __name__ == "__main__":
    main()
