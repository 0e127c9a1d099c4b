"""Session tokens of the mini-program: who the caller is, until when, signed with SESSION_SECRET.

A token is the base64url (unpadded) of ``version (1 byte) || user id (8 bytes) || expiry (8 bytes,
Unix seconds) || HMAC-SHA256 (32 bytes)`` where the MAC covers a fixed context label and the first
17 bytes. Nothing secret is inside (only an id and a time), nothing is stored server-side, and a
token cannot be altered or extended without the secret. Verification is constant-time and answers
``None`` for anything malformed, forged, from another version or expired.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from datetime import UTC, datetime, timedelta

from bff.models.users import User

__all__ = ["SESSION_TTL", "TOKEN_VERSION", "issue_session_token", "session_user_id", "verify_session_token"]

SESSION_TTL = timedelta(days=7)
TOKEN_VERSION = 1
_CONTEXT = b"lvyue.session.v1:"
_PAYLOAD = struct.Struct(">BQQ")  # version, user id, expiry
_MAC_SIZE = 32
_TOKEN_BYTES = _PAYLOAD.size + _MAC_SIZE
_MAX_TOKEN_CHARS = 128  # a real token has 66 characters; refuse huge headers early


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), _CONTEXT + payload, hashlib.sha256).digest()


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
    payload = _PAYLOAD.pack(TOKEN_VERSION, user_id, expires)
    token = base64.urlsafe_b64encode(payload + _mac(secret, payload)).rstrip(b"=").decode("ascii")
    return token, datetime.fromtimestamp(expires, UTC)


def verify_session_token(secret: str, token: str, *, now: datetime | None = None) -> int | None:
    """The user id of a valid, unexpired token; None otherwise (never raises for bad input)."""
    if not secret or not token or len(token) > _MAX_TOKEN_CHARS or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _TOKEN_BYTES:
        return None
    # The decoder skips characters outside the alphabet; accept only the one canonical spelling.
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
        return None
    payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    version, user_id, expires = _PAYLOAD.unpack(payload)
    if version != TOKEN_VERSION or user_id == 0:
        return None
    current = (now or datetime.now(UTC)).timestamp()
    if current >= expires:
        return None
    return int(user_id)


async def session_user_id(secret: str, token: str, *, now: datetime | None = None) -> int | None:
    """The id of a valid token's user while that user still exists; None otherwise.

    A token outlives a deleted user (nothing is stored server-side); without this check the
    deleted user's writes would fail on their foreign key instead of answering "not signed in".
    """
    user_id = verify_session_token(secret, token, now=now)
    if user_id is None:
        return None
    return user_id if await User.exists(id=user_id) else None
