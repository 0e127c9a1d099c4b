"""What the schema does with hostile or broken input: refuse unstorable string literals during
validation, and log errors in one short line instead of the whole document."""

from __future__ import annotations

import logging
from typing import Any

from graphql import GraphQLError, StringValueNode, ValidationRule
from strawberry import Schema
from strawberry.types import ExecutionContext

from bff.untrusted import unstorable_text
from schema.errors import PublicError

log = logging.getLogger("lvyue.graphql")

_LOGGED_MESSAGE_CHARS = 200


class NoUnstorableStringLiterals(ValidationRule):
    """A string literal in the document with NUL or a lone surrogate (``"\\u0000"`` decodes to
    one) is a validation error; variables are checked at the HTTP edge (bff/web/graphql.py)."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        reason = unstorable_text(node.value)
        if reason is not None:
            self.report_error(GraphQLError(f"String value {reason}.", node))


def _brief(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _LOGGED_MESSAGE_CHARS else flat[: _LOGGED_MESSAGE_CHARS - 1] + "…"


class BriefErrorLogSchema(Schema):
    """Logs each error as one line: the caller's mistakes (syntax, validation, variables, public
    errors) at INFO, failures of our code at ERROR with their traceback. Never the document or
    the variables: a 60 KB query must not become 60 KB of log, nor a caller's input a log line."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        operation = (execution_context.operation_name if execution_context else None) or "-"
        for error in errors:
            path = ".".join(str(part) for part in error.path) if error.path else "-"
            original = error.original_error
            if original is None or isinstance(original, GraphQLError | PublicError):
                log.info(
                    "graphql request refused (operation %s, path %s): %s",
                    _brief(operation),
                    path,
                    _brief(error.message),
                )
            else:
                log.error(
                    "graphql resolver failed (operation %s, path %s): %s",
                    _brief(operation),
                    path,
                    type(original).__name__,
                    exc_info=original,
                )
