"""The lifecycle scans: replenishment reminders that are due, maintenance that fell due.

Both walk users in key order (``user_id``) in bounded batches: the users of the next
``batch_rows`` rows after the cursor, then the rows of those users that are due (a user is never
split between two batches). Each batch is planned through the notice engine
(``planner.plan_drafts``: the same rows, ledger, policy and send path as order notices; weekly
limit and quiet hours apply, order notices keep their units by priority), then the cursor, a
user id in Redis, moves past it. A run stops after ``max_batches`` or ``budget_s`` and the next
run goes on from the cursor; a run that reaches the last user clears it, so the next pass starts
over. A run killed mid-batch redoes that batch: every notice has a dedupe key
(``replenishment:<user>:<cycle>:<round>:<sku>``, ``maintenance:<user>:<delivered>:<afterDays>:<sku>``),
so a batch planned twice, or a pass run twice, plans nothing new.

Both take ``as_of``: the moment the scan acts for (the cron passes now; the demo script and the
tests pass a later day). Which rows are due is decided by the functions of stages.py, as on read.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.asyncio import Redis
from tortoise.expressions import Q

from bff import constants
from bff.catalog.topics import Topic
from bff.lifecycle import stages
from bff.lifecycle.rules import DEFAULT_RULES, LifecycleRules
from bff.models.lifecycle import OwnedProduct, Replenishment, ReplenishmentStatus
from bff.models.orders import OrderItem, OrderStatus, Sku
from bff.notices.planner import NoticeContext, NoticeDraft, PlanReport, plan_drafts
from bff.runtime.keyset_walk import ScanCursor, walk_in_batches

log = logging.getLogger("lvyue.lifecycle.scans")

REPLENISHMENT = "replenishment"
MAINTENANCE = "maintenance"
# A reminder stays worth sending until a few days after the predicted run-out.
REMINDER_TTL = timedelta(days=3)
_WAITING = (ReplenishmentStatus.ACTIVE, ReplenishmentStatus.SNOOZED)


@dataclass
class ScanReport:
    scan: str
    users: int = 0
    rows: int = 0  # rows walked (owned products of maintained SKUs, or due replenishments)
    drafts: int = 0  # notices asked for (already planned ones included)
    planned: int = 0  # notice rows created now
    batches: int = 0
    finished: bool = False  # this run reached the last user: the next starts a new pass
    decided: Counter[str] = field(default_factory=Counter)

    def add(self, plan: PlanReport) -> None:
        self.planned += plan.created
        self.decided.update(plan.decided)


# The user ids of the next rows after a user id (at most ``limit`` rows), and one batch's work.
NextUsers = Callable[[int, int], Awaitable[list[int]]]
RunBatch = Callable[[int, int, ScanReport], Awaitable[None]]


def format_date(moment: datetime, ctx: NoticeContext) -> str:
    """A date for `date` keywords, in the business time zone: 2026年11月20日."""
    return moment.astimezone(ctx.zone).strftime("%Y年%m月%d日")


async def _walk(
    scan: str,
    redis: Redis,
    next_users: NextUsers,
    run_batch: RunBatch,
    *,
    batch_rows: int,
    max_batches: int,
    budget_s: float,
) -> ScanReport:
    report = ScanReport(scan)

    async def batch(after: int, users: Sequence[int]) -> int:
        upto = max(users)
        await run_batch(after, upto, report)
        report.rows += len(users)
        report.users += len(set(users))
        return upto

    progress = await walk_in_batches(
        scan_cursor(redis, scan),
        lambda after: next_users(after, batch_rows),
        batch,
        max_batches=max_batches,
        budget_s=budget_s,
    )
    report.batches, report.finished = progress.batches, progress.finished
    return report


def scan_cursor(redis: Redis, scan: str) -> ScanCursor:
    return ScanCursor(redis, f"{constants.LIFECYCLE_SCAN_CURSOR_KEY}:{scan}")


# ---------------------------------------------------------------------------------- replenishment


async def ordered_again(rows: Sequence[Replenishment]) -> set[tuple[int, str]]:
    """(user, SKU) of the rows whose SKU was ordered again after the cycle's order (one SELECT)."""
    if not rows:
        return set()
    placed = (
        await OrderItem.filter(
            sku_code__in=list({r.sku_code for r in rows}), order__user_id__in=list({r.user_id for r in rows})
        )
        .exclude(order__status=OrderStatus.CANCELLED)
        .values_list("order__user_id", "sku_code", "order__placed_at")
    )
    latest: dict[tuple[int, str], datetime] = {}
    for user_id, sku_code, at in placed:
        key = (int(user_id), str(sku_code))
        latest[key] = max(latest.get(key, at), at)
    return {
        (r.user_id, r.sku_code)
        for r in rows
        if (r.user_id, r.sku_code) in latest and latest[(r.user_id, r.sku_code)] > r.last_placed_at
    }


def reminder_draft(row: Replenishment, as_of: datetime, ctx: NoticeContext) -> NoticeDraft:
    return NoticeDraft(
        user_id=row.user_id,
        topic=Topic.REPLENISHMENT,
        dedupe_key=stages.reminder_key(row.user_id, row.cycle_no, row.round, row.sku_code),
        occurred_at=row.remind_at,
        expires_at=max(row.predicted_run_out_at, as_of) + REMINDER_TTL,
        # sku_code: an experiment's report counts repurchases of this SKU (bff/notices/experiments/report.py)
        values={
            "sku_code": row.sku_code,
            "sku_name": row.name,
            "run_out_date": format_date(row.predicted_run_out_at, ctx),
        },
    )


async def scan_replenishment(
    ctx: NoticeContext,
    redis: Redis,
    *,
    as_of: datetime,
    batch_rows: int = constants.LIFECYCLE_SCAN_BATCH_ROWS,
    max_batches: int = constants.LIFECYCLE_SCAN_MAX_BATCHES,
    budget_s: float = constants.LIFECYCLE_SCAN_BUDGET_S,
) -> ScanReport:
    """Plan a REPLENISHMENT reminder for every ACTIVE or SNOOZED replenishment whose reminder day
    has come (``stages.replenishment_status`` says DUE), unless the SKU was ordered again; the row
    becomes DUE (per round: a round the user changed meanwhile is left alone)."""

    async def next_users(after: int, limit: int) -> list[int]:
        rows = (
            await Replenishment.filter(status__in=list(_WAITING), remind_at__lte=as_of, user_id__gt=after)
            .order_by("user_id")
            .limit(limit)
            .values_list("user_id")
        )
        return [int(row[0]) for row in rows]

    async def run_batch(after: int, upto: int, report: ScanReport) -> None:
        rows = await Replenishment.filter(
            status__in=list(_WAITING), remind_at__lte=as_of, user_id__gt=after, user_id__lte=upto
        ).order_by("user_id", "sku_code")
        again = await ordered_again(rows)
        fresh = [
            r
            for r in rows
            if (r.user_id, r.sku_code) not in again
            and stages.replenishment_status(r.status, r.remind_at, as_of) is ReplenishmentStatus.DUE
        ]
        drafts = [reminder_draft(r, as_of, ctx) for r in fresh]
        report.drafts += len(drafts)
        report.add(await plan_drafts(drafts, ctx, now=as_of))
        by_round: dict[int, list[int]] = defaultdict(list)
        for r in fresh:
            by_round[r.round].append(r.id)
        for round_no, ids in by_round.items():
            await Replenishment.filter(
                id__in=ids, round=round_no, status__in=list(_WAITING), remind_at__lte=as_of
            ).update(status=ReplenishmentStatus.DUE)

    return await _walk(
        REPLENISHMENT,
        redis,
        next_users,
        run_batch,
        batch_rows=batch_rows,
        max_batches=max_batches,
        budget_s=budget_s,
    )


# ------------------------------------------------------------------------------------ maintenance


async def scan_maintenance(
    ctx: NoticeContext,
    redis: Redis,
    *,
    as_of: datetime,
    rules: LifecycleRules = DEFAULT_RULES,
    batch_rows: int = constants.LIFECYCLE_SCAN_BATCH_ROWS,
    max_batches: int = constants.LIFECYCLE_SCAN_MAX_BATCHES,
    budget_s: float = constants.LIFECYCLE_SCAN_BUDGET_S,
) -> ScanReport:
    """Plan a MAINTENANCE notice for every maintenance item of an owned product that has fallen due
    (``stages.is_notifiable``: due, and not more than the grace period ago)."""
    maintained = {sku.sku_code: sku for sku in await Sku.all() if sku.maintenance}
    codes = list(maintained)

    async def next_users(after: int, limit: int) -> list[int]:
        if not codes:
            return []
        rows = (
            await OwnedProduct.filter(sku_code__in=codes, user_id__gt=after)
            .order_by("user_id")
            .limit(limit)
            .values_list("user_id")
        )
        return [int(row[0]) for row in rows]

    # An item is due when its SKU's delivery falls in (as_of − grace − afterDays, as_of − afterDays]:
    # the batch reads only those rows (index on sku_code, last_delivered_at); is_notifiable decides.
    grace = timedelta(days=rules.maintenance_grace_days)
    due_windows = Q(
        *(
            Q(
                sku_code=code,
                last_delivered_at__gt=as_of - grace - timedelta(days=item.after_days),
                last_delivered_at__lte=as_of - timedelta(days=item.after_days),
            )
            for code, sku in maintained.items()
            for item in stages.maintenance_items(
                user_id=0, sku_code=code, name=sku.name, delivered_at=as_of, maintenance=sku.maintenance
            )
        ),
        join_type=Q.OR,
    )

    async def run_batch(after: int, upto: int, report: ScanReport) -> None:
        owned = await OwnedProduct.filter(due_windows, user_id__gt=after, user_id__lte=upto).order_by(
            "user_id", "sku_code"
        )
        drafts: list[NoticeDraft] = []
        for product in owned:
            sku = maintained[product.sku_code]
            for item in stages.maintenance_items(
                user_id=product.user_id,
                sku_code=product.sku_code,
                name=sku.name,
                delivered_at=product.last_delivered_at,
                maintenance=sku.maintenance,
            ):
                if stages.is_notifiable(item, as_of, rules):
                    drafts.append(
                        NoticeDraft(
                            user_id=item.user_id,
                            topic=Topic.MAINTENANCE,
                            dedupe_key=item.dedupe_key,
                            occurred_at=item.due_at,
                            expires_at=item.due_at + timedelta(days=rules.maintenance_grace_days),
                            values={
                                "sku_code": item.sku_code,
                                "sku_name": item.name,
                                "note": item.title,
                                "remind_date": format_date(item.due_at, ctx),
                            },
                        )
                    )
        report.drafts += len(drafts)
        report.add(await plan_drafts(drafts, ctx, now=as_of))

    return await _walk(
        MAINTENANCE,
        redis,
        next_users,
        run_batch,
        batch_rows=batch_rows,
        max_batches=max_batches,
        budget_s=budget_s,
    )


async def run_full_pass(
    scan: str, ctx: NoticeContext, redis: Redis, *, as_of: datetime, rules: LifecycleRules = DEFAULT_RULES
) -> ScanReport:
    """Run a scan until its pass reaches the last user (the demo script, tests, benchmarks)."""
    total = ScanReport(scan)
    while True:
        if scan == REPLENISHMENT:
            part = await scan_replenishment(ctx, redis, as_of=as_of)
        else:
            part = await scan_maintenance(ctx, redis, as_of=as_of, rules=rules)
        total.users += part.users
        total.rows += part.rows
        total.drafts += part.drafts
        total.planned += part.planned
        total.batches += part.batches
        total.decided.update(part.decided)
        if part.finished:
            total.finished = True
            return total
