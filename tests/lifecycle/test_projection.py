"""A delivered order's lines become owned products and (for consumables) restart the SKU's cycle."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from tortoise.context import TortoiseContext

from bff.models import (
    LifecyclePurchase,
    OwnedProduct,
    PriorSource,
    Replenishment,
    ReplenishmentInterval,
    ReplenishmentStatus,
    User,
)
from bff.supply_chain import builders as b
from tests.lifecycle.world import (
    CAPSULE,
    KETTLE,
    TEA,
    buy,
    capsules,
    days,
    describe_skus,
    feed,
    kettle,
    order_events,
    tea,
)

OPENID = "oLIFE_projection_0000000001"


@pytest.fixture
async def user(db: TortoiseContext) -> User:
    await describe_skus()
    return await User.create(openid=OPENID)


async def test_a_delivered_order_makes_its_lines_owned_and_starts_the_consumables_cycle(user: User) -> None:
    # given an order of two teas and a kettle, placed and paid
    # when it is delivered
    await buy("SO-P1", OPENID, days(0), [tea(2), kettle()])

    # then the user owns both, from the delivery
    owned = {o.sku_code: o for o in await OwnedProduct.filter(user_id=user.id)}
    assert set(owned) == {TEA, KETTLE}
    assert owned[TEA].quantity == 2 and owned[TEA].last_delivered_at == days(2)
    # and only the consumable has a replenishment: 2 units × 30 days, reminded 4 days before
    (row,) = await Replenishment.filter(user_id=user.id)
    assert row.sku_code == TEA and row.cycle_no == 1 and row.status is ReplenishmentStatus.ACTIVE
    assert row.cycle_days == 60 and row.prior_source is PriorSource.SKU
    assert row.predicted_run_out_at == days(62)
    assert row.remind_at == days(58)


async def test_an_order_not_delivered_owns_nothing(user: User) -> None:
    # when an order is only placed and paid
    await feed(*order_events("SO-P2", OPENID, days(0), [tea()]))

    # then nothing is owned yet
    assert await OwnedProduct.filter(user_id=user.id).count() == 0
    assert await Replenishment.filter(user_id=user.id).count() == 0


async def test_a_replayed_or_repeated_delivery_projects_nothing_twice(user: User) -> None:
    # given a delivered order
    delivered = await buy("SO-P3", OPENID, days(0), [tea(1)])

    # when the same event is replayed and a second DELIVERED node (another event id) arrives
    await feed(delivered)
    await feed(b.node("SO-P3", "DELIVERED", days(3)))

    # then the line was counted once
    (owned,) = await OwnedProduct.filter(user_id=user.id)
    assert owned.quantity == 1 and owned.purchases == 1
    (row,) = await Replenishment.filter(user_id=user.id)
    assert row.cycle_no == 1 and row.last_purchased_at == days(2)
    assert await LifecyclePurchase.filter(user_id=user.id).count() == 1
    assert await ReplenishmentInterval.filter(user_id=user.id).count() == 0


async def test_buying_again_restarts_the_cycle_and_moves_the_estimate_toward_the_user(user: User) -> None:
    # given one tea delivered on day 2, whose reminder was snoozed
    await buy("SO-P4", OPENID, days(0), [tea(1)])
    await Replenishment.filter(user_id=user.id).update(status=ReplenishmentStatus.SNOOZED, round=3)

    # when the user buys one again, delivered 20 days later (faster than the nominal 30)
    await buy("SO-P5", OPENID, days(20), [tea(1)])

    # then a new cycle starts from that delivery, in a fresh round, with the interval as evidence
    (row,) = await Replenishment.filter(user_id=user.id)
    assert row.cycle_no == 2 and row.round == 0 and row.status is ReplenishmentStatus.ACTIVE
    assert row.last_purchased_at == days(22) and row.last_order_no == "SO-P5"
    (interval,) = await ReplenishmentInterval.filter(user_id=user.id)
    assert interval.days == pytest.approx(20) and interval.days_per_unit == pytest.approx(20)
    # shrunk toward the prior, not a jump: (0.7·30 + 1·20) / 1.7 ≈ 24.1 days
    assert row.days_per_unit == pytest.approx(41 / 1.7) and row.cycle_days == 24
    assert row.predicted_run_out_at == days(22) + timedelta(days=24)


async def test_an_older_delivery_told_late_adds_units_but_does_not_restart_the_cycle(user: User) -> None:
    # given a newer order delivered first
    await buy("SO-NEW", OPENID, days(10), [tea(1)])

    # when an older order's delivery arrives afterwards
    await buy("SO-OLD", OPENID, days(0), [tea(1)], delivered_after=timedelta(days=1))

    # then the user owns both units but the running cycle is the newer one's
    (owned,) = await OwnedProduct.filter(user_id=user.id)
    assert owned.quantity == 2 and owned.last_delivered_at == days(12) and owned.first_delivered_at == days(1)
    (row,) = await Replenishment.filter(user_id=user.id)
    assert row.cycle_no == 1 and row.last_order_no == "SO-NEW"


async def test_a_sku_without_a_nominal_rate_starts_from_other_users_intervals(user: User) -> None:
    # given three other users who each bought capsules twice, 10, 12 and 14 days apart
    for n, gap in enumerate((10, 12, 14)):
        openid = f"oLIFE_capsule_other_{n:08d}"
        await buy(f"SO-C{n}a", openid, days(0), [capsules(1)])
        await buy(f"SO-C{n}b", openid, days(gap), [capsules(1)])

    # when our user buys two boxes
    await buy("SO-C-ME", OPENID, days(30), [capsules(2)])

    # then the prior is the median of their days per unit (12), times two boxes
    row = await Replenishment.get(user_id=user.id, sku_code=CAPSULE)
    assert row.prior_source is PriorSource.POPULATION and row.prior_days_per_unit == pytest.approx(12)
    assert row.cycle_days == 24


async def test_orders_of_one_sku_delivered_at_once_all_count(user: User) -> None:
    # given ten paid orders of the same tea, two units each
    orders = [f"SO-R{n}" for n in range(10)]
    await feed(*(event for no in orders for event in order_events(no, OPENID, days(0), [tea(2)])))

    # when their deliveries arrive in concurrent requests (PostgreSQL: really concurrent)
    await asyncio.gather(
        *(feed(b.node(no, "DELIVERED", days(2) + timedelta(hours=n))) for n, no in enumerate(orders))
    )

    # then every one is owned and no request failed
    (owned,) = await OwnedProduct.filter(user_id=user.id)
    assert owned.quantity == 20 and owned.purchases == 10
    # and the running cycle is the newest delivery's (one applied after a newer one starts none)
    (row,) = await Replenishment.filter(user_id=user.id)
    assert row.last_order_no == "SO-R9" and row.last_purchased_at == days(2) + timedelta(hours=9)
    assert await ReplenishmentInterval.filter(user_id=user.id).count() == row.cycle_no - 1
