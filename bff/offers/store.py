"""Where offers get their facts: members (users table), the lifecycle, co-purchase stats (Redis).

- Members: ``member.upsert`` fields on ``users`` (a member record was received when
  ``member_updated_at`` is set).
- The lifecycle (owned products, their stages, DORMANT, dismissed SKUs) comes through a
  ``LifecycleSource``; ``lifecycle_source()`` is the one place that names it (docs/offers.md,
  "Wiring to the lifecycle").
- Co-purchase stats are derived data, rebuilt from delivered orders by ``refresh_co_purchase``
  into Redis under a pass number and switched to atomically when a pass is complete:

      <COPURCHASE_KEY>:current         the complete pass readers use
      <COPURCHASE_KEY>:finished-at     when it completed (Unix seconds)
      <COPURCHASE_KEY>:cursor          "<pass>:<user id>" while a pass is being built
      <COPURCHASE_KEY>:<pass>:buyers   hash SKU → users who bought it
      <COPURCHASE_KEY>:<pass>:next:<A> hash B → users who bought B right after A
      <COPURCHASE_KEY>:<pass>:keys     set of that pass's keys (deleted with it)

  Each batch's counts and the cursor move are one MULTI/EXEC: a refresh killed mid-batch
  applies nothing of that batch, and the next run redoes it, so no pair is counted twice.
"""

from __future__ import annotations

import time as monotonic_time
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bff import constants
from bff.models.orders import OrderItem, OrderStatus, Sku
from bff.models.users import User
from bff.offers import recommend as rec
from bff.offers.lifecycle_source import LifecycleTables
from bff.offers.rules import (
    DEFAULT_RULES,
    NO_LIFECYCLE,
    RENEWAL,
    MemberFacts,
    Offer,
    OfferRules,
    Recommendation,
    UserLifecycle,
    offers_for,
)

# Orders whose lines count as bought (what the lifecycle counts as owned).
BOUGHT_STATUSES = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)
# Candidates looked at to find one with a known name (a SKU never described by sku.upsert is skipped).
RECOMMENDATION_CANDIDATES = 5


# ------------------------------------------------------------------------------------ lifecycle


class LifecycleSource(Protocol):
    async def lifecycle_of(self, user_ids: Sequence[int], now: datetime) -> Mapping[int, UserLifecycle]:
        """Owned products with stages, DORMANT since, dismissed SKUs, per user (missing: none)."""
        ...


def lifecycle_source() -> LifecycleSource:
    """The lifecycle the offers read: owned products with the tab's stages (lifecycle_source.py)."""
    return LifecycleTables()


# -------------------------------------------------------------------------------------- members


def member_of(user: User) -> MemberFacts:
    return MemberFacts(
        user_id=user.id,
        known=user.member_updated_at is not None,
        points=user.points,
        points_expire_at=user.points_expire_at,
        birthday=user.birthday,
    )


# ---------------------------------------------------------------------------------- co-purchase


def _key(*parts: object) -> str:
    return ":".join([constants.COPURCHASE_KEY, *(str(p) for p in parts)])


async def current_pass(redis: Redis) -> int | None:
    value = await redis.get(_key("current"))
    return int(value) if value is not None else None


async def load_stats(redis: Redis, skus: Collection[str]) -> rec.CoPurchaseStats:
    """The complete pass's buyers, and the "bought next" counts of ``skus`` (one round trip)."""
    stats = rec.CoPurchaseStats()
    pass_no = await current_pass(redis)
    if pass_no is None:
        return stats
    wanted = sorted(set(skus))
    pipe = redis.pipeline(transaction=False)
    pipe.hgetall(_key(pass_no, "buyers"))
    for sku in wanted:
        pipe.hgetall(_key(pass_no, "next", sku))
    buyers, *nexts = await pipe.execute()
    stats.buyers.update({_text(k): int(v) for k, v in buyers.items()})
    for sku, counts in zip(wanted, nexts, strict=True):
        if counts:
            stats.next_counts[sku].update({_text(k): int(v) for k, v in counts.items()})
    return stats


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass
class RefreshReport:
    users: int = 0
    batches: int = 0
    finished: bool = False  # this run completed a pass (readers now see it)
    idle: bool = False  # the current pass is recent: nothing to do


async def _baskets_by_user(after: int, upto: int) -> dict[int, list[list[str]]]:
    rows = (
        await OrderItem.filter(
            order__user_id__gt=after, order__user_id__lte=upto, order__status__in=list(BOUGHT_STATUSES)
        )
        .order_by("order__user_id", "order__placed_at", "order_id")
        .values_list("order__user_id", "order_id", "sku_code")
    )
    by_user: dict[int, dict[int, list[str]]] = defaultdict(dict)
    for user_id, order_id, sku in rows:
        basket = by_user[int(user_id)].setdefault(int(order_id), [])
        if sku not in basket:
            basket.append(str(sku))
    return {user_id: list(orders.values()) for user_id, orders in by_user.items()}


async def refresh_co_purchase(
    redis: Redis,
    *,
    now: datetime | None = None,
    batch_users: int = constants.COPURCHASE_BATCH_USERS,
    max_batches: int = constants.COPURCHASE_MAX_BATCHES,
    budget_s: float = constants.COPURCHASE_BUDGET_S,
    every_s: float = constants.COPURCHASE_REFRESH_EVERY_S,
) -> RefreshReport:
    """Go on building the next pass of co-purchase stats (users in key order, bounded batches);
    start one when the current pass is older than ``every_s``; switch readers to it when done."""
    report = RefreshReport()
    moment = (now or datetime.now(UTC)).timestamp()
    cursor = await redis.get(_key("cursor"))
    if cursor is None:
        finished_at = await redis.get(_key("finished-at"))
        if finished_at is not None and moment - float(finished_at) < every_s:
            report.idle = True
            return report
        pass_no = (await current_pass(redis) or 0) + 1
        after = 0
        await redis.set(_key("cursor"), f"{pass_no}:0")
    else:
        pass_text, after_text = _text(cursor).split(":")
        pass_no, after = int(pass_text), int(after_text)

    started = monotonic_time.monotonic()
    while report.batches < max_batches:
        rows = (
            await User.filter(id__gt=after, orders__status__in=list(BOUGHT_STATUSES))
            .order_by("id")
            .distinct()
            .limit(batch_users)
            .values_list("id")
        )
        users = [int(row[0]) for row in rows]
        if not users:
            await _switch_to(redis, pass_no, moment)
            report.finished = True
            return report
        upto = max(users)
        batch = rec.CoPurchaseStats()
        for baskets in (await _baskets_by_user(after, upto)).values():
            batch.add_user(baskets)
        pipe = redis.pipeline(transaction=True)
        keys = {_key(pass_no, "buyers")}
        for sku, count in batch.buyers.items():
            pipe.hincrby(_key(pass_no, "buyers"), sku, count)
        for a, counts in batch.next_counts.items():
            keys.add(_key(pass_no, "next", a))
            for b, count in counts.items():
                pipe.hincrby(_key(pass_no, "next", a), b, count)
        pipe.sadd(_key(pass_no, "keys"), *keys)
        pipe.set(_key("cursor"), f"{pass_no}:{upto}")
        await pipe.execute()
        report.users += len(users)
        report.batches += 1
        after = upto
        if monotonic_time.monotonic() - started > budget_s:
            break
    return report


async def _switch_to(redis: Redis, pass_no: int, moment: float) -> None:
    previous = await current_pass(redis)
    pipe = redis.pipeline(transaction=True)
    pipe.set(_key("current"), pass_no)
    pipe.set(_key("finished-at"), str(moment))
    pipe.delete(_key("cursor"))
    await pipe.execute()
    if previous is not None and previous != pass_no:
        old = [_text(k) for k in await redis.smembers(_key(previous, "keys"))]  # type: ignore[misc]
        if old:
            await redis.delete(*old)
        await redis.delete(_key(previous, "keys"))


# ------------------------------------------------------------------------------ recommendations


@dataclass
class Recommender:
    """Co-purchase stats of the SKUs some users own, and the names and categories of the products
    it may recommend (a SKU never described by sku.upsert has no name to show and is skipped)."""

    stats: rec.CoPurchaseStats
    names: dict[str, str]
    category_of: dict[str, str | None]
    popular: list[str]

    @classmethod
    async def load(cls, lifecycles: Mapping[int, UserLifecycle], redis: Redis) -> Recommender:
        """One Redis round trip and one SELECT, however many users."""
        owned = {p.sku_code for life in lifecycles.values() for p in life.owned}
        stats = await load_stats(redis, owned)
        popular = stats.most_popular()
        wanted = set(owned) | set(popular[: RECOMMENDATION_CANDIDATES * 4])
        for sku in owned:
            wanted.update(stats.next_counts.get(sku, {}))
        described = await Sku.filter(sku_code__in=sorted(wanted)).values_list("sku_code", "name", "category")
        names = {str(code): str(name) for code, name, _ in described}
        category_of: dict[str, str | None] = {str(code): str(category) for code, _, category in described}
        for life in lifecycles.values():
            for product in life.owned:
                category_of.setdefault(product.sku_code, product.category)
        return cls(stats, names, category_of, popular)

    def product_for(self, life: UserLifecycle) -> Recommendation | None:
        """The one product for a user's notices and offers: co-purchase of what they own, not owned
        or dismissed; None for a user who owns nothing (no product is pushed at them)."""
        baskets = rec.baskets_of((p.sku_code, p.purchased_at) for p in life.owned)
        if not baskets:
            return None
        named = [sku for sku in self.popular if sku in self.names]
        for sku in rec.recommend(
            self.stats, baskets, excluded=life.dismissed, k=RECOMMENDATION_CANDIDATES, popular=named
        ):
            if sku in self.names:
                return Recommendation(sku, self.names[sku])
        return None

    def successors_for(self, life: UserLifecycle) -> dict[str, Recommendation]:
        """Per owned product in RENEWAL, the product to upgrade to (if its buyers show one)."""
        owned = {p.sku_code for p in life.owned}
        found: dict[str, Recommendation] = {}
        for product in life.owned:
            if product.stage != RENEWAL:
                continue
            code = rec.successor(
                self.stats, product.sku_code, category_of=self.category_of, excluded=owned | life.dismissed
            )
            if code is not None and code in self.names:
                found[product.sku_code] = Recommendation(code, self.names[code])
        return found


async def recommendations_for(
    user_ids: Sequence[int], *, now: datetime, redis: Redis, source: LifecycleSource | None = None
) -> dict[int, Recommendation]:
    """The recommended product of each user who has one: what a lifecycle notice may carry
    (values ``recommended_sku`` / ``recommended_name``, as offer notices do)."""
    lifecycles = await (source or lifecycle_source()).lifecycle_of(list(user_ids), now)
    recommender = await Recommender.load(lifecycles, redis)
    found = {user_id: recommender.product_for(life) for user_id, life in lifecycles.items()}
    return {user_id: pick for user_id, pick in found.items() if pick is not None}


# --------------------------------------------------------------------------------------- offers


async def offers_for_users(
    users: Sequence[User],
    *,
    now: datetime,
    zone: ZoneInfo,
    redis: Redis,
    rules: OfferRules = DEFAULT_RULES,
    source: LifecycleSource | None = None,
) -> dict[int, list[Offer]]:
    """Every user's valid offers, with their recommendation, in a fixed number of round trips:
    the lifecycle, the stats of the SKUs they own (Redis) and one SELECT of SKU names."""
    if not users:
        return {}
    lifecycles = await (source or lifecycle_source()).lifecycle_of([u.id for u in users], now)
    recommender = await Recommender.load(lifecycles, redis)
    found: dict[int, list[Offer]] = {}
    for user in users:
        life = lifecycles.get(user.id, NO_LIFECYCLE)
        found[user.id] = offers_for(
            member_of(user),
            life,
            now,
            zone,
            successors=recommender.successors_for(life),
            recommended=recommender.product_for(life),
            rules=rules,
        )
    return found


async def offers_of(
    user_id: int,
    *,
    now: datetime,
    zone: ZoneInfo,
    redis: Redis,
    rules: OfferRules = DEFAULT_RULES,
    source: LifecycleSource | None = None,
) -> list[Offer]:
    """``lifecycle.offers``: the viewer's offers valid now (the scan uses the same rules)."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        return []
    found = await offers_for_users([user], now=now, zone=zone, redis=redis, rules=rules, source=source)
    return found[user_id]
