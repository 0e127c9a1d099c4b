"""Payloads of the operators' mutations: the target as it is now, and why nothing was done."""

from __future__ import annotations

import strawberry

from bff.ops.rules import Refusal
from schema.ops.search.types import OpsAlertType, OpsCommandType, OpsNoticeType


@strawberry.type(name="OpsUserError")
class OpsUserErrorType:
    code: str = strawberry.field(
        description="NOT_FOUND, NOT_FAILED, ALREADY_SENT, EXPIRED, REASON_FORBIDS, TEMPLATE_STOPPED, "
        "OPENID_INVALID, NO_UNIT, NOT_RETRYABLE"
    )
    message: str

    @classmethod
    def of(cls, refusal: Refusal | None) -> list[OpsUserErrorType]:
        return [] if refusal is None else [cls(code=refusal.code, message=refusal.message)]


@strawberry.type(name="ResendNoticePayload")
class ResendNoticePayload:
    notice: OpsNoticeType | None
    user_errors: list[OpsUserErrorType]


@strawberry.type(name="RetryCommandPayload")
class RetryCommandPayload:
    command: OpsCommandType | None
    user_errors: list[OpsUserErrorType]


@strawberry.type(name="AcknowledgeAlertPayload")
class AcknowledgeAlertPayload:
    alert: OpsAlertType | None
    user_errors: list[OpsUserErrorType]
