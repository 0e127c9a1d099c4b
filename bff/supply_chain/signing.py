"""HMAC signing of supply-chain requests, both directions (docs/supply-chain.md, "Signing").

``X-Signature: sha256=<hex HMAC-SHA256(secret, "<X-Timestamp>." + raw body)>``; a request whose
timestamp is more than ``tolerance_s`` away from our clock is refused so a captured request
cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP_HEADER = "X-Timestamp"
SIGNATURE_HEADER = "X-Signature"
SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE_S = 300


class SignatureError(Exception):
    """A request failed signature checking; ``reason`` is one of the fixed strings below."""

    MISSING = "missing signature"
    BAD = "bad signature"
    STALE = "stale timestamp"
    BAD_TIMESTAMP = "bad timestamp"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Signature`` value for ``body`` sent at ``timestamp`` (Unix seconds as text)."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("utf-8") + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Headers for an outgoing signed JSON request."""
    timestamp = str(int(time.time() if now is None else now))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    tolerance_s: int = DEFAULT_TOLERANCE_S,
) -> None:
    """Raise SignatureError unless ``body`` carries a valid, fresh signature. Header names are
    matched case-insensitively."""
    timestamp = _header(headers, TIMESTAMP_HEADER)
    signature = _header(headers, SIGNATURE_HEADER)
    if not timestamp or not signature:
        raise SignatureError(SignatureError.MISSING)
    timestamp = timestamp.strip()
    # Plain decimal digits only: int() would also take "+1_700_000_000" or " 17e8".
    if not timestamp.isascii() or not timestamp.isdigit():
        raise SignatureError(SignatureError.BAD_TIMESTAMP)
    expected = sign(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode("ascii"), signature.strip().encode("utf-8")):
        raise SignatureError(SignatureError.BAD)
    current = time.time() if now is None else now
    if abs(current - int(timestamp)) > tolerance_s:
        raise SignatureError(SignatureError.STALE)
