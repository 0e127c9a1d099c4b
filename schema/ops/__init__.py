"""The operators' GraphQL schema, served on POST /ops/graphql (bff/web/ops_graphql.py).

One subpackage per area, composed here like the mini-program's schema (schema/__init__.py), whose
limits it shares (depth, tokens, aliases, error masking, production hardening) through
``build_schema``. docs/operators.md describes it.
"""

from __future__ import annotations

import functools

from strawberry.tools import merge_types

from schema import build_schema
from schema.edge import BriefErrorLogSchema
from schema.ops.actions.mutations import ActionMutations
from schema.ops.insight.queries import InsightQuery
from schema.ops.search.queries import SearchQueries

# Each area adds its root classes here.
QUERIES: tuple[type, ...] = (SearchQueries, InsightQuery)
MUTATIONS: tuple[type, ...] = (ActionMutations,)

Query = merge_types("Query", QUERIES)
Mutation = merge_types("Mutation", MUTATIONS)

ops_schema = build_schema(query=Query, mutation=Mutation)


@functools.cache
def ops_schema_for(*, production: bool) -> BriefErrorLogSchema:
    """The operators' schema a web process serves (built once per kind)."""
    return ops_schema if not production else build_schema(production=True, query=Query, mutation=Mutation)
