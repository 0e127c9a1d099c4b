"""Builders of the operators' tests: an app whose settings carry ops keys, failed notices."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx

from bff.models import Notice, NoticeStatus, User
from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from tests.notices.send_fixtures import ORDER_PROGRESS, make_notice

ALICE_KEY = "alice-ops-key-0123456789abcdef0123456789"
BOB_KEY = "bob-ops-key-fedcba9876543210fedcba987654"
KEYS = (("alice", ALICE_KEY), ("bob", BOB_KEY))


def with_ops_keys(settings: Settings, keys: tuple[tuple[str, str], ...] = KEYS) -> Settings:
    return replace(settings, ops_api_keys=keys, ops_api_key=",".join(f"{n}={k}" for n, k in keys) or None)


@contextlib.asynccontextmanager
async def app_client(resources: Resources, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app (lifespan running) on ``settings``, sharing the test's resources."""
    from bff.web.app import create_app

    own = Resources(settings=settings, arq=resources.arq, http=resources.http)
    app = create_app(settings, resources=own)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def ops(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, key: str = ALICE_KEY
) -> dict[str, Any]:
    """POST a document to /ops/graphql with an ops key; the decoded answer (asserted 200)."""
    response = await client.post(
        "/ops/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def failed_notice(
    user: User,
    *,
    reason: str = "RETRIES_EXHAUSTED",
    errcode: int | None = -1,
    template_id: str = ORDER_PROGRESS,
    **overrides: Any,
) -> Notice:
    """A notice the sender gave up on: FAILED with ``reason``, no unit held, never sent."""
    notice = await make_notice(user, template_id=template_id, status=NoticeStatus.FAILED)
    await Notice.filter(id=notice.id).update(reason=reason, errcode=errcode, attempts=6, **overrides)
    return await Notice.get(id=notice.id)
