"""Expected failures of mutations, returned as data (`userErrors`), never as GraphQL errors."""

from __future__ import annotations

import strawberry


@strawberry.type
class UserError:
    code: str = strawberry.field(description="Stable UPPER_SNAKE_CASE code")
    field: str | None
    message: str


# A mutation's answer to a request without a valid session.
UNAUTHENTICATED = UserError(code="UNAUTHENTICATED", field=None, message="sign in first")


class PublicError(Exception):
    """An error whose message may be shown to the caller as-is (not masked)."""
