"""Run the lifecycle scans as of a later day, so a person can watch reminders reach the inbox.

    LVYUE_ENV=development python scripts/lifecycle_scan.py [--days 7 | --as-of 2026-12-20T10:00+08:00]

Against the database and Redis `make run` uses (DATABASE_URL / REDIS_URL, or the checkout's
defaults): one full pass of the replenishment scan and of the maintenance scan, acting as of the
given moment. The notices they plan go through the same policy and send jobs as every notice;
the running worker sends them to the sandbox (open its inbox page). Running it again for the
same moment plans nothing new.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tortoise import Tortoise

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bff.lifecycle.scans import MAINTENANCE, REPLENISHMENT, run_full_pass
from bff.notices.planner import NoticeContext
from bff.runtime.db import tortoise_config
from bff.runtime.redis import create_arq_pool, resolve_redis_url
from bff.runtime.settings import load_settings


async def run(as_of: datetime) -> None:
    settings = load_settings()
    await Tortoise.init(config=tortoise_config(settings.database_url))
    arq = await create_arq_pool(resolve_redis_url(settings))
    try:
        ctx = NoticeContext.from_settings(settings, arq)
        for scan in (REPLENISHMENT, MAINTENANCE):
            report = await run_full_pass(scan, ctx, arq, as_of=as_of)
            print(
                f"{scan} as of {as_of.isoformat()}: {report.rows} rows of {report.users} users, "
                f"{report.planned} notices planned, {dict(report.decided)}"
            )
    finally:
        await arq.aclose()
        await Tortoise.close_connections()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--days", type=float, default=0.0, help="act this many days from now")
    group.add_argument(
        "--as-of", type=datetime.fromisoformat, help="act at this moment (ISO 8601 with offset)"
    )
    args = parser.parse_args(argv)
    as_of = args.as_of or datetime.now(UTC) + timedelta(days=args.days)
    if as_of.tzinfo is None:
        parser.error("--as-of needs an offset, e.g. 2026-12-20T10:00+08:00")
    asyncio.run(run(as_of))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
