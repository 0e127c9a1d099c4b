"""The audit log of the operators' API: one OpsAudit row per mutation, done or refused."""

from __future__ import annotations

import logging
from datetime import datetime

from bff.models.ops import OpsAudit

__all__ = ["OK", "record"]

log = logging.getLogger("lvyue.ops.audit")

OK = "OK"
_TARGET_ID_MAX = 64
_DETAIL_MAX = 1000


async def record(
    *,
    operator: str,
    action: str,
    target_kind: str,
    target_id: str,
    outcome: str,
    detail: str | None,
    at: datetime,
) -> OpsAudit:
    """Write one audit row (inside the action's transaction when it changed something)."""
    row = await OpsAudit.create(
        operator=operator[:64],
        action=action,
        target_kind=target_kind,
        target_id=target_id[:_TARGET_ID_MAX],
        outcome=outcome,
        detail=None if detail is None else detail[:_DETAIL_MAX],
        at=at,
    )
    log.info("operator %s %s %s %r: %s", operator, action, target_kind, target_id[:_TARGET_ID_MAX], outcome)
    return row
