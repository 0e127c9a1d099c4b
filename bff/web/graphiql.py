"""GraphiQL served from the app itself, so it works on a machine without internet.

strawberry's own GraphiQL page loads React and GraphiQL from a CDN: offline it stays a blank
"Loading…". This page loads the same built assets from the `graphene-django-graphiql-static`
package (the files only: nothing of Django is imported) under `/graphiql/<file>`, and opens with
a comment that tells how to log in and pass the session token in the Headers tab.

Both the page and the assets are served only outside production.
"""

from __future__ import annotations

import importlib.resources
import json
from functools import cache
from html import escape

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

ASSET_PACKAGE = "graphene_django_graphiql_static"
ASSET_PATH = "/graphiql"
# file name → media type; nothing else of the package is served.
ASSETS: dict[str, str] = {
    "react.production.min.js": "text/javascript; charset=utf-8",
    "react-dom.production.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.css": "text/css; charset=utf-8",
}
# Assets change only with the package version; a day of caching keeps reloads quick.
ASSET_CACHE_CONTROL = "public, max-age=86400"

HEADERS_EXAMPLE = '{\n  "Authorization": "Bearer <token from the login mutation>"\n}'


@cache
def asset_bytes(name: str) -> bytes:
    files = importlib.resources.files(ASSET_PACKAGE).joinpath("static", ASSET_PACKAGE, name)
    return files.read_bytes()


async def graphiql_asset(request: Request) -> Response:
    name = request.path_params["name"]
    media_type = ASSETS.get(name)
    if media_type is None:
        return PlainTextResponse(f"no GraphiQL asset {name!r}", status_code=404)
    return Response(asset_bytes(name), media_type=media_type, headers={"Cache-Control": ASSET_CACHE_CONTROL})


def welcome_query(login_code_url: str, demo_openid: str) -> str:
    """The comment and operations GraphiQL opens with: how to get a session token and use it."""
    return f"""# Lvyue: the mini-program's GraphQL API.
#
# Every operation but Login needs the session
# token in the Headers tab below:
#   {{"Authorization": "Bearer <token>"}}
#
# 1. Get a one-time login code from the WeChat
#    sandbox (it plays wx.login()):
#  curl -s -X POST \\
#   {login_code_url} \\
#   -H 'content-type: application/json' \\
#   -d '{{"openid": "<openid>"}}'
#    {demo_openid} is the seeded
#    demo user; with no body you get a new user.
# 2. Run Login below with {{"code": "<the code>"}}
#    in the Variables tab.
# 3. Put `token` from the answer in the Headers
#    tab as above, then run Viewer.
# GraphiQL keeps the headers across reloads; a
# token lasts until `expiresAt`.
#
# All the mini-program's operations:
#   schema/operations/miniprogram.graphql

mutation Login($code: String!) {{
  login(code: $code) {{
    token
    expiresAt
    viewer {{ openid }}
    userErrors {{ code field message }}
  }}
}}

query Viewer {{
  viewer {{ openid nickname memberTier points region }}
}}
"""


def graphiql_page(*, login_code_url: str, demo_openid: str) -> str:
    """The GraphiQL HTML page; its scripts and styles come from this app only."""
    query = json.dumps(welcome_query(login_code_url, demo_openid))
    headers = json.dumps(HEADERS_EXAMPLE)
    css = f"{ASSET_PATH}/graphiql.min.css"
    scripts = "\n".join(
        f'    <script src="{ASSET_PATH}/{escape(name)}"></script>'
        for name in ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
    )
    # "</" inside the JSON would end the script element early.
    query = query.replace("</", "<\\/")
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Lvyue GraphiQL</title>
    <link rel="icon" href="data:," />
    <style>
      html, body, #graphiql {{ height: 100%; margin: 0; width: 100%; overflow: hidden; }}
    </style>
    <link rel="stylesheet" href="{css}" />
{scripts}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <script>
      const fetcher = GraphiQL.createFetcher({{ url: window.location.pathname }});
      ReactDOM.render(
        React.createElement(GraphiQL, {{
          fetcher: fetcher,
          defaultQuery: {query},
          defaultHeaders: {headers},
          headerEditorEnabled: true,
          isHeadersEditorEnabled: true,
          shouldPersistHeaders: true,
          defaultEditorToolsVisibility: "headers",
        }}),
        document.getElementById("graphiql"),
      );
    </script>
  </body>
</html>
"""
