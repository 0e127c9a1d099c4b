"""Experiment assignments: which variant of which experiment a planned notice got (bff/notices/experiments).

One row per notice in an experiment, written when the notice is first decided. The variant comes
from a hash of the user and the experiment key, so a user stays in one variant across notices.
``sku_code`` is the SKU the notice is about (lifecycle notices carry it in their values), which
the report's repurchase windows look for in later orders.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class ExperimentAssignment(Model):
    id = fields.BigIntField(primary_key=True)
    experiment = fields.CharField(max_length=64)
    file_version = fields.IntField()  # the experiments file's revision when assigned
    variant = fields.CharField(max_length=64)
    holdout = fields.BooleanField(default=False)
    user: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "models.User", related_name="experiment_assignments", on_delete=fields.CASCADE
    )
    notice_id = fields.BigIntField(unique=True)
    topic = fields.CharField(max_length=32)
    sku_code = fields.CharField(max_length=64, null=True)
    assigned_at = fields.DatetimeField()

    user_id: int

    class Meta:
        table = "experiment_assignments"
        indexes = (("experiment", "variant"),)
