"""Stages, maintenance and reminder status are functions of facts (the tab and the scans share them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bff.lifecycle.rules import LifecycleRules
from bff.lifecycle.stages import (
    Stage,
    due_note,
    is_listed,
    is_notifiable,
    maintenance_items,
    parse_maintenance_key,
    parse_reminder_key,
    reminder_key,
    replenishment_status,
    stage_of,
)
from bff.models import ReplenishmentStatus

DELIVERED = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)
RULES = LifecycleRules(purchase_stage_days=7, dormant_after_days=180)


def at(days: float) -> datetime:
    return DELIVERED + timedelta(days=days)


def kettle_stage(now_days: float, last_active_days: float | None = None) -> Stage:
    active = at(last_active_days) if last_active_days is not None else None
    return stage_of(
        delivered_at=DELIVERED, renewal_after_days=120, last_active_at=active, now=at(now_days), rules=RULES
    )


def test_an_owned_product_goes_from_purchase_to_usage_to_renewal() -> None:
    assert kettle_stage(0) is Stage.PURCHASE
    assert kettle_stage(6.9) is Stage.PURCHASE
    assert kettle_stage(7) is Stage.USAGE
    assert kettle_stage(119, last_active_days=100) is Stage.USAGE
    assert kettle_stage(120, last_active_days=100) is Stage.RENEWAL


def test_a_user_without_orders_or_opened_notices_for_the_configured_days_is_dormant() -> None:
    # no sign of life since the delivery
    assert kettle_stage(180) is Stage.DORMANT
    # an order placed or a notice opened on day 100 keeps them active until day 280
    assert kettle_stage(180, last_active_days=100) is Stage.RENEWAL
    assert kettle_stage(280, last_active_days=100) is Stage.DORMANT
    # the number of days is configurable
    assert (
        stage_of(
            delivered_at=DELIVERED,
            renewal_after_days=None,
            last_active_at=None,
            now=at(30),
            rules=LifecycleRules(dormant_after_days=30),
        )
        is Stage.DORMANT
    )


def test_a_product_without_renewal_days_stays_in_usage() -> None:
    assert (
        stage_of(delivered_at=DELIVERED, renewal_after_days=None, last_active_at=at(170), now=at(170))
        is Stage.USAGE
    )


def test_maintenance_counts_from_delivery_and_is_listed_ahead_and_notified_once_due() -> None:
    items = maintenance_items(
        user_id=7,
        sku_code="SKU-K",
        name="电热水壶",
        delivered_at=DELIVERED,
        maintenance=[
            {"afterDays": 365, "title": "滤网更换"},
            {"afterDays": 90, "title": "除垢保养"},
            {"bad": 1},
        ],
    )
    descale, filters = items
    assert (descale.title, descale.due_at) == ("除垢保养", at(90))
    assert filters.due_at == at(365)
    rules = LifecycleRules(maintenance_lookahead_days=14, maintenance_grace_days=30)
    # listed from two weeks ahead until 30 days overdue
    assert not is_listed(descale, at(75), rules)
    assert is_listed(descale, at(76), rules) and is_listed(descale, at(119), rules)
    assert not is_listed(descale, at(120), rules)
    # notified only once due
    assert not is_notifiable(descale, at(89), rules)
    assert is_notifiable(descale, at(90), rules)
    assert due_note(descale, at(85)) == "5天后到期" and due_note(descale, at(91)) == "已到保养时间"
    # the key names user, delivery, item and SKU, and reads back
    assert parse_maintenance_key(descale.dedupe_key) == (7, "20260110T020000", 90, "SKU-K")


def test_a_waiting_reminder_is_due_from_its_day_and_answers_are_kept() -> None:
    remind = at(10)
    assert replenishment_status(ReplenishmentStatus.ACTIVE, remind, at(9)) is ReplenishmentStatus.ACTIVE
    assert replenishment_status(ReplenishmentStatus.ACTIVE, remind, at(10)) is ReplenishmentStatus.DUE
    assert replenishment_status(ReplenishmentStatus.SNOOZED, remind, at(9)) is ReplenishmentStatus.SNOOZED
    assert replenishment_status(ReplenishmentStatus.SNOOZED, remind, at(11)) is ReplenishmentStatus.DUE
    for kept in (ReplenishmentStatus.DISMISSED, ReplenishmentStatus.REMINDED):
        assert replenishment_status(kept, remind, at(11)) is kept


def test_a_reminder_key_carries_user_cycle_round_and_sku_even_with_colons() -> None:
    key = reminder_key(42, 3, 1, "SKU:ODD")
    assert key == "replenishment:42:3:1:SKU:ODD"
    assert parse_reminder_key(key) == (42, 3, 1, "SKU:ODD")
    assert parse_reminder_key("order:SO1:NODE_OUTBOUND:OUTBOUND") is None
