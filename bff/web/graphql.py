"""The strawberry ASGI view: builds a Context per request from the app's resources."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from bff.resources import Resources
from schema.context import Context


class GraphQLView(GraphQL[Context, None]):
    async def get_context(self, request: Request | WebSocket, response: Response | None) -> Context:
        resources: Resources = request.app.state.resources
        return Context(resources=resources, viewer_id=await self.viewer_id(request, resources))

    async def viewer_id(self, request: Request | WebSocket, resources: Resources) -> int | None:
        """The user of the request's session token (login arrives with the WeChat package)."""
        return None


def graphql_view(schema: Any, *, production: bool) -> GraphQLView:
    return GraphQLView(schema, graphql_ide=None if production else "graphiql", allow_queries_via_get=False)
