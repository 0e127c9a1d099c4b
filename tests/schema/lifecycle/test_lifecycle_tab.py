"""The lifecycle tab over GraphQL: what the user owns, when it runs out, what needs maintenance,
and their answers to a reminder (refusals are userErrors and change nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.context import TortoiseContext

from bff.models import Notice, NoticeOpen, NoticeStatus, Replenishment, ReplenishmentStatus, User
from bff.supply_chain import builders as b
from tests.lifecycle.world import CAPSULE, KETTLE, TEA, buy, capsules, describe_skus, feed, kettle, tea
from tests.querycount import count_queries
from tests.schema.lifecycle.conftest import DISMISS, LIFECYCLE, SET_CYCLE, SNOOZE
from tests.schema.orders.conftest import Ask

OPENID = "oLIFE_tab_000000000000000001"
OTHER = "oLIFE_tab_000000000000000002"
NOW = datetime.now(UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
async def alice(db: TortoiseContext) -> User:
    await describe_skus()
    return await User.create(openid=OPENID)


async def test_the_tab_shows_owned_products_replenishment_and_maintenance_as_the_contract_asks(
    ask: Ask, alice: User
) -> None:
    # given a kettle delivered 85 days ago (descaling due in 5 days) and a tea delivered 28 days ago
    await buy("SO-T1", OPENID, ago(87), [kettle()])
    await buy("SO-T2", OPENID, ago(30), [tea(1)])

    # when the mini-program opens the lifecycle tab
    answer = await ask(LIFECYCLE, as_user=alice)

    # then
    assert "errors" not in answer, answer
    tab = answer["data"]["lifecycle"]
    stages = {p["skuCode"]: p["stage"] for p in tab["ownedProducts"]}
    assert stages == {TEA: "USAGE", KETTLE: "USAGE"}
    (repl,) = tab["replenishments"]
    assert repl["skuCode"] == TEA and repl["name"] == "龙井茶" and repl["cycleDays"] == 30
    # 30 days from the delivery 28 days ago: reminded 4 days before, i.e. 2 days ago → DUE
    assert repl["status"] == "DUE"
    assert datetime.fromisoformat(repl["predictedRunOutAt"]) == ago(28) + timedelta(days=30)
    assert datetime.fromisoformat(repl["remindAt"]).utcoffset() == timedelta(hours=8)
    (item,) = tab["maintenance"]
    assert item["skuCode"] == KETTLE and item["title"] == "除垢保养" and item["note"] == "5天后到期"
    assert tab["offers"] == []


async def test_a_product_not_ordered_again_for_long_is_dormant_until_a_notice_is_opened(
    ask: Ask, alice: User
) -> None:
    # given a tea delivered 200 days ago and never ordered again, and a kettle ordered 30 days ago
    await buy("SO-D1", OPENID, ago(202), [tea(1)])
    await buy("SO-D2", OPENID, ago(30), [kettle()])

    # when
    tab = (await ask(LIFECYCLE, as_user=alice))["data"]["lifecycle"]

    # then the tea is dormant, the kettle in use
    assert {p["skuCode"]: p["stage"] for p in tab["ownedProducts"]} == {TEA: "DORMANT", KETTLE: "USAGE"}

    # when the user opens a notice
    notice = await Notice.create(
        user_id=alice.id,
        topic="REPLENISHMENT",
        template_id="tmpl-replenishment-0001",
        dedupe_key="opened",
        priority=20,
        status=NoticeStatus.SENT,
        occurred_at=ago(2),
    )
    await NoticeOpen.create(notice_id=notice.id, user_id=alice.id, opened_at=ago(1), local_hour=9)
    tab = (await ask(LIFECYCLE, as_user=alice))["data"]["lifecycle"]

    # then the tea is back in use
    assert {p["skuCode"]: p["stage"] for p in tab["ownedProducts"]} == {TEA: "USAGE", KETTLE: "USAGE"}


async def test_the_tab_needs_a_signed_in_user(ask: Ask, alice: User) -> None:
    answer = await ask(LIFECYCLE, as_user=None)
    assert answer["data"]["lifecycle"] is None


async def test_snooze_moves_the_reminder(ask: Ask, alice: User) -> None:
    # given a tea that is due
    await buy("SO-S1", OPENID, ago(30), [tea(1)])

    # when the user snoozes it for 5 days
    answer = (await ask(SNOOZE, {"skuCode": TEA, "days": 5}, as_user=alice))["data"]["snoozeReplenishment"]

    # then
    assert answer["userErrors"] == []
    assert answer["replenishment"]["status"] == "SNOOZED"
    remind_at = datetime.fromisoformat(answer["replenishment"]["remindAt"])
    assert abs(remind_at - (datetime.now(UTC) + timedelta(days=5))) < timedelta(minutes=1)


async def test_set_cycle_sets_this_cycle_and_the_reminder(ask: Ask, alice: User) -> None:
    # given two teas delivered 10 days ago (60 days by the SKU)
    await buy("SO-C1", OPENID, ago(12), [tea(2)])

    # when the user says they last 40 days
    answer = (await ask(SET_CYCLE, {"skuCode": TEA, "cycleDays": 40}, as_user=alice))["data"][
        "setReplenishmentCycle"
    ]

    # then the cycle is 40 days from the delivery, reminded 4 days before
    assert answer["userErrors"] == []
    repl = answer["replenishment"]
    assert repl["cycleDays"] == 40 and repl["status"] == "ACTIVE"
    assert datetime.fromisoformat(repl["predictedRunOutAt"]) == ago(10) + timedelta(days=40)
    assert datetime.fromisoformat(repl["remindAt"]) == ago(10) + timedelta(days=36)
    row = await Replenishment.get(user_id=alice.id, sku_code=TEA)
    assert row.user_days_per_unit == pytest.approx(20)


async def test_dismiss_stops_reminders_until_the_next_purchase(ask: Ask, alice: User) -> None:
    await buy("SO-X1", OPENID, ago(30), [tea(1)])

    answer = (await ask(DISMISS, {"skuCode": TEA}, as_user=alice))["data"]["dismissReplenishment"]
    assert answer == {"replenishment": {"skuCode": TEA, "status": "DISMISSED"}, "userErrors": []}

    # when the user buys the tea again
    await buy("SO-X2", OPENID, ago(3), [tea(1)])

    # then reminders are back for the new cycle
    row = await Replenishment.get(user_id=alice.id, sku_code=TEA)
    assert row.status is ReplenishmentStatus.ACTIVE and row.cycle_no == 2


@pytest.mark.parametrize(
    ("document", "variables", "code", "field"),
    [
        (SNOOZE, {"skuCode": "SKU-NOPE", "days": 3}, "UNKNOWN_SKU", "skuCode"),
        (SNOOZE, {"skuCode": CAPSULE, "days": 3}, "NOT_OWNED", "skuCode"),
        (SNOOZE, {"skuCode": KETTLE, "days": 3}, "NOT_OWNED", "skuCode"),
        (SNOOZE, {"skuCode": TEA, "days": 0}, "DAYS_OUT_OF_RANGE", "days"),
        (SNOOZE, {"skuCode": TEA, "days": 61}, "DAYS_OUT_OF_RANGE", "days"),
        (SET_CYCLE, {"skuCode": TEA, "cycleDays": 0}, "CYCLE_OUT_OF_RANGE", "cycleDays"),
        (SET_CYCLE, {"skuCode": TEA, "cycleDays": 366}, "CYCLE_OUT_OF_RANGE", "cycleDays"),
        (SET_CYCLE, {"skuCode": "SKU-NOPE", "cycleDays": 30}, "UNKNOWN_SKU", "skuCode"),
        (DISMISS, {"skuCode": CAPSULE}, "NOT_OWNED", "skuCode"),
    ],
    ids=[
        "snooze-unknown-sku",
        "snooze-not-owned",
        "snooze-durable",
        "snooze-0-days",
        "snooze-61-days",
        "cycle-0",
        "cycle-366",
        "cycle-unknown-sku",
        "dismiss-not-owned",
    ],
)
async def test_refusals_are_user_errors_and_change_nothing(
    ask: Ask, alice: User, document: str, variables: dict[str, object], code: str, field: str
) -> None:
    # given the user owns a tea and a kettle; another user owns capsules
    await buy("SO-E1", OPENID, ago(20), [tea(1), kettle()])
    await buy("SO-E2", OTHER, ago(20), [capsules(1)])
    before = [
        (r.id, r.status, r.remind_at, r.cycle_days, r.round) for r in await Replenishment.all().order_by("id")
    ]

    # when
    answer = await ask(document, variables, as_user=alice)

    # then
    assert "errors" not in answer, answer
    (payload,) = answer["data"].values()
    assert payload["replenishment"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [(code, field)]
    after = [
        (r.id, r.status, r.remind_at, r.cycle_days, r.round) for r in await Replenishment.all().order_by("id")
    ]
    assert after == before


async def test_mutations_need_a_signed_in_user(ask: Ask, alice: User) -> None:
    await buy("SO-U1", OPENID, ago(20), [tea(1)])
    answer = (await ask(DISMISS, {"skuCode": TEA}, as_user=None))["data"]["dismissReplenishment"]
    assert [e["code"] for e in answer["userErrors"]] == ["UNAUTHENTICATED"]
    assert (await Replenishment.get(user_id=alice.id)).status is ReplenishmentStatus.ACTIVE


async def test_a_full_tab_costs_the_same_statements_as_a_small_one(ask: Ask, alice: User) -> None:
    # given one user with one product, another with twelve products of every kind
    bob = await User.create(openid=OTHER)
    await buy("SO-Q0", OPENID, ago(20), [tea(1)])
    skus = [(f"SKU-Q{n:02d}", f"商品{n}", 1 + n % 3, "9.90") for n in range(10)]
    await feed(
        *(
            b.sku_upsert(code, ago(300), name=name, consumable=n % 2 == 0, maintenance=[(10, "检查")])
            for n, (code, name, _, _) in enumerate(skus)
        )
    )
    await buy("SO-Q1", OTHER, ago(40), [*skus[:5], tea(2), kettle()])
    await buy("SO-Q2", OTHER, ago(20), skus[5:])
    await feed(b.placed("SO-Q3", OTHER, ago(1)))

    # when
    with count_queries() as small:
        one = await ask(LIFECYCLE, as_user=alice)
    with count_queries() as large:
        many = await ask(LIFECYCLE, as_user=bob)

    # then
    assert len(one["data"]["lifecycle"]["ownedProducts"]) == 1
    assert len(many["data"]["lifecycle"]["ownedProducts"]) == 12
    assert len(many["data"]["lifecycle"]["maintenance"]) >= 5
    print(f"\nlifecycle tab: 1 product → {len(small)} statements, 12 products → {len(large)} statements")
    assert len(large) == len(small), "\n".join(large)


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (SNOOZE, {"skuCode": TEA, "days": 3}),
        (SET_CYCLE, {"skuCode": TEA, "cycleDays": 20}),
        (DISMISS, {"skuCode": TEA}),
    ],
    ids=["snooze", "set-cycle", "dismiss"],
)
async def test_an_answer_costs_the_same_statements_however_much_the_user_owns(
    ask: Ask, alice: User, document: str, variables: dict[str, object]
) -> None:
    # given one user with a tea only, another with a tea among eleven products and past cycles
    bob = await User.create(openid=OTHER)
    await buy("SO-M0", OPENID, ago(20), [tea(1)])
    skus = [(f"SKU-M{n:02d}", f"商品{n}", 1, "9.90") for n in range(10)]
    await feed(*(b.sku_upsert(code, ago(300), name=name) for code, name, _, _ in skus))
    await buy("SO-M1", OTHER, ago(60), [*skus, tea(1)])
    await buy("SO-M2", OTHER, ago(20), [tea(1)])

    # when each answers
    with count_queries() as small:
        one = await ask(document, variables, as_user=alice)
    with count_queries() as large:
        many = await ask(document, variables, as_user=bob)

    # then
    assert [p["userErrors"] for p in one["data"].values()] == [[]]
    assert [p["userErrors"] for p in many["data"].values()] == [[]]
    assert len(large) == len(small), "\n".join(large)
