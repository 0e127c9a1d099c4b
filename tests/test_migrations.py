"""Migrations in `migrations/` build the models' schema on the current engine, from scratch."""

from __future__ import annotations

import uuid
from pathlib import Path

from tortoise.context import TortoiseContext

from bff.runtime.db import tortoise_config
from bff.runtime.migrate import apply_migrations, pending_migrations
from tests.conftest import drop_postgres_database, is_postgres, recreate_postgres_database


async def tables_of(url: str) -> set[str]:
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(url))
        connection = ctx.connections.get("default")
        if url.startswith("sqlite"):
            _, rows = await connection.execute_query("SELECT name FROM sqlite_master WHERE type='table'")
            return {row["name"] for row in rows}
        _, rows = await connection.execute_query(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        )
        return {row["tablename"] for row in rows}


def model_tables() -> set[str]:
    from tortoise.models import Model

    import bff.models

    exported = (getattr(bff.models, name) for name in bff.models.__all__)
    return {obj._meta.db_table for obj in exported if isinstance(obj, type) and issubclass(obj, Model)}


async def test_migrations_apply_from_scratch_and_cover_every_model(settings: object, tmp_path: Path) -> None:
    # given an empty database on the engine of this run
    if is_postgres():
        url = settings.database_url + "_mig_" + uuid.uuid4().hex[:6]  # type: ignore[attr-defined]
        await recreate_postgres_database(url)
    else:
        url = f"sqlite://{tmp_path}/migrations.sqlite3"

    try:
        # when every migration is applied
        await apply_migrations(url)

        # then every model has its table, and the models have no change a migration lacks
        assert model_tables() <= await tables_of(url)
        pending = await pending_migrations(url)
        assert pending == [], f"models changed without a migration: run `bff makemigrations` ({pending})"
    finally:
        if is_postgres():
            await drop_postgres_database(url)
