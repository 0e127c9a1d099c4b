"""Results of an experiment per variant, the lift over the holdout, and the winner rule.

``experiment_report(key, now=...)`` reads the experiment's assignments and answers, per variant:

- ``assigned``: notices assigned to it;
- ``sends``: notices that went out (SENT); for the holdout, the notices it withheld
  (EXPERIMENT_HOLDOUT): those would have been sent, so both sides count the same users;
- ``opens`` and ``open_rate`` (opens / sends; the holdout has none);
- repurchase within 7 and 30 days: an order of the user containing the notice's SKU placed within
  the window after the send (for the holdout: after the decision that withheld it). Only sends
  whose window has fully passed by ``now`` count, so a young experiment is not biased low;
- per window, the lift over the holdout (difference of repurchase rates) with a two-sided pooled
  two-proportion z-test.

The winner rule (``WINNER_RULE``): a variant can win once it and the holdout each have at least
``min_sample`` matured sends in the 30-day window; it wins if its 30-day repurchase rate beats
the holdout's with p < ``alpha`` / (number of sent variants) (Bonferroni: every variant is tested
against the same holdout). Among several such variants the largest lift wins; otherwise there is
no winner yet.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from bff.models.experiments import ExperimentAssignment
from bff.models.notices import Notice, NoticeOpen, NoticeStatus
from bff.models.orders import OrderItem
from bff.notices.experiments.definitions import ExperimentsFile
from bff.notices.reasons import Reason

WINDOWS_DAYS = (7, 30)
_CHUNK = 500


@dataclass(frozen=True)
class WinnerRule:
    min_sample: int = 200  # matured sends per arm in the 30-day window
    alpha: float = 0.05  # family-wise significance level, split over the sent variants
    window_days: int = 30


WINNER_RULE = WinnerRule()


@dataclass(frozen=True)
class ProportionTest:
    lift: float  # p_variant − p_holdout
    z: float
    p_value: float  # two-sided


def two_proportion_test(successes_a: int, n_a: int, successes_b: int, n_b: int) -> ProportionTest | None:
    """Pooled two-proportion z-test of a against b; None when either side is empty or the pooled
    rate is 0 or 1 (no variance: nothing to test)."""
    if n_a <= 0 or n_b <= 0:
        return None
    p_a, p_b = successes_a / n_a, successes_b / n_b
    pooled = (successes_a + successes_b) / (n_a + n_b)
    if pooled <= 0.0 or pooled >= 1.0:
        return None
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = (p_a - p_b) / se
    return ProportionTest(lift=p_a - p_b, z=z, p_value=math.erfc(abs(z) / math.sqrt(2)))


@dataclass(frozen=True)
class Repurchase:
    window_days: int
    matured: int  # sends whose window has passed
    repurchased: int
    lift: ProportionTest | None  # None for the holdout, or nothing to test

    @property
    def rate(self) -> float | None:
        return self.repurchased / self.matured if self.matured else None


@dataclass(frozen=True)
class VariantResult:
    name: str
    holdout: bool
    assigned: int
    sends: int
    opens: int
    repurchase: tuple[Repurchase, ...]

    @property
    def open_rate(self) -> float | None:
        return self.opens / self.sends if self.sends and not self.holdout else None

    def window(self, days: int) -> Repurchase:
        return next(r for r in self.repurchase if r.window_days == days)


@dataclass(frozen=True)
class ExperimentReport:
    key: str
    topic: str
    variants: tuple[VariantResult, ...]
    winner: str | None
    why: str  # the winner rule's verdict, in words


@dataclass
class _Exposure:
    notice_id: int
    variant: str
    holdout: bool
    user_id: int
    sku_code: str | None
    at: datetime
    opened: bool = False


async def experiment_report(
    key: str, experiments: ExperimentsFile, *, now: datetime, rule: WinnerRule = WINNER_RULE
) -> ExperimentReport:
    """The report of experiment ``key`` (see the module docstring); ValueError for an unknown key."""
    experiment = experiments.by_key(key)
    if experiment is None:
        raise ValueError(f"no experiment {key!r} in the experiments file")
    rows = await ExperimentAssignment.filter(experiment=key).order_by("id")
    assigned: dict[str, int] = defaultdict(int)
    for row in rows:
        assigned[row.variant] += 1
    exposures = await _exposures(rows)
    await _mark_opens(exposures)
    bought = await _repurchases(exposures, now)

    results: dict[str, VariantResult] = {}
    holdout_name = experiment.holdout.name
    names = [v.name for v in experiment.variants] + sorted(
        {r.variant for r in rows} - {v.name for v in experiment.variants}
    )
    counts: dict[str, dict[int, tuple[int, int]]] = {}
    for name in names:
        mine = [(i, e) for i, e in enumerate(exposures) if e.variant == name]
        counts[name] = {}
        for days in WINDOWS_DAYS:
            ripe = [i for i, e in mine if e.at + timedelta(days=days) <= now]
            counts[name][days] = (len(ripe), sum(1 for i in ripe if days in bought.get(i, ())))
    for name in names:
        mine_list = [e for e in exposures if e.variant == name]
        is_holdout = name == holdout_name
        windows = []
        for days in WINDOWS_DAYS:
            matured, repurchased = counts[name][days]
            test = None
            if not is_holdout:
                h_matured, h_repurchased = counts[holdout_name][days]
                test = two_proportion_test(repurchased, matured, h_repurchased, h_matured)
            windows.append(Repurchase(days, matured, repurchased, test))
        results[name] = VariantResult(
            name=name,
            holdout=is_holdout,
            assigned=assigned.get(name, 0),
            sends=len(mine_list),
            opens=sum(1 for e in mine_list if e.opened),
            repurchase=tuple(windows),
        )
    winner, why = decide_winner(tuple(results.values()), rule)
    return ExperimentReport(key, str(experiment.topic), tuple(results.values()), winner, why)


def decide_winner(
    variants: tuple[VariantResult, ...], rule: WinnerRule = WINNER_RULE
) -> tuple[str | None, str]:
    """The winner rule of the module docstring: (winner or None, why in words)."""
    holdout = next((v for v in variants if v.holdout), None)
    sent = [v for v in variants if not v.holdout]
    if holdout is None or not sent:
        return None, "no holdout or no sent variant"
    if holdout.window(rule.window_days).matured < rule.min_sample:
        return None, f"the holdout has fewer than {rule.min_sample} matured sends"
    threshold = rule.alpha / len(sent)
    candidates = []
    for variant in sent:
        window = variant.window(rule.window_days)
        if window.matured < rule.min_sample or window.lift is None:
            continue
        if window.lift.lift > 0 and window.lift.p_value < threshold:
            candidates.append((window.lift.lift, variant.name))
    if not candidates:
        return (
            None,
            f"no variant with {rule.min_sample}+ matured sends beats the holdout at p < {threshold:.4g}",
        )
    lift, name = max(candidates)
    return (
        name,
        f"{name}: {rule.window_days}-day repurchase +{lift:.2%} over the holdout at p < {threshold:.4g}",
    )


async def _exposures(rows: list[ExperimentAssignment]) -> list[_Exposure]:
    """Sent notices of the variants, withheld notices of the holdout, with the time that counts."""
    exposures: list[_Exposure] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        notices = {
            int(notice_id): (status, reason, sent_at)
            for notice_id, status, reason, sent_at in await Notice.filter(
                id__in=[r.notice_id for r in chunk]
            ).values_list("id", "status", "reason", "sent_at")
        }
        for row in chunk:
            found = notices.get(row.notice_id)
            if found is None:
                continue
            status, reason, sent_at = found
            if row.holdout and reason == Reason.EXPERIMENT_HOLDOUT:
                exposures.append(
                    _Exposure(row.notice_id, row.variant, True, row.user_id, row.sku_code, row.assigned_at)
                )
            elif not row.holdout and status == NoticeStatus.SENT and sent_at is not None:
                exposures.append(
                    _Exposure(row.notice_id, row.variant, False, row.user_id, row.sku_code, sent_at)
                )
    return exposures


async def _mark_opens(exposures: list[_Exposure]) -> None:
    sent = [e for e in exposures if not e.holdout]
    for start in range(0, len(sent), _CHUNK):
        chunk = sent[start : start + _CHUNK]
        rows = await NoticeOpen.filter(notice_id__in=[e.notice_id for e in chunk]).values_list("notice_id")
        opened = {int(row[0]) for row in rows}
        for exposure in chunk:
            exposure.opened = exposure.notice_id in opened


async def _repurchases(exposures: list[_Exposure], now: datetime) -> dict[int, set[int]]:
    """exposure index → the windows (days) within which the user ordered the notice's SKU."""
    wanted = [(i, e) for i, e in enumerate(exposures) if e.sku_code]
    found: dict[int, set[int]] = defaultdict(set)
    longest = timedelta(days=max(WINDOWS_DAYS))
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        earliest = min(e.at for _, e in chunk)
        rows = await OrderItem.filter(
            order__user_id__in=sorted({e.user_id for _, e in chunk}),
            sku_code__in=sorted({str(e.sku_code) for _, e in chunk}),
            order__placed_at__gt=earliest,
            order__placed_at__lte=min(now, max(e.at for _, e in chunk) + longest),
        ).values_list("order__user_id", "sku_code", "order__placed_at")
        orders: dict[tuple[int, str], list[datetime]] = defaultdict(list)
        for user_id, sku_code, placed_at in rows:
            orders[(int(user_id), str(sku_code))].append(placed_at)
        for index, exposure in chunk:
            for placed_at in orders.get((exposure.user_id, str(exposure.sku_code)), ()):
                for days in WINDOWS_DAYS:
                    if exposure.at < placed_at <= exposure.at + timedelta(days=days):
                        found[index].add(days)
    return found
