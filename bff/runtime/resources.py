"""The long-lived clients a process holds: settings, the arq/Redis pool and one HTTP client.

The web app opens them in its lifespan, the worker in `on_startup`; tests build them from
fixtures. Domain services receive what they need from here, never from globals.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from arq.connections import ArqRedis

from bff.runtime.redis import create_arq_pool, redis_url_for
from bff.runtime.settings import Settings

# WeChat asks for answers within seconds; a stuck connection must not hold a job for minutes.
HTTP_TIMEOUT = httpx.Timeout(connect=3.0, read=10.0, write=10.0, pool=5.0)


@dataclass
class Resources:
    settings: Settings
    arq: ArqRedis
    http: httpx.AsyncClient


def new_http_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT, limits=httpx.Limits(max_connections=100))


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    # An embedded Redis started here is stopped on the way out (`bff web` alone leaves none behind).
    with redis_url_for(settings) as redis_url:
        arq = await create_arq_pool(redis_url)
        http = new_http_client()
        try:
            yield Resources(settings=settings, arq=arq, http=http)
        finally:
            await http.aclose()
            await arq.aclose()
