"""Open tokens: the ``n=`` value in a notice's page, which says which notice a tap opened.

A token is the base64url (unpadded) of ``version (1 byte) || notice id (8 bytes) || MAC (12 bytes)``,
where the MAC is HMAC-SHA256 over a fixed context label and the first 9 bytes, keyed with
SESSION_SECRET and cut to 96 bits. 28 characters fit any page query. The context label keeps an
open token from ever being read as a session token (and the other way round). Tokens do not
expire: a user may open a card days after it arrived. Nothing secret is inside; the token only
proves that we issued it for that notice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct

__all__ = ["TOKEN_VERSION", "issue_open_token", "verify_open_token"]

TOKEN_VERSION = 1
_CONTEXT = b"lvyue.notice-open.v1:"
_PAYLOAD = struct.Struct(">BQ")  # version, notice id
_MAC_SIZE = 12
_TOKEN_BYTES = _PAYLOAD.size + _MAC_SIZE
_MAX_TOKEN_CHARS = 64  # a real token has 28 characters


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), _CONTEXT + payload, hashlib.sha256).digest()[:_MAC_SIZE]


def issue_open_token(secret: str, notice_id: int) -> str:
    """The signed token of ``notice_id`` (URL-safe, no padding)."""
    if not secret:
        raise ValueError("the signing secret must not be empty")
    if not 0 < notice_id < 2**63:
        raise ValueError(f"notice id must be a positive 63-bit integer, got {notice_id}")
    payload = _PAYLOAD.pack(TOKEN_VERSION, notice_id)
    return base64.urlsafe_b64encode(payload + _mac(secret, payload)).rstrip(b"=").decode("ascii")


def verify_open_token(secret: str, token: str) -> int | None:
    """The notice id of a token we issued; None for anything malformed, forged or of another version."""
    if not secret or not token or len(token) > _MAX_TOKEN_CHARS or not token.isascii():
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _TOKEN_BYTES:
        return None
    payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    version, notice_id = _PAYLOAD.unpack(payload)
    if version != TOKEN_VERSION or not 0 < notice_id < 2**63:
        return None
    return int(notice_id)
