"""The strawberry ASGI view: builds a Context per request from the app's resources.

Before strawberry sees a POST, the view caps the body (413 past GRAPHQL_MAX_BODY_BYTES, refused
on its Content-Length without reading it) and, for JSON, checks the document's shape: an object,
nested at most GRAPHQL_MAX_JSON_DEPTH deep, no array or object over GRAPHQL_MAX_LIST_ITEMS
entries, no text a database cannot store (400). GraphQL coerces variables before any resolver
runs, and the sign-in check is a resolver: without these bounds an anonymous caller's 150 000-item
list held the event loop for seconds.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from bff.constants import GRAPHQL_MAX_BODY_BYTES, GRAPHQL_MAX_JSON_DEPTH, GRAPHQL_MAX_LIST_ITEMS
from bff.demo.seed import DEMO_OPENID
from bff.ops.keys import bearer_token, operator_for
from bff.runtime.resources import Resources
from bff.sessions import session_user_id
from bff.untrusted import find_json_problem
from bff.web.bodies import BodyTooLarge, read_body, replaying
from bff.web.graphiql import graphiql_page
from schema.context import Context


def _refusal(status: int, message: str) -> Response:
    # The GraphQL-over-HTTP shape of a request error: no "data", one error naming the problem.
    return JSONResponse({"errors": [{"message": message}]}, status_code=status)


def body_problem(body: bytes) -> str | None:
    """Why a JSON request body cannot be a GraphQL request, or None."""
    try:
        document = json.loads(body)
    except RecursionError:
        return "request body nests too deeply"
    except ValueError as exc:  # also UnicodeDecodeError and ints past Python's digit limit
        return f"request body is not valid JSON: {str(exc)[:100]}"
    if not isinstance(document, dict):
        kind = "an array" if isinstance(document, list) else type(document).__name__
        return f"request body must be a JSON object with a query, got {kind}"
    problem = find_json_problem(document, max_depth=GRAPHQL_MAX_JSON_DEPTH, max_items=GRAPHQL_MAX_LIST_ITEMS)
    return None if problem is None else str(problem)


class GraphQLView(GraphQL[Context, None]):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (refusal := self.refuse_caller(Request(scope))) is not None:
            await refusal(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "POST":
            request = Request(scope, receive)
            try:
                body = await read_body(request, GRAPHQL_MAX_BODY_BYTES)
            except BodyTooLarge as exc:
                await _refusal(413, str(exc))(scope, receive, send)
                return
            if "json" in request.headers.get("content-type", "") and (problem := body_problem(body)):
                await _refusal(400, problem)(scope, receive, send)
                return
            receive = replaying(body, receive)
        await super().__call__(scope, receive, send)

    def refuse_caller(self, request: Request) -> Response | None:
        """A 401 for a caller this endpoint does not serve, before the body is read: here an
        operators' key (OPS_API_KEY) — it signs nobody in on /graphql and gets nothing there.
        The operators' endpoint (bff/web/ops_graphql.py) refuses everyone but them instead."""
        resources: Resources = request.app.state.resources
        keys = resources.settings.ops_api_keys
        token = bearer_token(request.headers.get("authorization", ""))
        if keys and token is not None and operator_for(keys, token) is not None:
            return _refusal(401, "an operators' key is not accepted here; use /ops/graphql")
        return None

    def encode_json(self, data: object) -> bytes:
        # orjson: UTF-8 bytes, no escaping of non-ASCII text, about a fifth of json.dumps' time.
        return orjson.dumps(data)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        resources: Resources = request.app.state.resources
        return Context(resources=resources, viewer_id=await self.viewer_id(request, resources))

    async def render_graphql_ide(self, request: Request) -> Response:
        # Our own page: strawberry's loads its scripts from a CDN (blank without internet).
        settings = request.app.state.resources.settings
        login_code_url = settings.wechat_api_base.rstrip("/") + "/sandbox/login-code"
        return HTMLResponse(graphiql_page(login_code_url=login_code_url, demo_openid=DEMO_OPENID))

    async def viewer_id(self, request: Request | WebSocket, resources: Resources) -> int | None:
        """The user of the request's `Authorization: Bearer <session token>`; None when the token
        is missing, malformed, forged or expired, or its user no longer exists (the schema then
        answers no user data)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return await session_user_id(resources.settings.session_secret, token.strip())


def graphql_view(schema: Any, *, production: bool) -> GraphQLView:
    return GraphQLView(schema, graphql_ide=None if production else "graphiql", allow_queries_via_get=False)
