"""Message-push events as received from WeChat: one row per event (per ``List`` item).

The receiver stores rows and answers ``success`` at once; a worker job handles each row later.
``dedupe_key`` is unique, so WeChat's retries of the same push (it retries when no answer comes
within 5 s) insert nothing new.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class PushEventStatus(StrEnum):
    RECEIVED = "RECEIVED"  # stored; a handle_push_event job is queued
    HANDLED = "HANDLED"  # the job ran the handlers
    FAILED = "FAILED"  # the job gave up; `error` says why


class PushEvent(Model):
    id = fields.BigIntField(primary_key=True)
    # sha256 of FromUserName|CreateTime|Event|TemplateId(|MsgID), see bff.wechat.push.dedupe_key.
    dedupe_key = fields.CharField(max_length=64, unique=True)
    event = fields.CharField(max_length=64)  # Event name (or MsgType for non-event messages)
    openid = fields.CharField(max_length=64, db_index=True)
    template_id = fields.CharField(max_length=128, null=True)
    msgid = fields.CharField(max_length=32, null=True, db_index=True)  # sent events: matches send's msgid
    create_time = fields.BigIntField()  # WeChat's CreateTime, Unix seconds
    # The typed event's own fields (status, popup scene, error code, ...) to rebuild it in the job.
    details: dict[str, Any] = fields.JSONField(default=dict)  # type: ignore[assignment]
    body = fields.TextField()  # the whole plaintext push body, as received (decrypted in secure mode)
    body_format = fields.CharField(max_length=8)  # xml / json
    secure = fields.BooleanField(default=False)
    status = fields.CharEnumField(PushEventStatus, max_length=16, default=PushEventStatus.RECEIVED)
    received_at = fields.DatetimeField(auto_now_add=True)
    handled_at = fields.DatetimeField(null=True)
    error = fields.TextField(null=True)

    class Meta:
        table = "push_events"

    def __str__(self) -> str:
        return f"PushEvent({self.id}, {self.event})"
