"""The limits every GraphQL document meets, checked once per distinct document.

One extension per request (`Hardening`) does what six did: it sets the token limit for the
parser, adds the validation rules (depth, aliases, unstorable literals, and in production no
introspection with a depth that counts it), masks our code's errors and, in production, strips
"did you mean" hints. The rule classes are built once per schema (`Policy`), so a document's
validation does not depend on the request.

`ValidatedDocuments` remembers, by document text, the parsed documents that passed every rule
(an LRU of `VALIDATED_DOCUMENTS` entries): a document seen before skips parsing and validation,
which cost about two thirds of an `OrderDetail`'s CPU (issue 12). Only documents without errors
are remembered, so a refused document is parsed and validated again each time and its errors are
exactly those of a first request. Validation depends on the schema and the document text alone
(never on variables, the caller or the operation name), so a remembered document answers the
same as a fresh one.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
)
from strawberry.extensions import MaskErrors
from strawberry.extensions.max_aliases import create_validator as aliases_validator
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator

from schema.edge import NoUnstorableStringLiterals
from schema.errors import PublicError

MAX_DEPTH = 10
MAX_TOKENS = 3000
MAX_ALIASES = 20
# Distinct valid documents remembered per schema; the mini-program sends about twenty.
VALIDATED_DOCUMENTS = 512

# graphql-core appends " Did you mean 'x', 'y', or 'z'?" to unknown field, argument, type and
# enum value errors; in production that lists the schema to anyone guessing names.
SUGGESTION_RE = re.compile(r" Did you mean .*\?$", re.DOTALL)


def should_mask(error: GraphQLError) -> bool:
    # parse/validation/permission errors and our public errors are safe to show
    original = error.original_error
    return not (original is None or isinstance(original, GraphQLError | PublicError))


def _selection_depth(
    selection_set: SelectionSetNode | None, context: ValidationContext, seen_fragments: frozenset[str]
) -> int:
    """Deepest field nesting under `selection_set`, introspection fields included."""
    if selection_set is None:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            depth = 1 + _selection_depth(selection.selection_set, context, seen_fragments)
        elif isinstance(selection, InlineFragmentNode):
            depth = _selection_depth(selection.selection_set, context, seen_fragments)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            if fragment is None or name in seen_fragments:  # other rules report these
                continue
            depth = _selection_depth(fragment.selection_set, context, seen_fragments | {name})
        else:
            continue
        deepest = max(deepest, depth)
    return deepest


class DepthIncludingIntrospection(ValidationRule):
    """The depth limit for production: unlike strawberry's limiter, `__schema`/`__type`/`__typename`
    selections count like any other field (strawberry skips them)."""

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> None:
        depth = _selection_depth(node.selection_set, self.context, frozenset())
        if depth > MAX_DEPTH:
            name = node.name.value if node.name else "anonymous"
            self.report_error(
                GraphQLError(f"'{name}' exceeds maximum operation depth of {MAX_DEPTH}", [node])
            )


class ValidatedDocuments:
    """Parsed documents that passed validation, by document text (least recently used out)."""

    def __init__(self, size: int = VALIDATED_DOCUMENTS) -> None:
        self.size = size
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()

    def get(self, text: str) -> DocumentNode | None:
        document = self._documents.get(text)
        if document is not None:
            self._documents.move_to_end(text)
        return document

    def put(self, text: str, document: DocumentNode) -> None:
        self._documents[text] = document
        self._documents.move_to_end(text)
        while len(self._documents) > self.size:
            self._documents.popitem(last=False)

    def __len__(self) -> int:
        return len(self._documents)


@dataclass
class Policy:
    """What a schema checks, built once: the same rule classes for every request (and so the same
    validation for the same document)."""

    production: bool
    rules: tuple[type[ASTValidationRule], ...] = ()
    documents: ValidatedDocuments = field(default_factory=ValidatedDocuments)

    def __post_init__(self) -> None:
        # Development: strawberry's depth limiter, which skips introspection (GraphiQL's own query
        # is deeper than MAX_DEPTH). Production: no introspection, and the depth counts it.
        depth: list[type[ASTValidationRule]] = (
            [NoSchemaIntrospectionCustomRule, DepthIncludingIntrospection]
            if self.production
            else [depth_validator(MAX_DEPTH, None)]
        )
        self.rules = (*depth, aliases_validator(MAX_ALIASES), NoUnstorableStringLiterals)


class Hardening(MaskErrors):
    """Per request: the policy's limits and rules, documents validated once, errors masked (and in
    production stripped of suggestions)."""

    def __init__(self, policy: Policy) -> None:
        super().__init__(should_mask_error=should_mask)
        self.policy = policy
        self._remembered = False

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = context.validation_rules + self.policy.rules
        yield from super().on_operation()  # masks our code's errors once the operation ran
        if self.policy.production:
            result = context.result
            errors = [*(context.pre_execution_errors or ()), *((result and result.errors) or ())]
            for error in errors:
                error.message = SUGGESTION_RE.sub("", error.message)

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is None and context.query:
            document = self.policy.documents.get(context.query)
            if document is not None:
                context.graphql_document = document  # strawberry then skips parsing
                self._remembered = True
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if self._remembered:
            context.pre_execution_errors = []  # validated when first seen: strawberry skips it
        yield
        if (
            not self._remembered
            and context.pre_execution_errors == []
            and context.query
            and context.graphql_document is not None
        ):
            self.policy.documents.put(context.query, context.graphql_document)
