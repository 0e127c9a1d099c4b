"""Opaque cursors for keyset pages ordered by (time, id), newest first.

A cursor is base64url of ``<list>|<ISO time>|<id>``: the list's name makes a cursor of one list
"not a cursor of this list" on another. Only values a row can have decode (an id within int64, a
time with an offset in 1970–9998), so a forged cursor is a clear error, never a database error.
The mini-program's order list has its own cursor (bff/orders/queries.py); the operators' lists
(bff/ops/search.py) use these.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

__all__ = ["CursorError", "decode_cursor", "encode_cursor"]


class CursorError(ValueError):
    """``after`` is not a cursor of this list."""


def encode_cursor(list_name: str, at: datetime, row_id: int) -> str:
    raw = f"{list_name}|{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(list_name: str, cursor: str) -> tuple[datetime, int]:
    """(time, id) of a cursor of ``list_name``; CursorError for anything else."""
    refusal = CursorError(f"after: {cursor[:80]!r} is not a cursor of this list")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
        name, at_text, id_text = raw.split("|")
        at = datetime.fromisoformat(at_text)
        row_id = int(id_text)
        at_utc = at.astimezone(UTC)
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise refusal from None
    if name != list_name or at.tzinfo is None or not 0 < row_id < 2**63 or not 1970 <= at_utc.year < 9999:
        raise refusal
    return at, row_id
