"""Who is calling the operators' API: the name of the OPS_API_KEY entry a bearer key matches.

The key is compared with every configured key with ``hmac.compare_digest`` (no early exit on the
first match, nor on the first differing byte), so the time an answer takes says nothing about
which key, or which prefix of one, came close.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

__all__ = ["bearer_token", "operator_for"]


def operator_for(keys: Sequence[tuple[str, str]], presented: str) -> str | None:
    """The operator name of ``presented`` among ``keys`` ((name, key) pairs); None if none matches."""
    given = presented.encode("utf-8", "surrogatepass")
    found: str | None = None
    for name, key in keys:
        if hmac.compare_digest(key.encode("utf-8"), given) and found is None:
            found = name
    return found


def bearer_token(authorization: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value; None without one."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
