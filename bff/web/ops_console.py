"""The operators' console: a static page at /ops/ that talks to POST /ops/graphql.

Everything it needs is a file of this package (bff/web/static/ops/), served by the app itself:
the machine running it may have no internet. The page holds no data: it asks for the ops key,
keeps it in the tab's sessionStorage and sends it as `Authorization: Bearer` with each query, so
the key protects the data and the page itself is public. A strict Content-Security-Policy
(`default-src 'self'`, no inline script or style) goes with every file.

The page is rendered once per process with what it cannot know by itself: today's date in
BUSINESS_TZ (the default range is the last 30 days there) and the topics' Chinese titles, both
in a JSON data block (not a script: the CSP forbids inline scripts, and a data block runs nothing).
"""

from __future__ import annotations

import importlib.resources
import json
from datetime import datetime
from functools import cache

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bff.catalog.topics import TOPICS
from bff.runtime.settings import Settings

CONSOLE_PATH = "/ops/"
ASSET_PATH = "/ops/static"
ASSET_PACKAGE = "bff.web"
ASSET_DIR = ("static", "ops")
# file name → media type; nothing else is served.
ASSETS: dict[str, str] = {
    "console.js": "text/javascript; charset=utf-8",
    "charts.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # The page changes with the code; the browser asks again (cheaply) each time.
    "Cache-Control": "no-cache",
}
BOOT_MARKER = "{{BOOT_JSON}}"


@cache
def asset_bytes(name: str) -> bytes:
    return importlib.resources.files(ASSET_PACKAGE).joinpath(*ASSET_DIR, name).read_bytes()


def boot_json(settings: Settings, now: datetime | None = None) -> str:
    """What the page starts with: today in BUSINESS_TZ and the topics' titles (no secret, no data)."""
    today = (now or datetime.now(settings.zone)).astimezone(settings.zone).date()
    boot = {
        "today": today.isoformat(),
        "timeZone": settings.business_tz,
        "topics": {str(key): info.title for key, info in TOPICS.items()},
    }
    # "</" inside the block would end it early.
    return json.dumps(boot, ensure_ascii=False).replace("</", "<\\/")


def console_page(settings: Settings, now: datetime | None = None) -> str:
    html = asset_bytes("index.html").decode("utf-8")
    return html.replace(BOOT_MARKER, boot_json(settings, now))


def ops_console_routes(settings: Settings) -> list[BaseRoute]:
    async def console(request: Request) -> Response:
        page = console_page(settings)
        return Response(page, media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)

    async def bare(request: Request) -> Response:
        return RedirectResponse(CONSOLE_PATH, status_code=308)

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        media_type = ASSETS.get(name)
        if media_type is None:
            return PlainTextResponse(f"no console asset {name!r}", status_code=404, headers=SECURITY_HEADERS)
        return Response(asset_bytes(name), media_type=media_type, headers=SECURITY_HEADERS)

    return [
        Route(CONSOLE_PATH, console),
        Route(CONSOLE_PATH.rstrip("/"), bare),
        Route(ASSET_PATH + "/{name}", asset),
    ]
