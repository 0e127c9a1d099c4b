"""Demo data for the operators' insight (`bff seed`): shoppers in four regions with a month and a
half of delivered orders, the notices the engine sent them and their opens, receipt ratings,
stock-outs decided by hand and by default, repurchases, three presales of which two are earlier
ones, and the bundled replenishment experiment with its holdout.

Orders, exceptions and their decisions go through the real paths (ingestion, `resolveException`'s
and `confirmReceipt`'s services, the deadline defaults). Notices and opens are written as the
planner, the sender and `recordNoticeOpen` leave them (their paths need WeChat and a session),
all terminal (SENT, SUPPRESSED, FAILED), so a worker has nothing to do with them. Everything lies
in the past, relative to the moment the seed runs; `bff/insight` reads it over the last 60 days.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bff.catalog.templates_file import TemplatesFile, load_templates_file
from bff.catalog.topics import Topic, topic_info
from bff.consent.matching import record_accept
from bff.inbound.supply_chain import ingest_body
from bff.models import CreditSource, ExperimentAssignment, Notice, NoticeOpen, NoticeStatus, User
from bff.notices.experiments.assignment import assign_variant
from bff.notices.experiments.definitions import load_experiments_file
from bff.notices.reasons import Reason
from bff.orders.deadlines import apply_exception_defaults
from bff.orders.decisions import confirm_receipt, resolve_exception
from bff.supply_chain import builders as b

# region, its warehouse, the chance a shopper there opens an out-for-delivery notice
REGIONS = (
    ("浙江省杭州市", "杭州仓", 0.9),
    ("上海市", "上海仓", 0.35),
    ("江苏省南京市", "南京仓", 0.3),
    ("广东省广州市", "广州仓", 0.3),
)
PER_REGION = 20
SEED = 20261203
TEA = ("SKU-TEA-001", "明前龙井 250g", 1, "129.00")
CUPS = ("SKU-CUPS-04", "手作粗陶杯 4只装", 1, "168.00")
KETTLE = ("SKU-KETTLE-02", "电陶炉煮茶器", 1, "459.00")
# presales: two earlier ones and the demo user's current SKU-TEA-NEW (bff/demo/orders.py)
PRESALES = (
    ("SKU-TEA-2026", "2026 明前龙井预售", 300, 24),  # code, name, launched days ago, buyers
    ("SKU-CUPS-PRE", "柴烧茶杯预售", 150, 16),
    ("SKU-TEA-NEW", "2027 明前龙井预售", 7, 10),
)
EXPERIMENT = "replenishment-tip-1"


@dataclass
class _Shopper:
    index: int
    openid: str
    region: str
    warehouse: str
    open_chance: float
    user_id: int = 0


def openid_of(index: int) -> str:
    return f"oDEMO_shop_{index:016d}"


class _Notices:
    """Notice and open rows to write in bulk."""

    def __init__(self, templates: TemplatesFile) -> None:
        self.templates = templates
        self.rows: list[tuple[Notice, datetime | None]] = []

    def add(
        self,
        user_id: int,
        topic: Topic,
        at: datetime,
        key: str,
        *,
        status: NoticeStatus = NoticeStatus.SENT,
        order_no: str | None = None,
        reason: str | None = None,
        errcode: int | None = None,
        opened: datetime | None = None,
        values: dict[str, str] | None = None,
    ) -> None:
        template = self.templates.for_topic(topic)
        if template is None:
            return
        sent = status is NoticeStatus.SENT
        notice = Notice(
            user_id=user_id,
            order_no=order_no,
            topic=str(topic),
            template_id=template.template_id,
            dedupe_key=f"demo:{key}",
            priority=topic_info(topic).priority,
            status=status,
            reason=reason,
            errcode=errcode,
            values=values or {},
            occurred_at=at,
            sent_at=at + timedelta(seconds=5) if sent else None,
            msgid=f"{abs(hash(key)) % 10**15}" if sent else None,
            unit_reserved=sent,
            attempts=1 if status in (NoticeStatus.SENT, NoticeStatus.FAILED) else 0,
            created_at=at,
        )
        self.rows.append((notice, opened if sent else None))

    async def write(self) -> int:
        await Notice.bulk_create([n for n, _ in self.rows], batch_size=200)
        ids = dict(
            await Notice.filter(dedupe_key__in=[n.dedupe_key for n, _ in self.rows]).values_list(
                "dedupe_key", "id"
            )
        )
        opens = [
            NoticeOpen(
                notice_id=ids[n.dedupe_key],
                user_id=n.user_id,
                scene=1014,
                opened_at=at,
                local_hour=(at.hour + 8) % 24,
            )
            for n, at in self.rows
            if at is not None
        ]
        await NoticeOpen.bulk_create(opens, batch_size=200)
        return len(self.rows)


async def _ingest(events: list[b.Event], now: datetime | None = None) -> None:
    for start in range(0, len(events), 900):
        await ingest_body(b.body(*events[start : start + 900]), now=now)


async def seed_insight(user: User) -> str:
    """SEED_STEPS entry: the operators' insight data (the demo user's own orders stay as they are)."""
    del user
    now = datetime.now(UTC).replace(microsecond=0)
    rng = random.Random(SEED)
    templates = load_templates_file()
    notices = _Notices(templates)
    shoppers = [
        _Shopper(r * PER_REGION + k, openid_of(r * PER_REGION + k), region, warehouse, chance)
        for r, (region, warehouse, chance) in enumerate(REGIONS)
        for k in range(PER_REGION)
    ]
    # 1. each shopper's order, placed 20 to 49 days ago, paid
    placed_at = {
        s.index: now - timedelta(days=20 + (s.index * 7) % 30, hours=rng.randint(0, 10)) for s in shoppers
    }
    first: list[b.Event] = []
    for s in shoppers:
        no = f"LV-DEMO-S{s.index:03d}"
        item = (TEA, CUPS, KETTLE)[s.index % 3]
        at = placed_at[s.index]
        first += [
            b.placed(no, s.openid, at, items=[item], region=s.region, warehouse=s.warehouse),
            b.paid(no, at + timedelta(minutes=3)),
        ]
    await _ingest(first)
    ids = dict(await User.filter(openid__in=[s.openid for s in shoppers]).values_list("openid", "id"))
    for s in shoppers:
        s.user_id = int(ids[s.openid])
        await User.filter(id=s.user_id).update(region=s.region)
    # 2. a stock-out on every eighth order, six hours after it was placed; half decided by hand
    stockouts = [s for s in shoppers if s.index % 8 == 1]
    for s in stockouts:
        raised = placed_at[s.index] + timedelta(hours=6)
        no = f"LV-DEMO-S{s.index:03d}"
        await _ingest(
            [
                b.exception(
                    f"EX-DEMO-S{s.index:03d}",
                    raised,
                    raised + timedelta(hours=24),
                    order_nos=[no],
                    kind="STOCKOUT",
                    reason=f"{s.warehouse}暂时缺货，补货后发出",
                )
            ],
            now=raised,
        )
        if s.index % 16 == 1:
            await resolve_exception(
                s.user_id,
                no,
                f"EX-DEMO-S{s.index:03d}",
                "WAIT",
                now=raised + timedelta(minutes=rng.randint(10, 240)),
            )
    while await apply_exception_defaults(now=now):  # one exception per batch
        pass
    # 3. the journey: outbound (ETA three days out), courier, out for delivery, delivered (a fifth late)
    journey: list[b.Event] = []
    delivered_at: dict[int, datetime] = {}
    for s in shoppers:
        no = f"LV-DEMO-S{s.index:03d}"
        out = placed_at[s.index] + timedelta(days=1)
        late = s.index % 5 == 0
        delivered_at[s.index] = out + timedelta(days=3.5 if late else 2.2)
        journey += [
            b.node(
                no,
                "OUTBOUND",
                out,
                location=s.warehouse,
                carrier="顺丰速运",
                tracking_no=f"SF14{s.index:011d}",
                estimated_arrival=out + timedelta(days=3),
            ),
            b.node(no, "COURIER_ACCEPTED", out + timedelta(hours=20), location=f"{s.region}营业部"),
            b.node(
                no,
                "OUT_FOR_DELIVERY",
                delivered_at[s.index] - timedelta(hours=3),
                location=f"{s.region}营业部",
            ),
            b.node(no, "DELIVERED", delivered_at[s.index], location="家门口", note="本人签收"),
        ]
        # the notices of the journey, and the shopper's opens
        notices.add(
            s.user_id,
            Topic.NODE_OUTBOUND,
            out,
            f"{no}:OUTBOUND",
            order_no=no,
            opened=out + timedelta(hours=1) if rng.random() < 0.4 else None,
        )
        notices.add(
            s.user_id,
            Topic.NODE_COURIER_ACCEPTED,
            out + timedelta(hours=20),
            f"{no}:COURIER",
            order_no=no,
            status=NoticeStatus.SUPPRESSED,
            reason=Reason.SAVED_FOR_HIGHER_PRIORITY,
        )
        opened_ofd = rng.random() < s.open_chance
        notices.add(
            s.user_id,
            Topic.NODE_OUT_FOR_DELIVERY,
            delivered_at[s.index] - timedelta(hours=3),
            f"{no}:OFD",
            order_no=no,
            opened=delivered_at[s.index] - timedelta(hours=2, minutes=40) if opened_ofd else None,
        )
        if s.index % 6 == 0:
            notices.add(
                s.user_id,
                Topic.NODE_DELIVERED,
                delivered_at[s.index],
                f"{no}:DELIVERED",
                order_no=no,
                status=NoticeStatus.SUPPRESSED,
                reason=Reason.NO_UNITS,
            )
        elif s.index % 10 == 3:
            notices.add(
                s.user_id,
                Topic.NODE_DELIVERED,
                delivered_at[s.index],
                f"{no}:DELIVERED",
                order_no=no,
                status=NoticeStatus.FAILED,
                reason="QUOTA_EXHAUSTED",
                errcode=43101,
            )
        else:
            notices.add(
                s.user_id,
                Topic.NODE_DELIVERED,
                delivered_at[s.index],
                f"{no}:DELIVERED",
                order_no=no,
                opened=delivered_at[s.index] + timedelta(minutes=30) if rng.random() < 0.3 else None,
            )
    await _ingest(journey)
    # 4. ratings on two of three receipts, a day after delivery
    ratings = (10, 9, 9, 8, 7, 10, 6, 9, 3, 10)
    for s in shoppers:
        if s.index % 3 != 2:
            no = f"LV-DEMO-S{s.index:03d}"
            await confirm_receipt(
                s.user_id, no, ratings[s.index % 10], now=delivered_at[s.index] + timedelta(days=1)
            )
    # 5. half of those who opened an out-for-delivery notice order again within 2-21 days
    again: list[b.Event] = []
    for s in shoppers:
        if s.index % 2 == 0 and rng.random() < s.open_chance:
            at = min(delivered_at[s.index] + timedelta(days=2 + s.index % 20), now - timedelta(hours=2))
            again += [
                b.placed(
                    f"LV-DEMO-R{s.index:03d}",
                    s.openid,
                    at,
                    items=[CUPS],
                    region=s.region,
                    warehouse=s.warehouse,
                ),
                b.paid(f"LV-DEMO-R{s.index:03d}", at + timedelta(minutes=2)),
            ]
    # 6. presales: buyers, progress notices (opened by some), progress units held by some
    progress = templates.for_topic(Topic.PRESALE_PROGRESS)
    presale_orders = 0
    for code, name, days_ago, buyers in PRESALES:
        launched = now - timedelta(days=days_ago)
        for k in range(buyers):
            s = shoppers[(k * 3 + days_ago) % len(shoppers)]
            no = f"LV-DEMO-P{code[-3:]}{k:02d}"
            at = launched + timedelta(hours=k * 12 * days_ago / 300)
            units = 2 if k % 3 == 0 else 1
            again += [
                b.placed(
                    no, s.openid, at, items=[(code, name, units, "399.00")], presale=True, region=s.region
                ),
                b.paid(no, at + timedelta(minutes=2)),
            ]
            presale_orders += 1
            notice_at = min(at + timedelta(days=3), now - timedelta(hours=1))
            notices.add(
                s.user_id,
                Topic.PRESALE_PROGRESS,
                notice_at,
                f"{no}:PRESALE",
                order_no=no,
                opened=notice_at + timedelta(hours=2) if k % 2 == 0 else None,
            )
            if progress is not None and k % 4 == 0:
                await record_accept(
                    s.user_id,
                    progress.template_id,
                    source=CreditSource.REPORT,
                    source_key=f"demo:{no}:progress",
                    occurred_at=at,
                )
    # 7. the bundled replenishment experiment: every shopper's reminder, 12-46 days ago
    experiments = load_experiments_file(None, templates)
    experiment = experiments.by_key(EXPERIMENT)
    assignments: list[ExperimentAssignment] = []
    if experiment is not None:
        for s in shoppers:
            variant = assign_variant(experiment, s.user_id)
            at = now - timedelta(days=12 + s.index % 35, hours=1)
            key = f"replenishment:{s.index}:{EXPERIMENT}"
            opened = not variant.holdout and rng.random() < (0.55 if variant.name == "restock-now" else 0.4)
            notices.add(
                s.user_id,
                Topic.REPLENISHMENT,
                at,
                key,
                status=NoticeStatus.SUPPRESSED if variant.holdout else NoticeStatus.SENT,
                reason=Reason.EXPERIMENT_HOLDOUT if variant.holdout else None,
                opened=at + timedelta(hours=3) if opened else None,
                values={"sku_code": TEA[0]},
            )
            assignments.append(
                ExperimentAssignment(
                    experiment=EXPERIMENT,
                    file_version=experiments.version,
                    variant=variant.name,
                    holdout=variant.holdout,
                    user_id=s.user_id,
                    notice_id=0,
                    topic=str(Topic.REPLENISHMENT),
                    sku_code=TEA[0],
                    assigned_at=at,
                )
            )
            if rng.random() < (0.45 if opened else 0.15):
                bought = min(at + timedelta(days=2 + s.index % 9), now - timedelta(hours=1))
                again += [
                    b.placed(f"LV-DEMO-T{s.index:03d}", s.openid, bought, items=[TEA], region=s.region),
                    b.paid(f"LV-DEMO-T{s.index:03d}", bought + timedelta(minutes=2)),
                ]
    await _ingest(again)
    written = await notices.write()
    if assignments:
        keys = {f"demo:replenishment:{s.index}:{EXPERIMENT}": s.user_id for s in shoppers}
        by_user = {
            int(user_id): int(notice_id)
            for notice_id, user_id in await Notice.filter(dedupe_key__in=list(keys)).values_list(
                "id", "user_id"
            )
        }
        for row in assignments:
            row.notice_id = by_user[row.user_id]
        await ExperimentAssignment.bulk_create(assignments, batch_size=200)
    return (
        f"seed: insight: {len(shoppers)} shoppers in {len(REGIONS)} regions, {written} notices, "
        f"{presale_orders} presale orders, {len(assignments)} experiment assignments"
    )
