"""Best send time: a fixed hour vs the population's best hour vs Lvyue's per-user hour vs an oracle.

One seeded population. Each user has a hidden preferred hour (drawn from a mixture of morning,
lunch, evening and anywhere habits) and a spread; their activity at hour h falls off with the
circular distance to the preferred hour. The chance they open a notice sent at h is
``base + amplitude · activity(h)``. Past opens are recorded at hours drawn from the activity
(people open when they are active), as ``recordNoticeOpen`` records them.

For 2, 5 and 20 observed opens per user, the real estimator (bff.notices.timing.profile) and the real
quiet-hours rule (bff.notices.timing.send_time.hour_allowed; everyone has the default 22:00–08:00)
choose each user's hour. Printed: the expected open rate of one notice per user at

- a fixed hour (10:00, the naive baseline),
- the population's best hour (argmax of everyone's recorded opens, outside quiet hours),
- Lvyue's per-user hour (the shrunk profile's best hour),
- the oracle (each user's true best hour outside quiet hours),

and the share of the oracle's uplift over the fixed hour that the population hour and Lvyue get.
Expected open rates are exact for the drawn population (no Bernoulli noise on top).

    PYTHONPATH=. python bench/best_send_time.py [--users 20000] [--seed 20261203]
"""

from __future__ import annotations

import argparse
import math
import random
import time
from dataclasses import dataclass
from datetime import time as clock
from zoneinfo import ZoneInfo

from bff.notices.policy import QuietHours
from bff.notices.timing.profile import HOURS, estimate_profile
from bff.notices.timing.send_time import hour_allowed

ZONE = ZoneInfo("Asia/Shanghai")
QUIET = QuietHours(clock(22, 0), clock(8, 0), ZONE)
FIXED_HOUR = 10
OPENS_OBSERVED = (2, 5, 20)
# (weight, centre hours, or None for anywhere from 07:00 to 23:00)
HABITS: tuple[tuple[float, tuple[int, ...] | None], ...] = (
    (0.35, (19, 20, 21)),
    (0.20, (12, 13)),
    (0.20, (8, 9)),
    (0.25, None),
)


@dataclass(frozen=True)
class User:
    activity: tuple[float, ...]  # 0..1 per hour, 1 at the preferred hour
    base: float
    amplitude: float

    def open_chance(self, hour: int) -> float:
        return self.base + self.amplitude * self.activity[hour]


def circular_distance(a: int, b: int) -> int:
    d = abs(a - b) % HOURS
    return min(d, HOURS - d)


def draw_user(rng: random.Random) -> User:
    weights = [w for w, _ in HABITS]
    _, centres = rng.choices(HABITS, weights=weights)[0]
    preferred = rng.choice(centres) if centres is not None else rng.randrange(7, 24)
    spread = rng.uniform(1.0, 2.5)
    activity = tuple(
        math.exp(-(circular_distance(h, preferred) ** 2) / (2 * spread**2)) for h in range(HOURS)
    )
    return User(activity=activity, base=rng.uniform(0.05, 0.15), amplitude=rng.uniform(0.20, 0.40))


def observed_opens(user: User, count: int, rng: random.Random) -> list[int]:
    histogram = [0] * HOURS
    for hour in rng.choices(range(HOURS), weights=user.activity, k=count):
        histogram[hour] += 1
    return histogram


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def share(value: float, fixed: float, oracle: float) -> str:
    return f"{100 * (value - fixed) / (oracle - fixed):6.1f}%" if oracle > fixed else "     -"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261203)
    args = parser.parse_args()

    started = time.perf_counter()
    rng = random.Random(args.seed)
    users = [draw_user(rng) for _ in range(args.users)]
    allowed = [h for h in range(HOURS) if hour_allowed(h, QUIET, ZONE)]
    fixed = mean([u.open_chance(FIXED_HOUR) for u in users])
    oracle = mean([max(u.open_chance(h) for h in allowed) for u in users])

    print(
        f"{args.users} users, seed {args.seed}, quiet hours 22:00-08:00 for everyone, "
        f"fixed hour {FIXED_HOUR}:00; expected open rate of one notice per user"
    )
    header = (
        f"{'opens seen':>10} | {'fixed 10:00':>11} | {'population':>15} | {'Lvyue per-user':>14} | "
        f"{'oracle':>7} | {'population share':>16} | {'Lvyue share':>11}"
    )
    print(header)
    print("-" * len(header))
    for count in OPENS_OBSERVED:
        histories = [observed_opens(u, count, rng) for u in users]
        population = [sum(h[hour] for h in histories) for hour in range(HOURS)]
        best_population = max(allowed, key=lambda hour: population[hour])
        at_population = mean([u.open_chance(best_population) for u in users])
        chosen: list[float] = []
        for user, history in zip(users, histories, strict=True):
            hour = estimate_profile(history, population).best_hour(lambda h: h in allowed)
            chosen.append(user.open_chance(hour if hour is not None else FIXED_HOUR))
        lvyue = mean(chosen)
        print(
            f"{count:>10} | {100 * fixed:10.2f}% | {100 * at_population:8.2f}% ({best_population:02d}h) | "
            f"{100 * lvyue:13.2f}% | {100 * oracle:6.2f}% | {share(at_population, fixed, oracle):>16} | "
            f"{share(lvyue, fixed, oracle):>11}"
        )
    print(f"({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
