"""/healthz, /readyz and /metrics."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from bff.runtime.health import database_ready, redis_ready
from bff.runtime.metrics import render_metrics
from bff.runtime.resources import Resources


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
    return PlainTextResponse(await render_metrics(resources.arq), media_type=CONTENT_TYPE_LATEST)
