"""The offers scan: one notice per user × offer period, through the notice engine.

Walks users in id order in bounded batches: for each batch, the offers valid ``as_of``
(``store.offers_for_users``: the same rules as the lifecycle tab) become notice drafts with the
dedupe key ``offer:<user id>:<offer id>`` and go through ``planner.plan_drafts`` (the same rows,
ledger, policy and send path as every notice: weekly limit and quiet hours apply, and order
notices keep consent units ahead of offers by priority). Then the cursor, the last user id done,
moves past the batch (Redis). A run stops after ``max_batches`` or ``budget_s`` and the next run
goes on from the cursor; a run that reaches the last user clears it, so the next starts a new
pass. A run killed mid-batch redoes that batch, and a pass run twice plans nothing new: the
dedupe keys already exist.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bff import constants
from bff.models.notices import Notice, NoticeStatus
from bff.models.users import User
from bff.notices.planner import NoticeContext, NoticeDraft, PlanReport, bounded_key, plan_drafts
from bff.offers.rules import DEFAULT_RULES, Offer, OfferRules, format_day
from bff.offers.store import LifecycleSource, offers_for_users
from bff.runtime.keyset_walk import ScanCursor, walk_in_batches


@dataclass
class OfferScanReport:
    users: int = 0
    offers: int = 0  # valid offers seen (already announced ones included)
    planned: int = 0  # notice rows created now
    batches: int = 0
    finished: bool = False  # this run reached the last user: the next starts a new pass
    decided: Counter[str] = field(default_factory=Counter)

    def add(self, plan: PlanReport) -> None:
        self.planned += plan.created
        self.decided.update(plan.decided)


def last_valid_day(offer: Offer, zone: ZoneInfo) -> str:
    """The last day the offer can be used (it ends at midnight: the day before)."""
    return format_day(offer.expires_at - timedelta(microseconds=1), zone)


def offer_draft(offer: Offer, zone: ZoneInfo) -> NoticeDraft:
    values = {
        "offer_title": offer.title,
        "note": offer.description,
        "expires_at": last_valid_day(offer, zone),
        "points": str(offer.points),
    }
    if offer.recommended is not None:
        values["recommended_sku"] = offer.recommended.sku_code
        values["recommended_name"] = offer.recommended.name
    return NoticeDraft(
        user_id=offer.user_id,
        topic=offer.topic,
        dedupe_key=offer.dedupe_key,
        occurred_at=offer.starts_at,
        expires_at=offer.expires_at,
        values=values,
    )


async def _not_decided(drafts: list[NoticeDraft]) -> list[NoticeDraft]:
    """The drafts without a decided notice yet (one SELECT): a pass over offers announced before
    skips them instead of inserting every row again only to conflict. A row a killed run left
    PLANNED stays in, so the planner decides it."""
    if not drafts:
        return drafts
    decided = {
        str(key)
        for key in await Notice.filter(dedupe_key__in=[bounded_key(d.dedupe_key) for d in drafts])
        .exclude(status=NoticeStatus.PLANNED)
        .values_list("dedupe_key", flat=True)
    }
    return [d for d in drafts if bounded_key(d.dedupe_key) not in decided]


async def scan_offers(
    ctx: NoticeContext,
    redis: Redis,
    *,
    as_of: datetime,
    rules: OfferRules = DEFAULT_RULES,
    source: LifecycleSource | None = None,
    batch_users: int = constants.OFFERS_SCAN_BATCH_USERS,
    max_batches: int = constants.OFFERS_SCAN_MAX_BATCHES,
    budget_s: float = constants.OFFERS_SCAN_BUDGET_S,
) -> OfferScanReport:
    """Plan a notice for every offer valid ``as_of`` not announced yet (module docstring)."""
    report = OfferScanReport()

    async def batch(after: int, users: Sequence[User]) -> int:
        offers = await offers_for_users(
            list(users), now=as_of, zone=ctx.zone, redis=redis, rules=rules, source=source
        )
        drafts = [offer_draft(offer, ctx.zone) for own in offers.values() for offer in own]
        report.offers += len(drafts)
        report.add(await plan_drafts(await _not_decided(drafts), ctx, now=as_of))
        report.users += len(users)
        return int(users[-1].id)

    progress = await walk_in_batches(
        ScanCursor(redis, constants.OFFERS_SCAN_CURSOR_KEY),
        lambda after: User.filter(id__gt=after).order_by("id").limit(batch_users),
        batch,
        max_batches=max_batches,
        budget_s=budget_s,
    )
    report.batches, report.finished = progress.batches, progress.finished
    return report


async def run_full_pass(
    ctx: NoticeContext,
    redis: Redis,
    *,
    as_of: datetime,
    rules: OfferRules = DEFAULT_RULES,
    source: LifecycleSource | None = None,
    batch_users: int = constants.OFFERS_SCAN_BATCH_USERS,
) -> OfferScanReport:
    """Run the scan until its pass reaches the last user (tests, demo scripts)."""
    total = OfferScanReport()
    while True:
        part = await scan_offers(ctx, redis, as_of=as_of, rules=rules, source=source, batch_users=batch_users)
        total.users += part.users
        total.offers += part.offers
        total.planned += part.planned
        total.batches += part.batches
        total.decided.update(part.decided)
        if part.finished:
            total.finished = True
            return total
