"""POST /ops/graphql: the operators' schema (schema/ops/) behind OPS_API_KEY.

The shared GraphQL view (bff/web/graphql.py: body cap, JSON shape checks) with another caller
check, made before the body is read:

- OPS_API_KEY unset: 503, the operators' API is disabled;
- no `Authorization: Bearer <key>`, or a key that is none of OPS_API_KEY's (a mini-program
  session token included): 401, and nothing runs;
- otherwise the key's name is the operator (`operator`, the audit log's "who").

GET is not routed (405): there is no IDE here.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.websockets import WebSocket
from strawberry.schema.base import BaseSchema

from bff.ops.keys import bearer_token, operator_for
from bff.runtime.resources import Resources
from bff.web.graphql import GraphQLView
from schema.context import Context
from schema.ops.context import OpsContext

_OPERATOR = "lvyue_operator"  # where the caller's operator name waits for get_context (scope state)
DISABLED_MESSAGE = "OPS_API_KEY is not set"
UNAUTHENTICATED_MESSAGE = "an operators' key is required: Authorization: Bearer <OPS_API_KEY key>"


def _refusal(status: int, message: str, code: str) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="ops"'} if status == 401 else None
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


class OpsGraphQLView(GraphQLView):
    def refuse_caller(self, request: Request) -> Response | None:
        resources: Resources = request.app.state.resources
        keys = resources.settings.ops_api_keys
        if not keys:
            return _refusal(503, DISABLED_MESSAGE, "OPS_API_DISABLED")
        token = bearer_token(request.headers.get("authorization", ""))
        operator = None if token is None else operator_for(keys, token)
        if operator is None:
            return _refusal(401, UNAUTHENTICATED_MESSAGE, "UNAUTHENTICATED")
        request.scope.setdefault("state", {})[_OPERATOR] = operator
        return None

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        resources: Resources = request.app.state.resources
        operator = request.scope.get("state", {}).get(_OPERATOR)
        assert isinstance(operator, str), "refuse_caller runs before every request"
        return OpsContext(resources=resources, operator=operator)


def ops_graphql_view(schema: BaseSchema) -> OpsGraphQLView:
    return OpsGraphQLView(schema, graphql_ide=None, allow_queries_via_get=False)
