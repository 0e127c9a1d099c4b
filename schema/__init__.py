"""The mini-program's GraphQL schema: the root types compose every domain package."""

from __future__ import annotations

import functools

from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from schema.account.mutations import AccountMutations
from schema.account.queries import AccountQueries
from schema.edge import BriefErrorLogSchema
from schema.hardening import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS, Hardening, Policy
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

__all__ = ["MAX_ALIASES", "MAX_DEPTH", "MAX_TOKENS", "build_schema", "schema", "schema_for"]


def build_schema(
    *, production: bool = False, query: type = Query, mutation: type | None = Mutation
) -> BriefErrorLogSchema:
    """Production: no introspection, no "did you mean" hints, and the depth limit counts
    introspection fields. Elsewhere GraphiQL needs introspection (its query is deeper than
    MAX_DEPTH), so strawberry's limiter, which skips introspection, applies (schema/hardening.py).

    One extension per request, built from a policy made here once: its rule classes are the same
    for every request, so each distinct valid document is parsed and validated once.

    ``query`` / ``mutation``: the root types (the mini-program's by default; the operators'
    schema, schema/ops/, passes its own and gets the same limits)."""
    policy = Policy(production=production)
    return BriefErrorLogSchema(
        query=query,
        mutation=mutation,
        config=StrawberryConfig(disable_field_suggestions=production),
        extensions=[lambda: Hardening(policy)],
    )


schema = build_schema()


@functools.cache
def schema_for(*, production: bool) -> BriefErrorLogSchema:
    """The schema a web process serves (built once per kind)."""
    return schema if not production else build_schema(production=True)
