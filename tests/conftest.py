"""Shared fixtures: real databases, a real Redis, real arq workers, the ASGI app with lifespan.

Engines follow the environment, like `make test` and `.ci/run`:
- no DATABASE_URL: a SQLite file in a temporary directory;
- DATABASE_URL=postgres://…/NAME: a fresh database NAME_test on that server, dropped at the end;
- no REDIS_URL: a private embedded Redis server (not the one `make run` uses);
- REDIS_URL: that server and db index, flushed before each test that uses it.

The schema is built once per session from the models; each test starts from empty tables
(`db`) and an empty Redis db (`arq_pool`). Subprocesses (workers, web) inherit the same
DATABASE_URL / REDIS_URL through os.environ.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
from arq.connections import ArqRedis
from arq.worker import Worker
from tortoise import Tortoise
from tortoise.context import TortoiseContext, set_global_context
from tortoise.contrib.test import _topological_sort_models

from bff.runtime.db import tortoise_config
from bff.runtime.embedded_redis import ensure_embedded_redis, stop_embedded_redis
from bff.runtime.redis import create_arq_pool
from bff.runtime.resources import Resources, new_http_client
from bff.runtime.settings import Settings, load_settings

# The suite runs with test defaults (sandbox credentials); a developer's production settings
# must not leak in.
os.environ["LVYUE_ENV"] = "test"
os.environ.setdefault("SESSION_SECRET", "test-session-secret-0123456789abcdef")
for name in ("WECHAT_APPID", "WECHAT_SECRET", "WECHAT_API_BASE", "SUPPLY_CHAIN_CALLBACK_URL", "OPS_API_KEY"):
    os.environ.pop(name, None)

ORIGINAL_DATABASE_URL = os.environ.get("DATABASE_URL")
ORIGINAL_REDIS_URL = os.environ.get("REDIS_URL")


def postgres_test_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_test"))


def postgres_admin_dsn(url: str) -> tuple[str, str]:
    """(DSN of the server's `postgres` database, name of the database in `url`)."""
    parts = urlsplit(url)
    name = parts.path.strip("/")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query=""))
    return admin, name


async def recreate_postgres_database(url: str) -> None:
    admin, name = postgres_admin_dsn(url)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_postgres_database(url: str) -> None:
    admin, name = postgres_admin_dsn(url)
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def is_postgres() -> bool:
    return bool(ORIGINAL_DATABASE_URL) and urlsplit(ORIGINAL_DATABASE_URL or "").scheme != "sqlite"


# Tests whose subject is not the database engine (the WeChat stand-in, wire formats, the dev
# server, pages in a browser, docs and layering): the embedded pass runs them, the PostgreSQL pass
# deselects them, so CI's two passes stay under their time budget without running them twice.
ENGINE_FREE = (
    "tests/wxsandbox/",
    "tests/catalog/",
    "tests/wechat/test_client.py",
    "tests/wechat/test_tokens.py",
    "tests/test_settings.py",
    "tests/test_logs.py",
    "tests/test_redis.py",
    "tests/wechat/test_keywords.py",
    "tests/wechat/test_errors.py",
    "tests/wechat/test_events.py",
    "tests/wechat/test_crypto.py",
    "tests/test_devserver.py",
    "tests/test_ports.py",
    "tests/test_dev_logs.py",
    "tests/test_docs.py",
    "tests/test_layering.py",
    "tests/test_makefile.py",
    "tests/web/test_fuzz.py",
    "tests/web/test_graphiql_browser.py",
    "tests/web/test_ops_console.py",
    "tests/web/test_ops_console_browser.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`postgres_only` tests race real transactions: SQLite serialises them, so they run in the
    PostgreSQL pass (CI's second `make test`) and are deselected, not skipped, on SQLite.
    `once` tests (ENGINE_FREE) run in the embedded pass only, deselected on PostgreSQL."""
    for item in items:
        if item.nodeid.startswith(ENGINE_FREE):
            item.add_marker(pytest.mark.once)
    unwanted = "once" if is_postgres() else "postgres_only"
    kept = [item for item in items if item.get_closest_marker(unwanted) is None]
    deselected = [item for item in items if item.get_closest_marker(unwanted) is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lvyue-data")


@pytest.fixture(scope="session")
async def database_url(data_dir: Path) -> AsyncIterator[str]:
    if is_postgres():
        assert ORIGINAL_DATABASE_URL is not None
        url = postgres_test_url(ORIGINAL_DATABASE_URL)
        await recreate_postgres_database(url)
        os.environ["DATABASE_URL"] = url
        yield url
        await drop_postgres_database(url)
    else:
        url = f"sqlite://{data_dir}/test.sqlite3"
        os.environ["DATABASE_URL"] = url
        yield url


@pytest.fixture(scope="session")
def redis_url(data_dir: Path) -> Any:
    if ORIGINAL_REDIS_URL:
        yield ORIGINAL_REDIS_URL
        return
    redis_dir = data_dir / "redis"
    url = ensure_embedded_redis(redis_dir, persist=False)
    os.environ["REDIS_URL"] = url
    yield url
    stop_embedded_redis(redis_dir)


@pytest.fixture(scope="session")
def settings(database_url: str, redis_url: str, data_dir: Path) -> Settings:
    os.environ["LVYUE_DATA_DIR"] = str(data_dir)
    return load_settings()


@pytest.fixture(scope="session")
async def orm(settings: Settings) -> AsyncIterator[TortoiseContext]:
    """One ORM context for the session, visible from every task (tests, apps, workers)."""
    ctx = TortoiseContext()
    async with ctx:
        await ctx.init(config=tortoise_config(settings.database_url))
        await ctx.generate_schemas(safe=False)
        set_global_context(ctx)
        yield ctx


@pytest.fixture
async def db(orm: TortoiseContext) -> TortoiseContext:
    """Empty tables for this test."""
    await delete_every_row()
    return orm


async def delete_every_row() -> None:
    """DELETE from every table, children first, in one script and one transaction. A test leaves a
    few rows: on PostgreSQL this costs a tenth of TRUNCATE's new files per table (0.2 s a test), on
    SQLite one commit instead of one per table."""
    models = list(Tortoise.apps.get_models_iterable())
    deletes = "; ".join(f'DELETE FROM "{m._meta.db_table}"' for m in _topological_sort_models(models))
    await models[0]._meta.db.execute_script(f"BEGIN; {deletes}; COMMIT")


@pytest.fixture(scope="session")
async def redis_pool(redis_url: str) -> AsyncIterator[ArqRedis]:
    pool = await create_arq_pool(redis_url)
    yield pool
    await pool.flushdb()
    await pool.aclose()


@pytest.fixture
async def arq_pool(redis_pool: ArqRedis) -> ArqRedis:
    """An empty Redis db for this test (the same pool the app and workers use)."""
    await redis_pool.flushdb()
    return redis_pool


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    client = new_http_client()
    yield client
    await client.aclose()


@pytest.fixture
async def resources(
    settings: Settings, db: TortoiseContext, arq_pool: ArqRedis, http: httpx.AsyncClient
) -> Resources:
    return Resources(settings=settings, arq=arq_pool, http=http)


@pytest.fixture
async def app(settings: Settings, resources: Resources) -> Any:
    from bff.web.app import create_app

    return create_app(settings, resources=resources)


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the ASGI app, with its lifespan running (ASGITransport skips it)."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


WorkerFactory = Callable[..., Awaitable[Worker]]


@pytest.fixture
async def worker(resources: Resources, redis_url: str) -> AsyncIterator[WorkerFactory]:
    """Build burst workers on the test's Redis: `w = await worker(); await w.run_check()`."""
    from tasks.worker import FUNCTIONS

    built: list[Worker] = []

    async def make(functions: list[Any] | None = None, **overrides: Any) -> Worker:
        ctx = {
            "settings": resources.settings,
            "http": resources.http,
            "worker_id": "test-worker",
            "started_at": datetime.now(UTC),
        }
        options: dict[str, Any] = {
            "functions": functions if functions is not None else FUNCTIONS,
            # Worker.close() closes its pool, so each worker gets its own on the same Redis db.
            "redis_pool": await create_arq_pool(redis_url),
            "burst": True,
            "poll_delay": 0,
            "handle_signals": False,
            "ctx": ctx,
            "keep_result": 0,
        }
        options.update(overrides)
        w = Worker(**options)
        built.append(w)
        return w

    yield make
    for w in built:
        await w.close()


async def graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    """POST a GraphQL document; returns the decoded JSON answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": query, "variables": variables or {}}
    response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
