"""Session tokens of the mini-program: who the caller is, until when, signed with SESSION_SECRET.

A token is the base64url (unpadded) of ``version (1 byte) || user id (8 bytes) || expiry (8 bytes,
Unix seconds) || HMAC-SHA256 (32 bytes)`` where the MAC covers a fixed context label and the first
17 bytes (bff/runtime/signed_tokens.py). Nothing secret is inside (only an id and a time), nothing
is stored server-side, and a token cannot be altered or extended without the secret. Verification
is constant-time and answers ``None`` for anything malformed, forged, not spelled the one canonical
way, from another version or expired.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

from bff.models.users import User
from bff.runtime.prepared import select
from bff.runtime.signed_tokens import SignedToken

__all__ = ["SESSION_TTL", "TOKEN_VERSION", "issue_session_token", "session_user_id", "verify_session_token"]

SESSION_TTL = timedelta(days=7)
TOKEN_VERSION = 1
_TOKEN = SignedToken(
    context=b"lvyue.session.v1:",
    payload=struct.Struct(">BQQ"),  # version, user id, expiry
    mac_size=32,
    max_chars=128,  # a real token has 66 characters; refuse huge headers early
)


def issue_session_token(
    secret: str, user_id: int, ttl: timedelta = SESSION_TTL, *, now: datetime | None = None
) -> tuple[str, datetime]:
    """A signed token for ``user_id`` and its expiry (UTC, whole seconds)."""
    if not secret:
        raise ValueError("session secret must not be empty")
    if not 0 < user_id < 2**63:
        raise ValueError(f"user id must be a positive 63-bit integer, got {user_id}")
    if ttl <= timedelta(0):
        raise ValueError(f"ttl must be positive, got {ttl}")
    issued = now or datetime.now(UTC)
    expires = int((issued + ttl).timestamp())
    return _TOKEN.sign(secret, TOKEN_VERSION, user_id, expires), datetime.fromtimestamp(expires, UTC)


def verify_session_token(secret: str, token: str, *, now: datetime | None = None) -> int | None:
    """The user id of a valid, unexpired token; None otherwise (never raises for bad input)."""
    fields = _TOKEN.read(secret, token)
    if fields is None:
        return None
    version, user_id, expires = fields
    if version != TOKEN_VERSION or user_id == 0:
        return None
    current = (now or datetime.now(UTC)).timestamp()
    if current >= expires:
        return None
    return user_id


async def session_user_id(secret: str, token: str, *, now: datetime | None = None) -> int | None:
    """The id of a valid token's user while that user still exists; None otherwise.

    A token outlives a deleted user (nothing is stored server-side); without this check the
    deleted user's writes would fail on their foreign key instead of answering "not signed in".
    """
    user_id = verify_session_token(secret, token, now=now)
    if user_id is None:
        return None
    # One statement per authenticated request: its SQL is kept once built (bff/runtime/prepared.py).
    found = await select(User, "session-user", [user_id], lambda: User.filter(id=user_id).only("id"))
    return user_id if found else None
