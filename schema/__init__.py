"""The mini-program's GraphQL schema: the root types compose every domain package."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from graphql import (
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
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.account.mutations import AccountMutations
from schema.account.queries import AccountQueries
from schema.edge import BriefErrorLogSchema, NoUnstorableStringLiterals
from schema.errors import PublicError
from schema.lifecycle.mutations import LifecycleMutations
from schema.lifecycle.queries import LifecycleQueries
from schema.notices.mutations import NoticeMutations
from schema.orders.mutations import OrderMutations
from schema.orders.queries import OrderQueries
from schema.subscriptions.mutations import SubscriptionMutations
from schema.subscriptions.queries import SubscriptionQueries

# Each domain package adds its root classes here (saleor-style composition).
QUERIES: tuple[type, ...] = (AccountQueries, SubscriptionQueries, OrderQueries, LifecycleQueries)
MUTATIONS: tuple[type, ...] = (
    AccountMutations,
    SubscriptionMutations,
    OrderMutations,
    NoticeMutations,
    LifecycleMutations,
)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS) if MUTATIONS else None

MAX_DEPTH = 10
MAX_TOKENS = 3000
MAX_ALIASES = 20


def _should_mask(error: GraphQLError) -> bool:
    # parse/validation/permission errors and our public errors are safe to show
    original = error.original_error
    return not (original is None or isinstance(original, GraphQLError | PublicError))


# graphql-core appends " Did you mean 'x', 'y', or 'z'?" to unknown field, argument, type and
# enum value errors; in production that lists the schema to anyone guessing names.
SUGGESTION_RE = re.compile(r" Did you mean .*\?$", re.DOTALL)


class HideSuggestions(SchemaExtension):
    """Production: strip "did you mean" hints from validation and variable errors."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        errors = [*(self.execution_context.pre_execution_errors or ()), *((result and result.errors) or ())]
        for error in errors:
            error.message = SUGGESTION_RE.sub("", error.message)


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


def build_schema(
    *, production: bool = False, query: type = Query, mutation: type | None = Mutation
) -> BriefErrorLogSchema:
    """Production: no introspection, no "did you mean" hints, and the depth limit counts
    introspection fields. Elsewhere GraphiQL needs introspection (its query is deeper than
    MAX_DEPTH), so strawberry's limiter, which skips introspection, applies.

    ``query`` / ``mutation``: the root types (the mini-program's by default; the operators'
    schema, schema/ops/, passes its own and gets the same limits)."""
    hardening: list[Any] = (
        [
            lambda: AddValidationRules([NoSchemaIntrospectionCustomRule, DepthIncludingIntrospection]),
            HideSuggestions,
        ]
        if production
        else [lambda: QueryDepthLimiter(max_depth=MAX_DEPTH)]
    )
    return BriefErrorLogSchema(
        query=query,
        mutation=mutation,
        config=StrawberryConfig(disable_field_suggestions=production),
        extensions=[
            *hardening,
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: AddValidationRules([NoUnstorableStringLiterals]),
            lambda: MaskErrors(should_mask_error=_should_mask),
        ],
    )


schema = build_schema()


@functools.cache
def schema_for(*, production: bool) -> BriefErrorLogSchema:
    """The schema a web process serves (built once per kind)."""
    return schema if not production else build_schema(production=True)
