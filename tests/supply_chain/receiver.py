"""A stand-in for the supply chain's command endpoint: a real HTTP server on 127.0.0.1.

It checks signatures the way the contract says the receiver does (401 when missing, wrong or
stale), records every request, answers from a script (`answers`, then 200 for ever), and
remembers which Idempotency-Keys it has accepted, like a real receiver that deduplicates.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bff.supply_chain.signing import SignatureError, verify

PATH = "/commands"


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    answered: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class CommandReceiver:
    secret: str
    answers: list[int | tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    accepted_keys: list[str] = field(default_factory=list)
    url: str = ""

    def app(self) -> Starlette:
        return Starlette(routes=[Route(PATH, self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        headers = {key.lower(): value for key, value in request.headers.items()}
        try:
            verify(self.secret, headers, body)
            signature_ok = True
        except SignatureError:
            signature_ok = False
        status: int = 401
        extra: dict[str, str] = {}
        if signature_ok:
            scripted = self.answers.pop(0) if self.answers else 200
            status, extra = scripted if isinstance(scripted, tuple) else (scripted, {})
        self.received.append(Received(headers, body, signature_ok, status))
        if 200 <= status < 300:
            key = headers.get("idempotency-key", "")
            duplicate = key in self.accepted_keys
            if not duplicate:
                self.accepted_keys.append(key)
            return JSONResponse({"ok": True, "duplicate": duplicate}, status_code=status)
        return JSONResponse({"error": f"scripted {status}"}, status_code=status, headers=extra)


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serve_receiver(receiver: CommandReceiver) -> AsyncIterator[CommandReceiver]:
    """Serve `receiver` with uvicorn in a background task; `receiver.url` is where to post."""
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(receiver.app(), log_level="warning", lifespan="off", ws="none", http="h11")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # raise what stopped it
            await asyncio.sleep(0.01)
        receiver.url = f"http://127.0.0.1:{port}{PATH}"
        yield receiver
    finally:
        server.should_exit = True
        await task
        sock.close()


def closed_port_url() -> str:
    """A URL nobody listens on (connection refused)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}{PATH}"
