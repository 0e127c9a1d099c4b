"""The ASGI application: routes, lifespan (ORM and clients), middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route
from tortoise.contrib.starlette import RegisterTortoise

from bff.catalog.templates_check import start_template_check
from bff.runtime.db import tortoise_config
from bff.runtime.logs import strip_query_strings_from_access_log
from bff.runtime.metrics import ScrapeCache
from bff.runtime.resources import Resources, open_resources
from bff.runtime.settings import Settings, get_settings
from bff.web.graphiql import ASSET_PATH, graphiql_asset
from bff.web.graphql import graphql_view
from bff.web.health import healthz, metrics, readyz
from bff.web.hooks import supply_chain_hook
from bff.web.middleware import MetricsMiddleware
from bff.web.ops_graphql import ops_graphql_view
from bff.web.push import wechat_push
from schema import schema_for
from schema.ops import ops_schema_for


def routes(settings: Settings) -> list[BaseRoute]:
    # A Route, not a Mount: Mount answers POST /graphql with a 307 (stack-notes §2.1).
    ide = [] if settings.is_production else [Route(ASSET_PATH + "/{name}", graphiql_asset)]
    return [
        Route(
            "/graphql",
            graphql_view(schema_for(production=settings.is_production), production=settings.is_production),
            methods=["GET", "POST"],
        ),
        *ide,
        # The operators' API: POST only (GET 405), its own schema, OPS_API_KEY (docs/operators.md).
        Route(
            "/ops/graphql",
            ops_graphql_view(ops_schema_for(production=settings.is_production)),
            methods=["POST"],
        ),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/hooks/supply-chain", supply_chain_hook, methods=["POST"]),
        Route("/wechat/push", wechat_push, methods=["GET", "POST"]),
    ]


def create_app(settings: Settings | None = None, *, resources: Resources | None = None) -> Starlette:
    """Build the app. With `resources` given (tests), the caller owns the ORM and the clients."""
    settings = settings or get_settings()
    strip_query_strings_from_access_log()  # push URLs carry openids

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if resources is not None:
            app.state.resources = resources
            yield
            return
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(
                RegisterTortoise(app, config=tortoise_config(settings.database_url))
            )
            app.state.resources = await stack.enter_async_context(open_resources(settings))
            # Compare the templates file with WeChat's list in the background (warnings only).
            opened: Resources = app.state.resources
            stack.callback(start_template_check(settings, opened.http, opened.arq).cancel)
            yield

    app = Starlette(routes=routes(settings), lifespan=lifespan, middleware=[Middleware(MetricsMiddleware)])
    app.state.metrics_cache = ScrapeCache()  # what /metrics reads from the database, for a few seconds
    return app
