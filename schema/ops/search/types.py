"""Types of the operators' searches (docs/operators.md)."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from bff.models.commands import OutboxCommand
from bff.models.ops import OpsAudit
from bff.ops import search
from schema.ops.context import OpsContext


@strawberry.type(name="Operator")
class OperatorType:
    name: str


_STATUSES = "PLANNED / SCHEDULED / QUEUED / SENDING / SENT / SUPPRESSED / FAILED"


@strawberry.input(name="NoticeFilter")
class NoticeFilterInput:
    user_id: strawberry.ID | None = None
    openid: str | None = strawberry.field(default=None, description="exact; never echoed back in full")
    order_no: str | None = None
    topic: str | None = None
    status: str | None = strawberry.field(default=None, description=_STATUSES)
    reason: str | None = None
    from_: date | None = strawberry.field(name="from", default=None)
    to: date | None = strawberry.field(default=None, description="on createdAt, inclusive, in BUSINESS_TZ")

    def to_domain(self) -> search.NoticeFilter:
        return search.NoticeFilter(
            user_id=None if self.user_id is None else str(self.user_id),
            openid=self.openid,
            order_no=self.order_no,
            topic=self.topic,
            status=self.status,
            reason=self.reason,
            from_day=self.from_,
            to_day=self.to,
        )


@strawberry.type(name="OpsNotice")
class OpsNoticeType:
    id: strawberry.ID
    user_id: strawberry.ID
    openid_masked: str
    order_no: str | None
    topic: str
    template_id: str
    status: str
    reason: str | None
    errcode: int | None
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    opened_at: datetime | None
    can_resend: bool
    resend_blocked_because: str | None = strawberry.field(
        description="the code resendNotice would answer (NO_UNIT, REASON_FORBIDS …); null when canResend"
    )

    @classmethod
    def of(cls, view: search.NoticeView, context: OpsContext) -> OpsNoticeType:
        return cls(
            id=strawberry.ID(str(view.id)),
            user_id=strawberry.ID(str(view.user_id)),
            openid_masked=view.openid_masked,
            order_no=view.order_no,
            topic=view.topic,
            template_id=view.template_id,
            status=view.status,
            reason=view.reason,
            errcode=view.errcode,
            attempts=view.attempts,
            created_at=context.local(view.created_at),
            sent_at=context.local_or_none(view.sent_at),
            opened_at=context.local_or_none(view.opened_at),
            can_resend=view.can_resend,
            resend_blocked_because=None if view.resend_refusal is None else view.resend_refusal.code,
        )


@strawberry.type(name="NoticePage")
class NoticePageType:
    nodes: list[OpsNoticeType]
    end_cursor: str | None
    has_next_page: bool


@strawberry.type(name="OpsCommand")
class OpsCommandType:
    id: strawberry.ID = strawberry.field(description="the commandId the supply chain sees")
    type: str
    order_no: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    failed_at: datetime | None

    @classmethod
    def of(cls, row: OutboxCommand, context: OpsContext) -> OpsCommandType:
        return cls(
            id=strawberry.ID(str(row.command_id)),
            type=str(row.type.value),
            order_no=row.order_no,
            status=row.status.value,
            attempts=row.attempts,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            next_attempt_at=context.local_or_none(row.next_attempt_at),
            created_at=context.local(row.created_at),
            failed_at=context.local_or_none(row.failed_at),
        )


@strawberry.type(name="CommandPage")
class CommandPageType:
    nodes: list[OpsCommandType]
    end_cursor: str | None
    has_next_page: bool


@strawberry.type(name="OpsAlert")
class OpsAlertType:
    id: strawberry.ID
    kind: str
    template_id: str | None
    user_masked: str | None
    count: int
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @classmethod
    def of(cls, view: search.AlertView, context: OpsContext) -> OpsAlertType:
        return cls(
            id=strawberry.ID(str(view.id)),
            kind=view.kind,
            template_id=view.template_id,
            user_masked=view.user_masked,
            count=view.count,
            first_seen_at=context.local(view.first_seen_at),
            last_seen_at=context.local(view.last_seen_at),
            acknowledged_at=context.local_or_none(view.acknowledged_at),
            acknowledged_by=view.acknowledged_by,
        )


@strawberry.type(name="AlertPage")
class AlertPageType:
    nodes: list[OpsAlertType]
    end_cursor: str | None
    has_next_page: bool


@strawberry.type(name="AuditEntry")
class AuditEntryType:
    id: strawberry.ID
    operator: str
    action: str
    target_kind: str
    target_id: str
    outcome: str
    detail: str | None
    at: datetime

    @classmethod
    def of(cls, row: OpsAudit, context: OpsContext) -> AuditEntryType:
        return cls(
            id=strawberry.ID(str(row.id)),
            operator=row.operator,
            action=row.action,
            target_kind=row.target_kind,
            target_id=row.target_id,
            outcome=row.outcome,
            detail=row.detail,
            at=context.local(row.at),
        )


@strawberry.type(name="AuditPage")
class AuditPageType:
    nodes: list[AuditEntryType]
    end_cursor: str | None
    has_next_page: bool
