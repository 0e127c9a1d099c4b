"""Offer facts (bff/offers/store.py): co-purchase stats from delivered orders, the tab's offers."""

from __future__ import annotations

from datetime import datetime, timedelta

from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff import constants
from bff.inbound.supply_chain import ingest_body
from bff.models import Sku
from bff.offers import store
from bff.offers.rules import OfferKind, OwnedStage, Recommendation, UserLifecycle
from bff.supply_chain import builders as b
from tasks.worker import WorkerSettings
from tests.offers.world import SHANGHAI, FixedLifecycle, member, openid

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)
MEMBER_DAY = datetime(2026, 12, 18, 10, 0, tzinfo=SHANGHAI)


async def delivered(order_no: str, user: int, skus: list[str], at: datetime) -> None:
    items = [(sku, f"商品{sku}", 1, "10.00") for sku in skus]
    await ingest_body(
        b.body(
            b.placed(order_no, openid(user), at, items=items),
            b.paid(order_no, at),
            b.node(order_no, "DELIVERED", at + timedelta(days=1)),
        )
    )


async def purchase_history(db: TortoiseContext) -> None:
    """Users 1–3 bought A then B; user 4 bought A then C; user 5 bought A then D but D was cancelled."""
    for user in (1, 2, 3):
        await delivered(f"SO{user}a", user, ["A"], T0)
        await delivered(f"SO{user}b", user, ["B"], T0 + timedelta(days=10))
    await delivered("SO4a", 4, ["A"], T0)
    await delivered("SO4b", 4, ["C"], T0 + timedelta(days=10))
    await delivered("SO5a", 5, ["A"], T0)
    await ingest_body(
        b.body(b.placed("SO5b", openid(5), T0 + timedelta(days=10), items=[("D", "D", 1, "1.00")]))
    )


async def test_co_purchase_stats_count_what_buyers_bought_next_in_delivered_orders(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given five users' delivered orders (one later order never delivered)
    await purchase_history(db)

    # when the stats are refreshed
    report = await store.refresh_co_purchase(arq_pool)

    # then readers see A → B three times, A → C once, nothing of the undelivered order
    stats = await store.load_stats(arq_pool, ["A"])
    assert report.finished
    assert dict(stats.next_counts["A"]) == {"B": 3, "C": 1}
    assert stats.buyers == {"A": 5, "B": 3, "C": 1}


async def test_a_refresh_cut_into_runs_gives_the_same_stats_and_readers_see_only_complete_passes(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given a complete pass over the history, and then one more user who bought A then C
    await purchase_history(db)
    await store.refresh_co_purchase(arq_pool)
    before = await store.load_stats(arq_pool, ["A"])
    await delivered("SO6a", 6, ["A"], T0)
    await delivered("SO6b", 6, ["C"], T0 + timedelta(days=10))

    # when a new pass is built one user per run (as runs stopped by their budget or killed between
    # batches leave it), the pass being old enough to be redone
    later = datetime.now(SHANGHAI) + timedelta(seconds=constants.COPURCHASE_REFRESH_EVERY_S + 1)
    runs = []
    while True:
        runs.append(await store.refresh_co_purchase(arq_pool, now=later, batch_users=1, max_batches=1))
        if runs[-1].finished:
            break
        # readers still see the previous complete pass while the new one is being built
        assert await store.load_stats(arq_pool, ["A"]) == before

    # then the new pass counts every pair once (the new user included), and the old pass's keys are gone
    after = await store.load_stats(arq_pool, ["A"])
    assert dict(before.next_counts["A"]) == {"B": 3, "C": 1}
    assert dict(after.next_counts["A"]) == {"B": 3, "C": 2}
    assert len(runs) == 7  # six users, and the run that finds no more
    assert await arq_pool.exists(f"{constants.COPURCHASE_KEY}:1:buyers") == 0


async def test_a_recent_pass_is_not_rebuilt(db: TortoiseContext, arq_pool: ArqRedis) -> None:
    await purchase_history(db)
    assert (await store.refresh_co_purchase(arq_pool)).finished
    again = await store.refresh_co_purchase(arq_pool)
    assert (again.idle, again.batches) == (True, 0)


async def test_the_tab_lists_valid_offers_with_a_recommendation_never_owned_or_dismissed(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given the history above, SKU names, and a member (user 9) owning A who dismissed B
    await purchase_history(db)
    await store.refresh_co_purchase(arq_pool)
    for code in "ABCD":
        await Sku.create(sku_code=code, name=f"商品{code}", category="茶", source_occurred_at=T0)
    viewer = await member(9, at=T0)
    owned = OwnedStage("A", "商品A", "茶", "USAGE", T0, T0)
    source = FixedLifecycle({viewer.id: UserLifecycle(owned=(owned,), dismissed=frozenset({"B"}))})

    # when the tab reads the viewer's offers on the member day
    offers = await store.offers_of(viewer.id, now=MEMBER_DAY, zone=SHANGHAI, redis=arq_pool, source=source)

    # then the member-day offer carries C (A's buyers went on to B, dismissed, then C)
    assert [(o.kind, o.recommended) for o in offers] == [(OfferKind.MEMBER_DAY, Recommendation("C", "商品C"))]
    # and the day after, nothing is valid
    assert (
        await store.offers_of(viewer.id, now=MEMBER_DAY + timedelta(days=1), zone=SHANGHAI, redis=arq_pool)
        == []
    )


async def test_a_member_without_owned_products_gets_offers_without_a_pushed_product(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    await purchase_history(db)
    await store.refresh_co_purchase(arq_pool)
    viewer = await member(9, at=T0)
    (offer,) = await store.offers_of(viewer.id, now=MEMBER_DAY, zone=SHANGHAI, redis=arq_pool)
    assert offer.recommended is None


def test_the_offer_crons_are_registered() -> None:
    names = {job.name for job in WorkerSettings.cron_jobs}
    assert {constants.JOB_SCAN_OFFERS, constants.JOB_REFRESH_CO_PURCHASE} <= names


async def test_a_lifecycle_notice_can_carry_the_same_recommended_product(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # given the history above, SKU names, a user owning A and B (nothing to dismiss), one owning nothing
    await purchase_history(db)
    await store.refresh_co_purchase(arq_pool)
    for code in "ABCD":
        await Sku.create(sku_code=code, name=f"商品{code}", category="茶", source_occurred_at=T0)
    owner = await member(9, at=T0)
    newcomer = await member(10, at=T0)
    source = FixedLifecycle(
        {
            owner.id: UserLifecycle(
                owned=(
                    OwnedStage("A", "商品A", "茶", "USAGE", T0, T0),
                    OwnedStage("B", "商品B", "茶", "USAGE", T0, T0 + timedelta(days=1)),
                )
            ),
            newcomer.id: UserLifecycle(),
        }
    )

    # when a lifecycle scan asks for its users' recommendations
    found = await store.recommendations_for([owner.id, newcomer.id], now=T0, redis=arq_pool, source=source)

    # then the owner gets C (A's buyers' next, B being owned) and the newcomer nothing
    assert found == {owner.id: Recommendation("C", "商品C")}
