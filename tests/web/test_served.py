"""The app served by uvicorn on a real socket: hostile bodies are refused while the event loop
keeps answering, a refused request leaves its connection usable, the access log holds no query
strings (issue 8, items 11, 12 and 14)."""

from __future__ import annotations

import asyncio
import json
import logging
import logging.config
import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from bff.constants import GRAPHQL_MAX_BODY_BYTES, GRAPHQL_MAX_LIST_ITEMS
from tests.web.test_push_endpoint import OPENID

PORTS = range(9250, 9300)  # this branch's port range


def bound_socket() -> socket.socket:
    for port in PORTS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        return sock
    raise RuntimeError(f"no free port in {PORTS}")


@asynccontextmanager
async def served(app: Starlette, **config: Any) -> AsyncIterator[str]:
    """Serve `app` (its lifespan running) with uvicorn; yields the base URL."""
    sock = bound_socket()
    options: dict[str, Any] = {"log_config": None, "log_level": "warning", "lifespan": "on", "ws": "none"}
    options.update(config)
    server = uvicorn.Server(uvicorn.Config(app, **options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        server.force_exit = True  # do not wait for a request a test left hanging
        await task
        sock.close()


@pytest.fixture
async def base_url(app: Starlette) -> AsyncIterator[str]:
    async with served(app) as url:
        yield url


async def send_head_only(
    base_url: str, path: str, declared_length: int
) -> tuple[bytes, asyncio.StreamWriter]:
    """Send a POST's headers and 1 KB of its body, never the rest; the status line answered."""
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared_length}\r\n\r\n".encode()
        + b'{"query": "'
        + b"x" * 1024
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=10)
    return status_line, writer


async def test_a_20_mb_graphql_body_is_refused_before_it_is_sent_while_healthz_answers(base_url: str) -> None:
    # given a caller that announces a 20 MB body and sends only its first kilobyte
    status_line, hostile = await send_head_only(base_url, "/graphql", 20_000_000)
    try:
        # then the answer is 413 without the body having been read (it was never sent)
        assert status_line.startswith(b"HTTP/1.1 413")
        # and the server answers others meanwhile
        async with httpx.AsyncClient(base_url=base_url) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
    finally:
        hostile.close()


async def test_a_huge_variables_list_is_refused_before_graphql_coerces_it(base_url: str) -> None:
    # given an anonymous caller posting variables with a list far longer than any input takes,
    # in a body under the size cap
    items = [{"templateId": "t", "status": "ACCEPT"}] * (GRAPHQL_MAX_LIST_ITEMS + 1)
    document = {
        "query": "mutation R($input: SubscribeResultInput!) { reportSubscribeResult(input: $input) "
        "{ userErrors { code } } }",
        "variables": {"input": {"requestId": "r", "results": items}},
    }
    body = json.dumps(document).encode()
    assert len(body) < GRAPHQL_MAX_BODY_BYTES
    async with httpx.AsyncClient(base_url=base_url) as client:
        # when it is sent together with a health check
        hostile, health = await asyncio.gather(
            client.post("/graphql", content=body, headers={"Content-Type": "application/json"}),
            client.get("/healthz"),
        )

    # then the list is refused by the edge (400 naming it), not answered by the schema
    # (UNAUTHENTICATED) after coercing every item, and the health check is answered
    assert hostile.status_code == 400
    assert hostile.json() == {
        "errors": [
            {
                "message": f"variables.input.results: array has {GRAPHQL_MAX_LIST_ITEMS + 1} entries, "
                f"at most {GRAPHQL_MAX_LIST_ITEMS} are accepted"
            }
        ]
    }
    assert health.status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"1", b'"query"', b"null", b"[" * 30_000 + b"]" * 30_000],
    ids=["number", "string", "null", "30000-deep"],
)
async def test_a_refused_body_leaves_the_connection_usable(base_url: str, body: bytes) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        # when a body that is JSON but no GraphQL request is posted
        refused = await client.post("/graphql", content=body, headers={"Content-Type": "application/json"})
        # then it is a 400, and the next request on the same connection is answered
        following = await client.post("/graphql", json={"query": "{ __typename }"})
    assert refused.status_code == 400
    assert "request body" in refused.json()["errors"][0]["message"]
    assert following.json() == {"data": {"__typename": "Query"}}


@contextmanager
def uvicorn_logging_as_in_production() -> Iterator[list[logging.LogRecord]]:
    """uvicorn's own logging configuration (as `bff web` gets it), records of its access log
    collected; the loggers' previous state is restored afterwards."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        name: (lg.handlers[:], lg.propagate, lg.level) for name in names if (lg := logging.getLogger(name))
    }
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record.rendered = record.getMessage()  # type: ignore[attr-defined]
            records.append(record)

    collector = Collect()
    try:
        logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
        logging.getLogger("uvicorn.access").addHandler(collector)
        yield records
    finally:
        for name, (handlers, propagate, level) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.propagate = propagate
            logger.setLevel(level)


async def test_the_access_log_keeps_push_query_strings_out(app: Starlette) -> None:
    # given the app (built first, as `bff web` does) served under uvicorn's own logging
    # configuration with its access log on
    with uvicorn_logging_as_in_production() as records:
        async with served(app, log_level="info") as url, httpx.AsyncClient(base_url=url) as client:
            # when WeChat pushes in secure mode: the openid rides in the query string
            await client.post(
                "/wechat/push",
                params={"openid": OPENID, "signature": "s", "timestamp": "1", "nonce": "n"},
                content=b"<xml/>",
            )

    # then the request is logged by its path, without the openid or the signature
    [line] = [record.rendered for record in records]  # type: ignore[attr-defined]
    assert '"POST /wechat/push HTTP/1.1" 401' in line
    assert OPENID not in line and "signature" not in line
