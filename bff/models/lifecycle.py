"""What users own and when they will need more: the lifecycle tab's facts (bff/lifecycle/).

`LifecyclePurchase` is the ledger: one row per (order, SKU) once the order is delivered, unique, so
a replayed or repeated delivery projects nothing twice. `OwnedProduct` and `Replenishment` are
kept per user and SKU from those rows. `ReplenishmentInterval` is the estimator's evidence: one
observed repurchase interval per user, SKU and ended cycle. Times are stored in UTC.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class ReplenishmentStatus(StrEnum):
    """runtime.md replenishment `status` (stored: ACTIVE, DUE, REMINDED, SNOOZED, DISMISSED)."""

    ACTIVE = "ACTIVE"  # the reminder is ahead
    DUE = "DUE"  # the reminder day has come (a reminder is planned, or waits for the scan)
    REMINDED = "REMINDED"  # the reminder of this cycle was sent
    SNOOZED = "SNOOZED"  # the user moved the reminder (snoozeReplenishment)
    DISMISSED = "DISMISSED"  # no reminders for this SKU until it is bought again


class PriorSource(StrEnum):
    """Where the estimator's prior came from (bff/lifecycle/estimator.py)."""

    SKU = "SKU"  # usageDaysPerUnit of sku.upsert
    POPULATION = "POPULATION"  # the median of other users' repurchase intervals per unit
    DEFAULT = "DEFAULT"  # neither is known


class LifecyclePurchase(Model):
    """One delivered order line (lines of one SKU in an order summed): the fact the rest derives from."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "models.User", related_name="lifecycle_purchases", on_delete=fields.CASCADE
    )
    order_no = fields.CharField(max_length=64)
    sku_code = fields.CharField(max_length=64)
    quantity = fields.IntField()
    placed_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    user_id: int

    class Meta:
        table = "lifecycle_purchases"
        unique_together = (("order_no", "sku_code"),)
        indexes = (("user_id", "sku_code", "delivered_at"),)


class OwnedProduct(Model):
    """A SKU the user owns: every delivered unit of it, and when the latest arrived."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "models.User", related_name="owned_products", on_delete=fields.CASCADE
    )
    sku_code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)  # the order line's name (the SKU may be unknown)
    quantity = fields.IntField(default=0)  # units delivered, all orders
    purchases = fields.IntField(default=0)  # delivered orders holding the SKU
    first_delivered_at = fields.DatetimeField()
    last_delivered_at = fields.DatetimeField()  # stages and maintenance count from here
    last_order_no = fields.CharField(max_length=64)
    updated_at = fields.DatetimeField(auto_now=True)

    user_id: int

    class Meta:
        table = "owned_products"
        unique_together = (("user_id", "sku_code"),)


class Replenishment(Model):
    """When a consumable the user owns will run out, and when to remind them.

    A cycle starts with each delivery of the SKU (`cycle_no` counts them). `round` counts the
    reminder dates of a cycle: a snooze, a new cycle length or a dismissal starts a new round, so a
    reminder planned for an older round is stale (its dedupe key carries cycle and round).
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "models.User", related_name="replenishments", on_delete=fields.CASCADE
    )
    sku_code = fields.CharField(max_length=64)
    name = fields.CharField(max_length=200)
    cycle_no = fields.IntField(default=0)
    round = fields.IntField(default=0)
    last_order_no = fields.CharField(max_length=64)
    last_placed_at = fields.DatetimeField()  # placedAt of that order: a later order is a repurchase
    last_purchased_at = fields.DatetimeField()  # its delivery: the cycle starts here
    last_quantity = fields.IntField()
    # The estimate: days one unit lasts this user, and the cycle it gives for the last purchase.
    days_per_unit = fields.FloatField()
    cycle_days = fields.IntField()
    prior_days_per_unit = fields.FloatField()
    prior_source = fields.CharEnumField(PriorSource, max_length=16)
    observations = fields.IntField(default=0)  # repurchase intervals seen for this user and SKU
    # setReplenishmentCycle: the user's own days per unit (strong evidence), and when it was given.
    user_days_per_unit = fields.FloatField(null=True)
    user_cycle_set_at = fields.DatetimeField(null=True)
    predicted_run_out_at = fields.DatetimeField()
    remind_at = fields.DatetimeField()
    status = fields.CharEnumField(ReplenishmentStatus, max_length=16, default=ReplenishmentStatus.ACTIVE)
    reminded_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    user_id: int

    class Meta:
        table = "replenishments"
        unique_together = (("user_id", "sku_code"),)
        # the replenishment scan: waiting rows whose reminder day has come, by user
        indexes = (("status", "remind_at", "user_id"),)


class ReplenishmentInterval(Model):
    """One observed repurchase: the days from one delivery of the SKU to the next, per unit bought."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "models.User", related_name="replenishment_intervals", on_delete=fields.CASCADE
    )
    sku_code = fields.CharField(max_length=64)
    cycle_no = fields.IntField()  # the cycle this interval ended
    days = fields.FloatField()
    quantity = fields.IntField()
    days_per_unit = fields.FloatField()
    observed_at = fields.DatetimeField()  # the delivery that ended it

    user_id: int

    class Meta:
        table = "replenishment_intervals"
        unique_together = (("user_id", "sku_code", "cycle_no"),)
        indexes = (("sku_code", "observed_at"),)
