"""Consent: what each user allowed us to send, what they want, and what they were asked.

One-time subscription consent is a consumable (docs/design.md): each accept of a template buys
one send of it. ``ConsentLedger`` keeps the budget per (user, template); ``ConsentCredit`` keeps
the evidence of each accept, so an accept reported by the mini-program *and* pushed by WeChat is
counted once (bff/consent/matching.py, docs/architecture.md).
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from bff.models.users import User


class WeChatStatus(StrEnum):
    """What WeChat last said about a (user, template) pair."""

    ACCEPT = "ACCEPT"
    REJECT = "REJECT"
    BAN = "BAN"
    NOT_ASKED = "NOT_ASKED"


class CreditSource(StrEnum):
    REPORT = "REPORT"  # the mini-program reported wx.requestSubscribeMessage's answer
    PUSH = "PUSH"  # WeChat pushed subscribe_msg_popup_event


class ConsentLedger(Model):
    """The consent budget of one user for one template: remaining = granted - spent, never negative.

    Counters only move through conditional UPDATEs (bff/consent/ledger.py), never read-then-write.
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="consent_ledgers", on_delete=fields.CASCADE
    )
    template_id = fields.CharField(max_length=128)
    granted = fields.IntField(default=0)
    spent = fields.IntField(default=0)
    wechat_status = fields.CharEnumField(WeChatStatus, max_length=16, default=WeChatStatus.NOT_ASKED)
    # The user ticked "always keep this choice" for this template (wechat-platform.md §3.3).
    always_keep = fields.BooleanField(default=False)
    # WeChat answered `ban`: the template is unusable for this user until WeChat says accept again.
    banned = fields.BooleanField(default=False)
    # When the last unit was granted (for operators: voids use the dated ConsentLedgerMove rows).
    last_credit_at = fields.DatetimeField(null=True)
    # The moment of the latest void WeChat made (a change event's CreateTime, the start of a send
    # answered 43101): a reservation made before it is not given back on release.
    zeroed_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    user_id: int

    class Meta:
        table = "consent_ledger"
        unique_together = (("user", "template_id"),)

    @property
    def remaining(self) -> int:
        return max(0, self.granted - self.spent)


class LedgerMoveKind(StrEnum):
    GRANT = "GRANT"  # an accept granted units
    SPEND = "SPEND"  # a unit was reserved for a send
    VOID = "VOID"  # WeChat said nothing is left (43101 or a change event) as of ``at``


class ConsentLedgerMove(Model):
    """One dated move of a (user, template) budget: the ledger's memory of WHEN units came and went.

    The counters of ``ConsentLedger`` say how many units are left; these rows say which grants
    and spends are newer than a void that is handled late (a change event processed after a
    newer accept), so the void takes exactly the units WeChat voided (bff/consent/ledger.py).
    A spend given back (release) deletes its SPEND row.
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="consent_ledger_moves", on_delete=fields.CASCADE
    )
    template_id = fields.CharField(max_length=128)
    kind = fields.CharEnumField(LedgerMoveKind, max_length=8)
    units = fields.IntField()  # GRANT: units granted, SPEND: 1, VOID: 0
    at = fields.DatetimeField()  # when it happened (WeChat's time for grants and voids)

    user_id: int

    class Meta:
        table = "consent_ledger_moves"
        indexes = (("user_id", "template_id", "at"),)


class ConsentCredit(Model):
    """One piece of evidence that the user accepted a template: a client report item or a push item.

    ``source_key`` makes each piece idempotent (``report:<requestId>:<templateId>`` or
    ``push:<digest of the push item>``). A credit either granted a unit (``granted``) or was
    matched to an earlier credit of the other source that already did (``matched_id``).
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="consent_credits", on_delete=fields.CASCADE
    )
    template_id = fields.CharField(max_length=128)
    source = fields.CharEnumField(CreditSource, max_length=8)
    source_key = fields.CharField(max_length=200, unique=True)
    occurred_at = fields.DatetimeField()
    granted = fields.BooleanField(default=False)
    matched_id = fields.BigIntField(null=True)  # the credit of the other source this one pairs with
    created_at = fields.DatetimeField(auto_now_add=True)

    user_id: int

    class Meta:
        table = "consent_credits"
        indexes = (("user_id", "template_id", "occurred_at"),)


class Preferences(Model):
    """One row per user — absent means the defaults of bff/consent/preferences.py."""

    id = fields.BigIntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "models.User", related_name="preferences", on_delete=fields.CASCADE
    )
    # WeChat's subscription main switch as the mini-program last reported it (wx.getSetting).
    main_switch = fields.BooleanField(default=True)
    # Quiet hours as HH:MM in the business time zone; both null = no quiet hours.
    quiet_start = fields.CharField(max_length=5, null=True)
    quiet_end = fields.CharField(max_length=5, null=True)
    weekly_limit = fields.IntField(default=5)
    updated_at = fields.DatetimeField(auto_now=True)

    user_id: int

    class Meta:
        table = "preferences"


class TopicPreference(Model):
    """A topic the user switched on or off — absent means the topic's default (on)."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="topic_preferences", on_delete=fields.CASCADE
    )
    topic = fields.CharField(max_length=40)
    enabled = fields.BooleanField()
    updated_at = fields.DatetimeField(auto_now=True)

    user_id: int

    class Meta:
        table = "topic_preferences"
        unique_together = (("user", "topic"),)


class SubscribeRequestLog(Model):
    """A `subscribeRequest` answer: which template ids the mini-program was told to ask for."""

    id = fields.BigIntField(primary_key=True)
    request_id = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="subscribe_requests", on_delete=fields.CASCADE
    )
    moment = fields.CharField(max_length=32)
    order_no = fields.CharField(max_length=64, null=True)
    template_ids: list[str] = fields.JSONField(default=list)  # type: ignore[assignment]
    created_at = fields.DatetimeField(auto_now_add=True)
    reported_at = fields.DatetimeField(null=True)
    # template id → the status the mini-program reported for it (the first answer stands)
    results: dict[str, str] = fields.JSONField(default=dict)  # type: ignore[assignment]

    user_id: int

    class Meta:
        table = "subscribe_requests"
        indexes = (("user_id", "created_at"),)


class OpsAlert(Model):
    """Something operators must look at (a banned template, a filtered request, ...).

    One row per fingerprint (kind + user + template) — repeats bump ``count`` and ``last_seen_at``.
    """

    id = fields.BigIntField(primary_key=True)
    fingerprint = fields.CharField(max_length=255, unique=True)
    kind = fields.CharField(max_length=32)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="ops_alerts", on_delete=fields.CASCADE, null=True
    )
    template_id = fields.CharField(max_length=128, null=True)
    detail = fields.TextField(default="")
    count = fields.IntField(default=1)
    first_seen_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    resolved_at = fields.DatetimeField(null=True)
    # An operator saw it (acknowledgeAlert on /ops/graphql): when and who (the key's name). It
    # needs attention again once seen after that (last_seen_at > acknowledged_at).
    acknowledged_at = fields.DatetimeField(null=True)
    acknowledged_by = fields.CharField(max_length=64, null=True)

    user_id: int | None

    class Meta:
        table = "ops_alerts"
