"""Defaults for decisions nobody made in time: a delivery slot offer or an exception whose deadline
passed undecided gets its default (`decided_by = DEFAULT`, `decided_at = deadline`), and the
supply chain gets the same command a user's decision would have sent, with `decidedBy: DEFAULT`.

Run by the `apply_deadline_defaults` cron every minute. Work is done in bounded batches, each
one transaction that locks its rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so a user deciding
at the same moment and a second worker are never both applied), writes the decisions with a
conditional UPDATE and writes one outbox command per decision. Running it again changes nothing:
only undecided rows are picked, and commands are unique per decision.

Orders the decision no longer concerns are left alone: slots of orders that are delivered,
completed or cancelled; exceptions of orders that are completed or cancelled.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.transactions import in_transaction

from bff import constants
from bff.models.commands import CommandStatus, CommandType, OutboxCommand
from bff.models.orders import (
    OPEN_STATUSES,
    DecidedBy,
    DeliverySlotOffer,
    Order,
    OrderException,
    OrderExceptionLink,
)
from bff.orders.decisions import EXCEPTION_CLOSED, exception_decision_key, slot_decision_key
from bff.supply_chain import commands
from bff.supply_chain.outbox import new_command_id
from bff.supply_chain.sql import db_time, render

log = logging.getLogger("lvyue.deadlines")

__all__ = ["DefaultsApplied", "apply_deadline_defaults", "apply_exception_defaults", "apply_slot_defaults"]


class DefaultsRaced(Exception):
    """A row of the batch was decided by someone else between the read and the write (possible
    only on SQLite, which has no row locks); the batch is rolled back and taken up again."""


@dataclass
class DefaultsApplied:
    slots: int = 0
    exceptions: int = 0
    command_ids: list[UUID] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.slots + self.exceptions


def _command(
    command_type: CommandType, decision_key: str, order_no: str, payload: dict[str, object], now: datetime
) -> OutboxCommand:
    return OutboxCommand(
        command_id=UUID(str(payload["commandId"])),
        type=command_type,
        decision_key=decision_key,
        order_no=order_no,
        payload=payload,
        status=CommandStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
    )


def _fk(row: Model, relation: str) -> int:
    """The id behind a foreign key (tortoise sets `<relation>_id`; the models do not declare it)."""
    return int(getattr(row, f"{relation}_id"))


async def _order_nos(order_ids: set[int]) -> dict[int, str]:
    rows = await Order.filter(id__in=order_ids).values_list("id", "order_no")
    return {int(order_id): str(order_no) for order_id, order_no in rows}


async def _slot_batch(now: datetime, batch_size: int) -> list[UUID]:
    async with in_transaction():
        offers = (
            await DeliverySlotOffer.filter(
                chosen_slot_id__isnull=True, deadline__lte=now, order__status__in=OPEN_STATUSES
            )
            # No ORDER BY, so the (chosen_slot_id, deadline) index serves it (see _exception_batch).
            .limit(batch_size)
            .select_for_update(skip_locked=True, of=(DeliverySlotOffer._meta.db_table,))
        )
        if not offers:
            return []
        updated = await DeliverySlotOffer.filter(
            id__in=[offer.id for offer in offers], chosen_slot_id__isnull=True
        ).update(
            chosen_slot_id=F("default_slot_id"),
            decided_by=DecidedBy.DEFAULT,
            decided_at=F("deadline"),
            updated_at=now,
        )
        if updated != len(offers):
            raise DefaultsRaced(f"{len(offers) - updated} slot offers were decided meanwhile")
        order_nos = await _order_nos({_fk(offer, "order") for offer in offers})
        rows = []
        for offer in offers:
            order_no = order_nos[_fk(offer, "order")]
            payload = commands.delivery_slot_chosen(
                command_id=new_command_id(),
                order_no=order_no,
                slot_id=offer.default_slot_id,
                decided_by=DecidedBy.DEFAULT,
                decided_at=offer.deadline,
            )
            rows.append(
                _command(
                    CommandType.DELIVERY_SLOT_CHOSEN,
                    slot_decision_key(order_no, offer),
                    order_no,
                    payload,
                    now,
                )
            )
        await OutboxCommand.bulk_create(rows, ignore_conflicts=True)
    return [row.command_id for row in rows]


_DUE_EXCEPTION_SQL = (
    "SELECT e.id FROM order_exceptions e WHERE e.deadline <= ? AND EXISTS ("
    " SELECT 1 FROM order_exception_links l JOIN orders o ON o.id = l.order_id"
    " WHERE l.exception_id = e.id AND l.chosen_option IS NULL AND o.status NOT IN ({closed})"
    ") ORDER BY e.deadline, e.id LIMIT 1"
).format(closed=", ".join("?" for _ in EXCEPTION_CLOSED))


async def _due_exception(conn: BaseDBAsyncClient, now: datetime) -> OrderException | None:
    """The expired exception (earliest deadline first) that still has an undecided open order.

    One index probe per expired exception (links by exception_id, chosen_option), so a run with
    nothing to do stays cheap however many decided links the past has left.
    """
    values: list[object] = [db_time(now), *(status.value for status in EXCEPTION_CLOSED)]
    rows = await conn.execute_query_dict(render(conn, _DUE_EXCEPTION_SQL), values)
    return await OrderException.get(id=rows[0]["id"]) if rows else None


async def _exception_batch(now: datetime, batch_size: int) -> list[UUID]:
    async with in_transaction() as conn:
        exception = await _due_exception(conn, now)
        if exception is None:
            return []
        # Ordered like the (exception_id, chosen_option, id) index, so PostgreSQL walks only the
        # undecided links (ordering by id alone walked every decided one first, ~20x slower).
        links = (
            await OrderExceptionLink.filter(
                exception_id=exception.id,
                chosen_option__isnull=True,
                order__status__not_in=EXCEPTION_CLOSED,
            )
            .order_by("exception_id", "chosen_option", "id")
            .limit(batch_size)
            .select_for_update(skip_locked=True, of=(OrderExceptionLink._meta.db_table,))
        )
        if not links:
            return []  # all taken by a concurrent run right now
        updated = await OrderExceptionLink.filter(
            id__in=[link.id for link in links], chosen_option__isnull=True
        ).update(
            chosen_option=exception.default_option,
            decided_by=DecidedBy.DEFAULT,
            decided_at=exception.deadline,
        )
        if updated != len(links):
            raise DefaultsRaced(f"{len(links) - updated} links of {exception.exception_id} decided meanwhile")
        order_nos = await _order_nos({_fk(link, "order") for link in links})
        rows = []
        for link in links:
            order_no = order_nos[_fk(link, "order")]
            payload = commands.exception_resolved(
                command_id=new_command_id(),
                exception_id=exception.exception_id,
                order_no=order_no,
                option=exception.default_option,
                decided_by=DecidedBy.DEFAULT,
                decided_at=exception.deadline,
            )
            rows.append(
                _command(
                    CommandType.EXCEPTION_RESOLVED,
                    exception_decision_key(exception.exception_id, order_no),
                    order_no,
                    payload,
                    now,
                )
            )
        await OutboxCommand.bulk_create(rows, ignore_conflicts=True)
    return [row.command_id for row in rows]


async def apply_slot_defaults(
    *, now: datetime | None = None, batch_size: int = constants.DEADLINE_DEFAULTS_BATCH
) -> list[UUID]:
    """One batch of delivery-slot defaults; returns the ids of the commands written."""
    return await _slot_batch(now or datetime.now(UTC), batch_size)


async def apply_exception_defaults(
    *, now: datetime | None = None, batch_size: int = constants.DEADLINE_DEFAULTS_BATCH
) -> list[UUID]:
    """One batch of exception defaults (one per affected order, all of the exception due
    first); returns the command ids."""
    return await _exception_batch(now or datetime.now(UTC), batch_size)


async def apply_deadline_defaults(
    *,
    now: datetime | None = None,
    batch_size: int = constants.DEADLINE_DEFAULTS_BATCH,
    max_batches: int = constants.DEADLINE_DEFAULTS_MAX_BATCHES,
    time_budget_s: float = constants.DEADLINE_DEFAULTS_TIME_BUDGET_S,
) -> DefaultsApplied:
    """Apply every default that is due, at most `max_batches` batches of each kind and no new
    batch after `time_budget_s` (the rest waits for the next call). Callers queue sends for
    `command_ids` after it returns."""
    moment = now or datetime.now(UTC)
    stop_at = time.monotonic() + time_budget_s
    applied = DefaultsApplied()
    for _ in range(max_batches):
        if time.monotonic() >= stop_at:
            break
        try:
            ids = await apply_slot_defaults(now=moment, batch_size=batch_size)
        except DefaultsRaced as exc:
            log.info("slot defaults: %s; retrying the batch", exc)
            continue
        applied.slots += len(ids)
        applied.command_ids += ids
        if len(ids) < batch_size:
            break
    for _ in range(max_batches):
        if time.monotonic() >= stop_at:
            break
        try:
            ids = await apply_exception_defaults(now=moment, batch_size=batch_size)
        except DefaultsRaced as exc:
            log.info("exception defaults: %s; retrying the batch", exc)
            continue
        applied.exceptions += len(ids)
        applied.command_ids += ids
        if not ids:  # a batch covers one exception: a short one may be followed by another
            break
    if applied.total:
        log.info("deadline defaults: %d slots, %d exception decisions", applied.slots, applied.exceptions)
    return applied
