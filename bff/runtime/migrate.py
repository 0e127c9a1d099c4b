"""Apply tortoise's native migrations (`migrations/`) to the configured database."""

from __future__ import annotations

from collections.abc import Callable

from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.writer import MigrationWriter, format_migration_name

from bff.runtime.db import tortoise_config


async def apply_migrations(database_url: str, progress: Callable[[str], None] | None = None) -> None:
    def report(event: str, app_label: str, name: str) -> None:
        if progress is not None:
            progress(f"{event} {app_label}.{name}")

    # A context of its own: never re-initialise (and then close) a context the caller is using.
    async with TortoiseContext():
        await migrate(config=tortoise_config(database_url), progress=report)


async def pending_migrations(database_url: str) -> list[MigrationWriter]:
    """Migrations the models need that `migrations/` does not have yet (empty = up to date)."""
    config = tortoise_config(database_url)
    apps = config["apps"]
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        assert ctx.apps is not None  # init loaded them
        return list(await MigrationAutodetector(ctx.apps, apps).changes())


async def make_migrations(database_url: str, name: str | None = None) -> list[str]:
    """Write the pending migrations; returns their file paths."""
    created = []
    for writer in await pending_migrations(database_url):
        if name:
            number = int(writer.name.split("_", 1)[0])
            writer.name = format_migration_name(number, name)
        created.append(str(writer.write()))
    return created
