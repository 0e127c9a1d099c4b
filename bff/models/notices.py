"""Notices: one row per thing we may tell a user, with its state machine (design.md, "The notice pipeline").

PLANNED ──policy──▶ SCHEDULED (deferred: quiet hours, best hour) ──▶ QUEUED
PLANNED ──policy──▶ QUEUED ──send job claims──▶ SENDING ──▶ SENT | FAILED | QUEUED (retry)
PLANNED/SCHEDULED/QUEUED ──policy──▶ SUPPRESSED (reason kept)

`dedupe_key` is unique: replayed events and retried jobs never create a second notice.
The arq job id of a send is `send:<notice id>`; only the job that moves a notice from QUEUED to
SENDING (a conditional UPDATE) may call WeChat.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class NoticeStatus(StrEnum):
    PLANNED = "PLANNED"
    SCHEDULED = "SCHEDULED"
    QUEUED = "QUEUED"
    SENDING = "SENDING"
    SENT = "SENT"
    SUPPRESSED = "SUPPRESSED"
    FAILED = "FAILED"


TERMINAL_STATUSES = (NoticeStatus.SENT, NoticeStatus.SUPPRESSED, NoticeStatus.FAILED)


class Notice(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "models.User", related_name="notices", on_delete=fields.CASCADE
    )
    # Orders are referenced by number, not by key: the engine also plans lifecycle notices
    # that belong to no order, and must not depend on the order projection's shape.
    order_no = fields.CharField(max_length=64, null=True, db_index=True)
    topic = fields.CharField(max_length=32)
    template_id = fields.CharField(max_length=128)
    dedupe_key = fields.CharField(max_length=255, unique=True)
    priority = fields.IntField()
    status = fields.CharEnumField(NoticeStatus, max_length=16, default=NoticeStatus.PLANNED, db_index=True)
    reason = fields.CharField(max_length=64, null=True)  # why SUPPRESSED / FAILED / deferred
    detail = fields.TextField(null=True)  # WeChat's errmsg, or words for operators
    values: dict[str, str] = fields.JSONField(default=dict)  # template placeholders, rendered at send time
    node_rank = fields.IntField(null=True)  # position of the node in NODE_ORDER (supersession)
    occurred_at = fields.DatetimeField()  # when the thing happened (event time)
    expires_at = fields.DatetimeField(null=True)
    scheduled_for = fields.DatetimeField(null=True, db_index=True)
    unit_reserved = fields.BooleanField(default=False)  # a consent unit is held for this notice
    unit_reserved_at = fields.DatetimeField(null=True)  # when it was taken (a later zeroing keeps it spent)
    attempts = fields.IntField(default=0)
    sending_since = fields.DatetimeField(null=True)
    # Committed right before the WeChat call: a SENDING row without it never reached WeChat (safe to
    # re-queue); with it and no answer, the outcome is unknown (never resend).
    call_started_at = fields.DatetimeField(null=True)
    outcome_unknown_at = fields.DatetimeField(null=True)  # a send timed out after it was written
    errcode = fields.IntField(null=True)
    msgid = fields.CharField(max_length=32, null=True, db_index=True)  # 64-bit id kept as text
    sent_at = fields.DatetimeField(null=True)
    delivery_status = fields.CharField(max_length=64, null=True)  # from subscribe_msg_sent_event
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    user_id: int

    class Meta:
        table = "notices"
        indexes = (("user_id", "status"), ("status", "sending_since"))


class NoticeOpen(Model):
    """A user opened the mini-program from a notice — recorded once per notice."""

    id = fields.BigIntField(primary_key=True)
    notice: fields.OneToOneRelation[Notice] = fields.OneToOneField(
        "models.Notice", related_name="open", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[Model] = fields.ForeignKeyField(
        "models.User", related_name="notice_opens", on_delete=fields.CASCADE
    )
    scene = fields.IntField(null=True)
    opened_at = fields.DatetimeField()
    local_hour = fields.IntField()  # 0–23 in BUSINESS_TZ: the user's open-hour history

    notice_id: int
    user_id: int

    class Meta:
        table = "notice_opens"


class StoppedTemplate(Model):
    """A template WeChat refused as broken: no send of it is tried until an operator clears it.

    Written on a TEMPLATE_BUG answer (40037, 41030, 43107, 48001, 2000xx), see
    bff/notices/stops.py. One row per template, kept after ``cleared_at`` for the record.
    """

    id = fields.BigIntField(primary_key=True)
    template_id = fields.CharField(max_length=128, unique=True)
    errcode = fields.IntField()
    detail = fields.TextField(default="")  # WeChat's errmsg
    notice_id = fields.BigIntField(null=True)  # the notice whose send was refused
    stopped_at = fields.DatetimeField()
    cleared_at = fields.DatetimeField(null=True)  # None: stopped

    class Meta:
        table = "stopped_templates"
