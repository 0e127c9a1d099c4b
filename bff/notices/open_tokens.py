"""Open tokens: the ``n=`` value in a notice's page, which says which notice a tap opened.

A token is the base64url (unpadded) of ``version (1 byte) || notice id (8 bytes) || MAC (12 bytes)``,
where the MAC is HMAC-SHA256 over a fixed context label and the first 9 bytes, keyed with
SESSION_SECRET and cut to 96 bits (bff/runtime/signed_tokens.py). 28 characters fit any page
query. The context label keeps an open token from ever being read as a session token (and the
other way round). Tokens do not expire: a user may open a card days after it arrived. Nothing
secret is inside; the token only proves that we issued it for that notice.
"""

from __future__ import annotations

import struct

from bff.runtime.signed_tokens import SignedToken

__all__ = ["TOKEN_VERSION", "issue_open_token", "verify_open_token"]

TOKEN_VERSION = 1
_TOKEN = SignedToken(
    context=b"lvyue.notice-open.v1:",
    payload=struct.Struct(">BQ"),  # version, notice id
    mac_size=12,
    max_chars=64,  # a real token has 28 characters
)


def issue_open_token(secret: str, notice_id: int) -> str:
    """The signed token of ``notice_id`` (URL-safe, no padding)."""
    if not 0 < notice_id < 2**63:
        raise ValueError(f"notice id must be a positive 63-bit integer, got {notice_id}")
    return _TOKEN.sign(secret, TOKEN_VERSION, notice_id)


def verify_open_token(secret: str, token: str) -> int | None:
    """The notice id of a token we issued; None for anything malformed, forged, not spelled the one
    canonical way, or of another version."""
    fields = _TOKEN.read(secret, token)
    if fields is None:
        return None
    version, notice_id = fields
    if version != TOKEN_VERSION or not 0 < notice_id < 2**63:
        return None
    return notice_id
