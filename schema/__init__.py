"""The mini-program's GraphQL schema: the root types compose every domain package."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry import Schema
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, MaxTokensLimiter, QueryDepthLimiter
from strawberry.tools import merge_types

from schema.account.mutations import AccountMutations
from schema.account.queries import AccountQueries
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
    original = error.original_error
    if original is None or isinstance(original, GraphQLError | PublicError):
        return False  # parse/validation/permission errors and our public errors are safe to show
    return True


def build_schema() -> Schema:
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: MaskErrors(should_mask_error=_should_mask),
        ],
    )


schema = build_schema()
