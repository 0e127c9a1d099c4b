"""What operators did through the operators' API (/ops/graphql): one row per mutation, whether it
changed something or was refused (bff/ops/audit.py)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class OpsAudit(Model):
    id = fields.BigIntField(primary_key=True)
    operator = fields.CharField(max_length=64)  # the name of the key (OPS_API_KEY "name=key")
    action = fields.CharField(max_length=32)  # resendNotice, retryCommand, acknowledgeAlert
    target_kind = fields.CharField(max_length=16)  # NOTICE, COMMAND, ALERT
    target_id = fields.CharField(max_length=64)  # as the operator gave it (cut to 64)
    outcome = fields.CharField(max_length=32)  # OK or the refusal's code (NOT_FAILED, NO_UNIT …)
    detail = fields.TextField(null=True)
    at = fields.DatetimeField()

    class Meta:
        table = "ops_audit"
        indexes = (("target_kind", "target_id"),)
