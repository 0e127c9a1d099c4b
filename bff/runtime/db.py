"""Tortoise configuration: one app, `models`, whose models live in `bff.models`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise.backends.base.config_generator import expand_db_url

MODELS_MODULES = ["bff.models"]
MIGRATIONS_MODULE = "migrations"


def normalise_database_url(url: str) -> str:
    """Make a DATABASE_URL safe for several processes.

    SQLite: web and worker processes share one file, so wait for the write lock (busy_timeout)
    instead of failing with "database is locked".
    """
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return url
    params = dict(parse_qsl(parts.query))
    params.setdefault("busy_timeout", "10000")
    return urlunsplit(parts._replace(query=urlencode(params)))


# PostgreSQL through tortoise's asyncpg client, minus the reset query on every release.
POSTGRES_ENGINE = "bff.runtime.pgpool"


def connection_config(database_url: str) -> str | dict[str, Any]:
    """What tortoise connects with: SQLite as a URL, PostgreSQL as the URL's settings on the
    engine of bff/runtime/pgpool.py."""
    url = normalise_database_url(database_url)
    if urlsplit(url).scheme not in ("postgres", "postgresql", "asyncpg"):
        return url
    expanded: dict[str, Any] = expand_db_url(url)
    return {**expanded, "engine": POSTGRES_ENGINE}


def tortoise_config(database_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(database_url)},
        "apps": {
            "models": {
                "models": MODELS_MODULES,
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def database_dialect(database_url: str) -> str:
    return "sqlite" if urlsplit(database_url).scheme == "sqlite" else "postgres"


def sqlite_path(database_url: str) -> str | None:
    parts = urlsplit(database_url)
    if parts.scheme != "sqlite":
        return None
    return (parts.netloc + parts.path) or None
