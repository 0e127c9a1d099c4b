"""The outbox of commands to the supply chain (docs/supply-chain.md, "Out: commands").

A user's decision (or a default applied at a deadline) writes one `OutboxCommand` in the same
transaction as the decision itself, so a committed decision always has its command and a rolled
back one never does. Workers then deliver it to `SUPPLY_CHAIN_CALLBACK_URL` until the receiver
answers 2xx (SENT) or refuses it for good (FAILED, kept for operators).

`payload` is the exact JSON body, `commandId` included; every attempt sends the same body with
`Idempotency-Key: <command_id>`. `decision_key` names the decision the command carries (one
command per decision, enforced by the database).

States: PENDING (waiting for `next_attempt_at`) → SENDING (a worker holds it until
`next_attempt_at`, its lease) → SENT | FAILED, or back to PENDING for a retry.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class CommandStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class CommandType(StrEnum):
    """The `type` of a command, as the contract names it."""

    EXCEPTION_RESOLVED = "exception.resolved"
    DELIVERY_SLOT_CHOSEN = "delivery_slot.chosen"
    RECEIPT_CONFIRMED = "receipt.confirmed"


class OutboxCommand(Model):
    id = fields.BigIntField(primary_key=True)
    command_id = fields.UUIDField(unique=True)
    type = fields.CharEnumField(CommandType, max_length=40)
    # e.g. "delivery_slot:<order_no>:<offered_at>"; unique so a decision cannot yield two commands
    decision_key = fields.CharField(max_length=255, unique=True)
    order_no = fields.CharField(max_length=64, db_index=True)
    payload: dict[str, object] = fields.JSONField()  # type: ignore[assignment]
    status = fields.CharEnumField(CommandStatus, max_length=10, default=CommandStatus.PENDING)
    attempts = fields.IntField(default=0)
    last_status_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=1000, null=True)
    # PENDING: not before this time; SENDING: the sender's lease ends then (a crashed sender's
    # command becomes claimable again).
    next_attempt_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "outbox_commands"
        indexes = (
            ("status", "next_attempt_at"),  # the dispatcher: due PENDING / expired SENDING
            ("status", "id"),  # operators: FAILED commands, keyset pages
        )

    def __str__(self) -> str:
        return f"OutboxCommand({self.command_id} {self.type} {self.status})"
