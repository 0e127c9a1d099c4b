"""The operators' actions (thin: bff/ops/actions.py decides, changes and writes the audit row)."""

from __future__ import annotations

import strawberry

from bff.ops import actions
from schema.ops.actions.types import (
    AcknowledgeAlertPayload,
    OpsUserErrorType,
    ResendNoticePayload,
    RetryCommandPayload,
)
from schema.ops.context import OpsInfo
from schema.ops.search.types import OpsAlertType, OpsCommandType, OpsNoticeType


@strawberry.type
class ActionMutations:
    @strawberry.mutation(description="send a FAILED notice again (the same row; docs/operators.md)")
    async def resend_notice(self, info: OpsInfo, id: strawberry.ID) -> ResendNoticePayload:
        context = info.context
        done = await actions.resend_notice(
            context.resources.arq, operator=context.operator, notice_id=str(id)
        )
        return ResendNoticePayload(
            notice=None if done.target is None else OpsNoticeType.of(done.target, context),
            user_errors=OpsUserErrorType.of(done.refusal),
        )

    @strawberry.mutation(description="a FAILED supply-chain command back to PENDING, due now")
    async def retry_command(self, info: OpsInfo, id: strawberry.ID) -> RetryCommandPayload:
        context = info.context
        done = await actions.retry_command(
            context.resources.arq, operator=context.operator, command_id=str(id)
        )
        return RetryCommandPayload(
            command=None if done.target is None else OpsCommandType.of(done.target, context),
            user_errors=OpsUserErrorType.of(done.refusal),
        )

    @strawberry.mutation(description="mark an alert seen by the caller")
    async def acknowledge_alert(self, info: OpsInfo, id: strawberry.ID) -> AcknowledgeAlertPayload:
        context = info.context
        done = await actions.acknowledge_alert(operator=context.operator, alert_id=str(id))
        return AcknowledgeAlertPayload(
            alert=None if done.target is None else OpsAlertType.of(done.target, context),
            user_errors=OpsUserErrorType.of(done.refusal),
        )
