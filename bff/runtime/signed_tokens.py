"""Signed tokens: a fixed-layout payload and its HMAC-SHA256, base64url without padding.

Session tokens (bff/sessions.py) and notices' open tokens (bff/notices/open_tokens.py) are both
``payload || MAC`` where the MAC covers a context label and the payload, keyed with SESSION_SECRET.
The label keeps one kind of token from ever being read as another. Reading is constant-time and
answers None for anything malformed, forged or spelled other than the one canonical way (the
decoder skips characters outside the alphabet, so ``abc`` and ``a.bc`` would otherwise both pass).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from dataclasses import dataclass

__all__ = ["SignedToken"]


@dataclass(frozen=True)
class SignedToken:
    """One kind of token: its context label, payload layout and MAC length."""

    context: bytes
    payload: struct.Struct
    mac_size: int
    max_chars: int  # longer input is refused before decoding

    def _mac(self, secret: str, payload: bytes) -> bytes:
        return hmac.new(secret.encode("utf-8"), self.context + payload, hashlib.sha256).digest()[
            : self.mac_size
        ]

    def sign(self, secret: str, *fields: int) -> str:
        """The token of ``fields`` (packed with the payload layout), URL-safe, no padding."""
        if not secret:
            raise ValueError("the signing secret must not be empty")
        payload = self.payload.pack(*fields)
        return base64.urlsafe_b64encode(payload + self._mac(secret, payload)).rstrip(b"=").decode("ascii")

    def read(self, secret: str, token: str) -> tuple[int, ...] | None:
        """The fields of a token signed with ``secret``; None for anything else (never raises)."""
        if not secret or not token or len(token) > self.max_chars or not token.isascii():
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(raw) != self.payload.size + self.mac_size:
            return None
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != token:
            return None
        payload, mac = raw[: self.payload.size], raw[self.payload.size :]
        if not hmac.compare_digest(mac, self._mac(secret, payload)):
            return None
        return tuple(int(field) for field in self.payload.unpack(payload))
