"""The strawberry ASGI view: builds a Context per request from the app's resources."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from bff.resources import Resources
from bff.seed import DEMO_OPENID
from bff.sessions import verify_session_token
from bff.web.graphiql import graphiql_page
from schema.context import Context


class GraphQLView(GraphQL[Context, None]):
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
        is missing, malformed, forged or expired (the schema then answers no user data)."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return verify_session_token(resources.settings.session_secret, token.strip())


def graphql_view(schema: Any, *, production: bool) -> GraphQLView:
    return GraphQLView(schema, graphql_ide=None if production else "graphiql", allow_queries_via_get=False)
