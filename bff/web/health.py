"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.core import Metric
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bff.runtime.health import database_ready, redis_ready
from bff.runtime.metrics import ScrapeCache, gauge, render_metrics
from bff.runtime.resources import Resources
from bff.supply_chain.outbox import outbox_counts


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    problems = {
        name: problem
        for name, problem in (
            ("database", await database_ready()),
            ("redis", await redis_ready(request.app.state.resources.arq)),
        )
        if problem is not None
    }
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


async def metrics(request: Request) -> Response:
    """Prometheus text, as METRICS_EXPOSURE says: to anyone, to a bearer of METRICS_TOKEN, or not at all."""
    resources: Resources = request.app.state.resources
    settings = resources.settings
    if settings.metrics_exposure == "off":
        return PlainTextResponse("Not Found", status_code=404)
    if settings.metrics_exposure == "token":
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = settings.metrics_token or ""
        if (
            scheme.lower() != "bearer"
            or not expected
            or not hmac.compare_digest(given.strip().encode(), expected.encode())
        ):
            return PlainTextResponse(
                "metrics need Authorization: Bearer <METRICS_TOKEN>",
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
    cache: ScrapeCache = request.app.state.metrics_cache
    text = await render_metrics(resources.arq, cache=cache, database_gauges=database_gauges)
    return PlainTextResponse(text, media_type=CONTENT_TYPE_LATEST)


async def database_gauges() -> list[Metric]:
    """What /metrics reads from the database (one GROUP BY; cached per process for a few seconds)."""
    counts = await outbox_counts()
    return [
        gauge(
            "lvyue_supply_chain_commands",
            "Supply-chain commands in the outbox by status",
            "status",
            {status.value: n for status, n in counts.items()},
        )
    ]
