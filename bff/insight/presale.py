"""Presale demand sensing: a suggested first production quantity per presale SKU from its
interest signals and the conversion seen on earlier presales (docs/operators.md, "Insight").

Signals of a SKU: opens of notices about its presale orders, and progress subscribers (users who
hold units of the PRESALE_PROGRESS template and a presale order of the SKU). Conversion of an
earlier presale SKU (first presale order placed before this SKU's first): its units ordered per
signal. Suggested quantity: the pooled conversion of the earlier SKUs (Σ units / Σ signals) times
this SKU's signals, never below the units already ordered. 80% interval: the 10th and 90th
percentile of the earlier conversions times the signals, widened by Poisson noise. Without an
earlier presale that had signals (or without signals of its own) the suggestion is the units
already ordered, up to their Poisson 80% upper bound (demand is at least what was ordered).
"""

from __future__ import annotations

from dataclasses import dataclass

from bff.catalog.templates_file import TemplatesFile
from bff.catalog.topics import Topic
from bff.insight.sql import as_int, epoch, rows
from bff.insight.stats import poisson_interval_80, quantile
from bff.models.orders import OrderStatus

METHOD_WITH_HISTORY = (
    "{n} earlier presale(s): units per signal (opens + progress subscribers) pooled, times this SKU's "
    "{signals} signals; 80% interval from the 10th-90th percentile conversion and Poisson noise; "
    "never below the {units} units already ordered"
)
METHOD_WITHOUT_HISTORY = (
    "no earlier presale with signals: the {units} units already ordered, up to their Poisson 80% upper bound"
)


@dataclass(frozen=True)
class PresaleSuggestion:
    sku_code: str
    name: str | None
    opens: int
    progress_subscribers: int
    orders_placed: int  # presale orders of the SKU, not cancelled
    units_ordered: int
    earlier_presales: int  # earlier presale SKUs whose conversion was used
    suggested_quantity: int
    low: int
    high: int
    method: str

    @property
    def signals(self) -> int:
        return self.opens + self.progress_subscribers


@dataclass(frozen=True)
class _Sku:
    sku_code: str
    name: str | None
    launched: float
    orders: int
    units: int
    opens: int
    subscribers: int

    @property
    def signals(self) -> int:
        return self.opens + self.subscribers


async def presale_suggestions(templates: TemplatesFile) -> tuple[PresaleSuggestion, ...]:
    """Every SKU ever sold in a presale order, by SKU code."""
    not_cancelled = f"r.status <> '{OrderStatus.CANCELLED}'"
    base = await rows(
        f"SELECT i.sku_code AS sku_code, MIN(i.name) AS name, MIN({epoch('r.placed_at')}) AS launched, "
        f"COUNT(DISTINCT CASE WHEN {not_cancelled} THEN r.id END) AS orders, "
        f"SUM(CASE WHEN {not_cancelled} THEN i.quantity ELSE 0 END) AS units "
        "FROM order_items i JOIN orders r ON r.id = i.order_id WHERE r.presale = ? GROUP BY i.sku_code",
        [True],
    )
    opens = {
        row["sku_code"]: as_int(row["opens"])
        for row in await rows(
            "SELECT i.sku_code AS sku_code, COUNT(DISTINCT o.id) AS opens FROM order_items i "
            "JOIN orders r ON r.id = i.order_id JOIN notices n ON n.order_no = r.order_no "
            "JOIN notice_opens o ON o.notice_id = n.id WHERE r.presale = ? GROUP BY i.sku_code",
            [True],
        )
    }
    template = templates.for_topic(Topic.PRESALE_PROGRESS)
    subscribers: dict[str, int] = {}
    if template is not None:
        subscribers = {
            row["sku_code"]: as_int(row["users"])
            for row in await rows(
                "SELECT i.sku_code AS sku_code, COUNT(DISTINCT l.user_id) AS users FROM order_items i "
                "JOIN orders r ON r.id = i.order_id JOIN consent_ledger l ON l.user_id = r.user_id "
                f"WHERE r.presale = ? AND {not_cancelled} AND l.template_id = ? AND l.granted > l.spent "
                "AND l.banned = ? GROUP BY i.sku_code",
                [True, template.template_id, False],
            )
        }
    skus = [
        _Sku(
            sku_code=str(row["sku_code"]),
            name=row["name"],
            launched=float(row["launched"]),
            orders=as_int(row["orders"]),
            units=as_int(row["units"]),
            opens=opens.get(row["sku_code"], 0),
            subscribers=subscribers.get(row["sku_code"], 0),
        )
        for row in base
    ]
    return tuple(
        suggest(sku, [e for e in skus if e.launched < sku.launched])
        for sku in sorted(skus, key=lambda s: s.sku_code)
    )


def suggest(sku: _Sku, earlier: list[_Sku]) -> PresaleSuggestion:
    """The suggestion for ``sku`` from the ``earlier`` presale SKUs (the method of the module)."""
    history = [e for e in earlier if e.signals > 0]
    if not history or sku.signals == 0:
        high = max(sku.units, poisson_interval_80(sku.units)[1])
        return PresaleSuggestion(
            sku.sku_code,
            sku.name,
            sku.opens,
            sku.subscribers,
            sku.orders,
            sku.units,
            0,
            sku.units,
            sku.units,
            high,
            METHOD_WITHOUT_HISTORY.format(units=sku.units),
        )
    pooled = sum(e.units for e in history) / sum(e.signals for e in history)
    ratios = [e.units / e.signals for e in history]
    point = pooled * sku.signals
    low_mean = quantile(ratios, 0.1) * sku.signals
    high_mean = quantile(ratios, 0.9) * sku.signals
    low = max(sku.units, poisson_interval_80(low_mean)[0])
    high = max(low, poisson_interval_80(high_mean)[1])
    suggested = min(max(sku.units, round(point)), high)
    return PresaleSuggestion(
        sku.sku_code,
        sku.name,
        sku.opens,
        sku.subscribers,
        sku.orders,
        sku.units,
        len(history),
        max(suggested, low),
        low,
        high,
        METHOD_WITH_HISTORY.format(n=len(history), signals=sku.signals, units=sku.units),
    )
