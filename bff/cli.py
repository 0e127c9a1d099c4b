"""`bff`: the service's command line.

  bff dev        web + worker + WeChat sandbox as child processes (what `make run` runs)
  bff web        the ASGI app under uvicorn (Procfile `web`)
  bff worker     the arq worker (Procfile `worker`)
  bff sandbox    the WeChat sandbox alone
  bff migrate    apply migrations (Procfile `release`)
  bff makemigrations [--name NAME]   write a migration for model changes
  bff seed [--if-empty]              load demo data
  bff check-templates                compare the templates file with WeChat's list (exit 1 if they differ)
  bff stops [resume-template ID | clear-user OPENID]
                                     sends held back by WeChat's refusals: list, or clear one
  bff export-schema [--output FILE]  write the GraphQL SDL (schema/schema.graphql)

Configuration problems end the command with one line per problem naming the variable, exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bff.runtime import dev_defaults
from bff.runtime.logs import configure_logging
from bff.runtime.settings import Settings, SettingsError, get_settings, log_format_from_env, port_from_env

EXIT_CONFIG = 2
# `bff web`'s event loop and HTTP parser (dependencies of the project, pyproject.toml).
WEB_LOOP = "uvloop"
WEB_HTTP = "httptools"


class CommandError(Exception):
    """A failure the user can fix; printed as one line."""


def _settings() -> Settings:
    # Development keeps its session secret under data/, as `bff dev` does for its children: a
    # `bff web` and a `bff worker` started apart then agree on it, and a restart keeps sessions.
    if os.environ.get("LVYUE_ENV") == "development" and not os.environ.get("SESSION_SECRET"):
        data_dir = Path(os.environ.get("LVYUE_DATA_DIR") or "data")
        os.environ["SESSION_SECRET"] = dev_defaults.session_secret(data_dir)
    return get_settings()


def _check_engines(settings: Settings, redis_url: str | None) -> None:
    """Fail in one line, within seconds, when the database or Redis does not answer."""
    from bff.runtime.dbcheck import check_database
    from bff.runtime.redis import check_redis

    asyncio.run(check_database(settings.database_url))
    if redis_url is not None:
        asyncio.run(check_redis(redis_url))


def cmd_web(args: argparse.Namespace) -> None:
    import uvicorn

    from bff.web.app import create_app

    settings = _settings()
    # Without REDIS_URL the app's lifespan starts the embedded server if none runs, and stops it
    # at shutdown (here would be too late: uvicorn re-raises SIGTERM once the app has stopped).
    _check_engines(settings, settings.redis_url)
    # log_config=None: uvicorn's loggers go through bff.runtime.logs' one format instead of its own.
    # uvloop and httptools: a bare request costs a third of what asyncio and h11 cost (issue 12);
    # the access log (one INFO line per request) only where WEB_ACCESS_LOG says so.
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        loop=WEB_LOOP,
        http=WEB_HTTP,
        access_log=settings.web_access_log,
        log_level="info",
        log_config=None,
        proxy_headers=True,
    )


def cmd_worker(args: argparse.Namespace) -> None:
    from arq.worker import get_kwargs

    from bff.runtime.redis import redis_settings, redis_url_for
    from tasks.engines import OutageTolerantWorker
    from tasks.worker import WorkerSettings

    settings = _settings()
    with redis_url_for(settings) as redis_url:
        _check_engines(settings, redis_url)
        options: dict[str, Any] = {**get_kwargs(WorkerSettings)}  # type: ignore[arg-type]
        options["redis_settings"] = redis_settings(redis_url)
        OutageTolerantWorker(**options).run()


def cmd_sandbox(args: argparse.Namespace) -> None:
    from wxsandbox.__main__ import serve

    serve(host=args.host, port=args.port, log_config=None)


def cmd_migrate(args: argparse.Namespace) -> None:
    from bff.runtime.dbcheck import check_database
    from bff.runtime.migrate import apply_migrations

    settings = _settings()
    asyncio.run(check_database(settings.database_url))
    print("migrating", _describe_db(settings.database_url), flush=True)
    asyncio.run(apply_migrations(settings.database_url, progress=lambda line: print(" ", line, flush=True)))
    print("migrations applied", flush=True)


def cmd_makemigrations(args: argparse.Namespace) -> None:
    from bff.runtime.migrate import make_migrations

    created = asyncio.run(make_migrations(_settings().database_url, name=args.name))
    print("\n".join(created) if created else "no changes detected")


def cmd_seed(args: argparse.Namespace) -> None:
    from bff.demo.seed import run_seed

    print(asyncio.run(run_seed(_settings(), if_empty=args.if_empty)))


def cmd_check_templates(args: argparse.Namespace) -> None:
    from bff.catalog.templates_check import describe, run_check
    from bff.catalog.templates_file import TemplatesFileError
    from bff.runtime.resources import open_resources
    from bff.wechat.errors import WeChatAPIError, WeChatTransportError

    settings = _settings()

    async def check() -> list[str]:
        async with open_resources(settings) as resources:
            return await run_check(settings, resources.http, resources.arq)

    try:
        differences = asyncio.run(check())
    except TemplatesFileError as exc:
        raise CommandError(str(exc)) from None
    except (WeChatAPIError, WeChatTransportError) as exc:
        raise CommandError(f"check-templates: cannot read WeChat's template list: {exc}") from None
    print(describe(settings.templates_file, differences))
    if differences:
        sys.exit(1)


def cmd_export_schema(args: argparse.Namespace) -> None:
    from schema.sdl import SDL_FILE, write_sdl

    target = Path(args.output) if args.output else SDL_FILE
    print(f"wrote {target}" if write_sdl(target) else f"{target} is up to date")


def cmd_stops(args: argparse.Namespace) -> None:
    from tortoise import Tortoise

    from bff.models import User
    from bff.notices import stops
    from bff.runtime.db import tortoise_config
    from bff.runtime.logsafe import mask

    settings = _settings()

    async def run() -> str:
        await Tortoise.init(config=tortoise_config(settings.database_url))
        try:
            if args.action == "resume-template":
                if not await stops.resume_template(args.target):
                    raise CommandError(f"stops: template {args.target} is not stopped")
                return f"template {args.target} resumed: its notices are sent again"
            if args.action == "clear-user":
                user = await User.get_or_none(openid=args.target)
                if user is None:
                    raise CommandError(f"stops: no user with openid {mask(args.target)}")
                if not await stops.clear_invalid_openid(user.id):
                    raise CommandError(f"stops: user {user.id} is not flagged")
                return f"user {user.id} cleared: their notices are sent again"
            lines = [
                f"template {t.template_id} stopped {t.stopped_at.isoformat()} "
                f"after errcode {t.errcode}: {t.detail}"
                for t in await stops.stopped_templates()
            ]
            flagged = await User.filter(openid_invalid_at__isnull=False).count()
            lines.append(f"{flagged} user(s) flagged with an invalid openid (40003)")
            return "\n".join(lines)
        finally:
            await Tortoise.close_connections()

    if args.action != "list" and not args.target:
        raise CommandError(
            f"stops {args.action}: give the {'template id' if 'template' in args.action else 'openid'}"
        )
    print(asyncio.run(run()))


def cmd_dev(args: argparse.Namespace) -> None:
    from bff.devserver import PortBusyError, run_dev

    try:
        code = run_dev(web_port=args.port, sandbox_port=args.sandbox_port, host=args.host)
    except PortBusyError as exc:
        raise CommandError(f"dev: {exc}") from None
    sys.exit(code)


def _describe_db(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return f"sqlite {parts.netloc}{parts.path}"
    return f"{parts.scheme} {parts.hostname}:{parts.port or 5432}{parts.path}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bff", description="Lvyue subscription-message BFF")
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev", help="web, worker and WeChat sandbox together")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=port_from_env("PORT", dev_defaults.WEB_PORT))
    dev.add_argument(
        "--sandbox-port", type=int, default=port_from_env("SANDBOX_PORT", dev_defaults.SANDBOX_PORT)
    )
    dev.set_defaults(func=cmd_dev)

    web = sub.add_parser("web", help="serve the ASGI app")
    web.add_argument("--host", default=os.environ.get("HOST", "0.0.0.0"))
    web.add_argument("--port", type=int, default=port_from_env("PORT", dev_defaults.WEB_PORT))
    web.set_defaults(func=cmd_web)

    sub.add_parser("worker", help="run the arq worker").set_defaults(func=cmd_worker)

    sandbox = sub.add_parser("sandbox", help="serve the WeChat sandbox")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=port_from_env("SANDBOX_PORT", dev_defaults.SANDBOX_PORT))
    sandbox.set_defaults(func=cmd_sandbox)

    sub.add_parser("migrate", help="apply migrations").set_defaults(func=cmd_migrate)

    make = sub.add_parser("makemigrations", help="write a migration for model changes")
    make.add_argument("--name", default=None)
    make.set_defaults(func=cmd_makemigrations)

    sub.add_parser(
        "check-templates", help="compare the templates file with WeChat's list (exit 1 if they differ)"
    ).set_defaults(func=cmd_check_templates)

    stops = sub.add_parser("stops", help="sends held back by WeChat's refusals: list, or clear one")
    stops.add_argument("action", nargs="?", default="list", choices=["list", "resume-template", "clear-user"])
    stops.add_argument("target", nargs="?", default=None, help="template id / openid")
    stops.set_defaults(func=cmd_stops)

    export = sub.add_parser("export-schema", help="write the GraphQL SDL (schema/schema.graphql)")
    export.add_argument("--output", default=None, help="write here instead of schema/schema.graphql")
    export.set_defaults(func=cmd_export_schema)

    seed = sub.add_parser("seed", help="load demo data")
    seed.add_argument("--if-empty", action="store_true", help="only when the database has no users")
    seed.set_defaults(func=cmd_seed)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    try:
        # The parser reads PORT and SANDBOX_PORT for its defaults: a bad one is a configuration error.
        args = build_parser().parse_args(argv)
        # The command names the process in every log line: web, worker, sandbox, dev, migrate, ...
        configure_logging(args.command, fmt=log_format_from_env())
        args.func(args)
    except SettingsError as exc:
        # Every problem at once, one line each: one run tells the operator the whole list.
        for line in exc.lines:
            print(f"bff: configuration error: {line}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    except CommandError as exc:
        print(f"bff: {exc}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
