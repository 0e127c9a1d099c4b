"""Regional insight: response to notices by region × topic, each cell against the rest of its
topic, and the regions where fast-delivery topics respond best (forward-warehouse candidates)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from bff.catalog.topics import Topic
from bff.insight.period import Period
from bff.insight.sql import as_int, epoch, rows
from bff.models.orders import OrderStatus
from bff.notices.experiments.report import two_proportion_test

ALPHA = 0.05  # family-wise, split over the cells tested (Bonferroni)
REPURCHASE_WINDOW_DAYS = 30
UNKNOWN_REGION = "未知"
# The last mile: what a warehouse closer to the customer makes faster. A region whose customers
# open these notices well above the topic's rate cares about the parcel's arrival.
FAST_DELIVERY_TOPICS: frozenset[str] = frozenset(
    {
        Topic.NODE_COURIER_ACCEPTED,
        Topic.NODE_OUT_FOR_DELIVERY,
        Topic.NODE_DELIVERED,
        Topic.DELIVERY_SLOT,
    }
)


@dataclass(frozen=True)
class RegionTopicCell:
    region: str
    topic: str
    sent: int
    opened: int
    open_rate: float | None
    open_rate_diff: float | None  # cell rate − the topic's overall rate
    open_p_value: float | None  # pooled two-proportion z-test, cell vs the rest of the topic
    repurchase_opened: int  # opened notices whose 30-day window has passed
    repurchased: int  # of those, the user placed an order within 30 days after the open
    repurchase_rate: float | None
    repurchase_rate_diff: float | None
    significant: bool  # open_p_value < ALPHA / cells tested


@dataclass(frozen=True)
class RegionalInsight:
    cells: tuple[RegionTopicCell, ...]  # region, topic ascending
    forward_warehouse_candidates: tuple[RegionTopicCell, ...]  # best open-rate difference first
    cells_tested: int


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


async def regional_insight(period: Period, *, now: datetime) -> RegionalInsight:
    """Sent notices created in the range, by the region of their order (a notice without an order:
    the user's region) and topic."""
    window_s = float(REPURCHASE_WINDOW_DAYS * 86400)
    ripe = (now - timedelta(days=REPURCHASE_WINDOW_DAYS)).timestamp()
    opened_at = epoch("o.opened_at")
    found = await rows(
        f"SELECT COALESCE(r.region, NULLIF(u.region, ''), '{UNKNOWN_REGION}') AS region, n.topic AS topic, "
        "COUNT(*) AS sent, COUNT(o.id) AS opened, "
        f"SUM(CASE WHEN o.id IS NOT NULL AND {opened_at} <= ? THEN 1 ELSE 0 END) AS ripe, "
        f"SUM(CASE WHEN o.id IS NOT NULL AND {opened_at} <= ? AND EXISTS (SELECT 1 FROM orders b "
        f"WHERE b.user_id = n.user_id AND b.status <> '{OrderStatus.CANCELLED}' "
        f"AND {epoch('b.placed_at')} > {opened_at} AND {epoch('b.placed_at')} <= {opened_at} + ?) "
        "THEN 1 ELSE 0 END) AS bought "
        "FROM notices n JOIN users u ON u.id = n.user_id "
        "LEFT JOIN orders r ON r.order_no = n.order_no "
        "LEFT JOIN notice_opens o ON o.notice_id = n.id "
        f"WHERE n.status = 'SENT' AND {epoch('n.created_at')} >= ? AND {epoch('n.created_at')} < ? "
        "GROUP BY 1, 2",
        [ripe, ripe, window_s, period.start.timestamp(), period.end.timestamp()],
    )
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    raw = []
    for row in found:
        counts = (as_int(row["sent"]), as_int(row["opened"]), as_int(row["ripe"]), as_int(row["bought"]))
        raw.append((str(row["region"]), str(row["topic"]), counts))
        for i, value in enumerate(counts):
            totals[str(row["topic"])][i] += value
    tests = {}
    for region, topic, (sent, opened, _, _) in raw:
        t_sent, t_opened = totals[topic][0], totals[topic][1]
        tests[(region, topic)] = two_proportion_test(opened, sent, t_opened - opened, t_sent - sent)
    tested = sum(1 for test in tests.values() if test is not None)
    threshold = ALPHA / tested if tested else 0.0
    cells = []
    for region, topic, (sent, opened, ripe_n, bought) in sorted(raw, key=lambda r: (r[0], r[1])):
        t_sent, t_opened, t_ripe, t_bought = totals[topic]
        open_rate, topic_open = _rate(opened, sent), _rate(t_opened, t_sent)
        rep_rate, topic_rep = _rate(bought, ripe_n), _rate(t_bought, t_ripe)
        test = tests[(region, topic)]
        cells.append(
            RegionTopicCell(
                region=region,
                topic=topic,
                sent=sent,
                opened=opened,
                open_rate=open_rate,
                open_rate_diff=open_rate - topic_open
                if open_rate is not None and topic_open is not None
                else None,
                open_p_value=test.p_value if test else None,
                repurchase_opened=ripe_n,
                repurchased=bought,
                repurchase_rate=rep_rate,
                repurchase_rate_diff=rep_rate - topic_rep
                if rep_rate is not None and topic_rep is not None
                else None,
                significant=test is not None and test.p_value < threshold,
            )
        )
    candidates = sorted(
        (
            c
            for c in cells
            if c.topic in FAST_DELIVERY_TOPICS and c.significant and (c.open_rate_diff or 0.0) > 0.0
        ),
        key=lambda c: (-(c.open_rate_diff or 0.0), c.region, c.topic),
    )
    return RegionalInsight(tuple(cells), tuple(candidates), tested)
