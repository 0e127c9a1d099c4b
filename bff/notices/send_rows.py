"""The sender's row changes on PostgreSQL as single hand-written statements (bff/notices/sender.py).

A send used to cost 16 ORM statements and two transactions (one with a savepoint), and building
those queries cost the worker as much CPU as running them (issue 12). On PostgreSQL the sender's
own steps are one statement each here, with the same conditions as the ORM path they replace
(which SQLite, and a sender given another ledger, still take):

* ``load``: the notice and its user's openid (was: the notice, then the openid).
* ``claim``: ``QUEUED → SENDING`` with ``attempts + 1``, answering the claimed row and what the stop
  list says of it at that moment — the user's invalid-openid flag, the template's open stop (was:
  the claim, the notice again, the stop, the flag).
* ``reserve``: lock the claimed row (``status = 'SENDING' AND attempts = <the claim's>``), take one
  unit with the ledger's conditional UPDATE (bff/consent/ledger.py ``reserve_unit``), write its
  SPEND move and mark the notice as holding it — one statement, so one implicit transaction (was:
  BEGIN, SAVEPOINT, UPDATE, INSERT, RELEASE, UPDATE, COMMIT). The notice row is locked before the
  ledger row, in the order settle_sending (the sweeper) takes them.
* ``call_started``: ``call_started_at``, fenced as before.
* ``sent``: SENT with the msgid, and — only when this run moved it — the unsetting of a wrong
  RECONCILED guess of the same msgid on another notice of the user (was: two UPDATEs).

Every data-modifying part of a ``WITH`` runs exactly once on one snapshot; the conditions that
make two workers, or a worker and the sweeper, exclusive are the same row conditions as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from bff.models.consent import LedgerMoveKind
from bff.models.notices import Notice, NoticeStatus

__all__ = ["Claimed", "call_started", "claim", "connection", "load", "on_postgres", "reserve", "sent"]


def connection() -> BaseDBAsyncClient:
    return Notice._meta.db


def on_postgres(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


_LOAD = (
    'SELECT n.*, u.openid AS "_openid" FROM notices n LEFT JOIN users u ON u.id = n.user_id WHERE n.id = $1'
)

_CLAIM = f"""
UPDATE notices SET status = '{NoticeStatus.SENDING}', sending_since = $2, attempts = attempts + 1,
    call_started_at = NULL, outcome_unknown_at = NULL, updated_at = $2
WHERE id = $1 AND status = '{NoticeStatus.QUEUED}'
RETURNING notices.*,
    (SELECT u.openid_invalid_at FROM users u WHERE u.id = notices.user_id) AS "_flagged_at",
    (SELECT s.id FROM stopped_templates s WHERE s.template_id = notices.template_id AND s.cleared_at IS NULL
     ORDER BY s.id LIMIT 1) AS "_stopped_id"
"""

_RESERVE = f"""
WITH n AS (
    SELECT id FROM notices WHERE id = $1 AND status = '{NoticeStatus.SENDING}' AND attempts = $2 FOR UPDATE
), l AS (
    UPDATE consent_ledger SET spent = spent + 1, updated_at = $5
    WHERE user_id = $3 AND template_id = $4 AND banned = false AND granted > spent
        AND EXISTS (SELECT 1 FROM n)
    RETURNING user_id
), m AS (
    INSERT INTO consent_ledger_moves (user_id, template_id, kind, units, at)
    SELECT user_id, $4, '{LedgerMoveKind.SPEND}', 1, $5 FROM l
), u AS (
    UPDATE notices SET unit_reserved = true, unit_reserved_at = $5, updated_at = $5
    WHERE id IN (SELECT id FROM n) AND EXISTS (SELECT 1 FROM l)
)
SELECT (SELECT count(*) FROM n) AS fenced, (SELECT count(*) FROM l) AS reserved
"""

_CALL_STARTED = f"""
UPDATE notices SET call_started_at = $1, updated_at = $1
WHERE id = $2 AND status = '{NoticeStatus.SENDING}' AND attempts = $3 AND call_started_at IS NULL
"""

_SENT = f"""
WITH s AS (
    UPDATE notices SET status = '{NoticeStatus.SENT}', msgid = $3, sent_at = $4, reason = NULL, detail = NULL,
        errcode = NULL, outcome_unknown_at = NULL, updated_at = $4
    WHERE id = $1 AND status = '{NoticeStatus.SENDING}' AND attempts = $2
    RETURNING id
), f AS (
    UPDATE notices SET msgid = NULL, reason = $6, updated_at = $4
    WHERE user_id = $5 AND msgid = $3 AND reason = $7 AND id <> $1 AND EXISTS (SELECT 1 FROM s)
)
SELECT count(*) AS moved FROM s
"""


def _notice(row: Any) -> Notice:
    return Notice._init_from_db(**dict(row))


async def load(conn: BaseDBAsyncClient, notice_id: int) -> tuple[Notice, str | None] | None:
    """The notice and its user's openid (None: no such notice)."""
    _, rows = await conn.execute_query(_LOAD, [notice_id])
    if not rows:
        return None
    row = rows[0]
    return _notice(row), row["_openid"]


@dataclass(frozen=True)
class Claimed:
    """The claimed notice, and the stop list's view of it at the claim."""

    notice: Notice
    flagged_at: datetime | None
    stopped_id: int | None


async def claim(conn: BaseDBAsyncClient, notice_id: int, now: datetime) -> Claimed | None:
    """``QUEUED → SENDING`` (``attempts + 1``); None when the notice was not QUEUED."""
    rows = await conn.execute_query_dict(_CLAIM, [notice_id, now])
    if not rows:
        return None
    row = rows[0]
    return Claimed(_notice(row), row["_flagged_at"], row["_stopped_id"])


async def reserve(
    conn: BaseDBAsyncClient, notice_id: int, attempts: int, user_id: int, template_id: str, now: datetime
) -> tuple[bool, bool]:
    """(still ours, unit reserved): one unit taken and marked on the notice, or nothing changed."""
    _, rows = await conn.execute_query(_RESERVE, [notice_id, attempts, user_id, template_id, now])
    return bool(rows[0]["fenced"]), bool(rows[0]["reserved"])


async def call_started(conn: BaseDBAsyncClient, notice_id: int, attempts: int, now: datetime) -> bool:
    moved, _ = await conn.execute_query(_CALL_STARTED, [now, notice_id, attempts])
    return moved == 1


async def sent(
    conn: BaseDBAsyncClient,
    notice_id: int,
    attempts: int,
    user_id: int,
    msgid: str | None,
    now: datetime,
    *,
    wrong_guess: str,
    guessed: str,
) -> bool:
    """SENT (and a wrong ``guessed`` match of ``msgid`` elsewhere set to ``wrong_guess``); True when
    this run moved the notice."""
    _, rows = await conn.execute_query(
        _SENT, [notice_id, attempts, msgid, now, user_id, wrong_guess, guessed]
    )
    return bool(rows[0]["moved"])
