"""Benchmark: what the sender's last policy check (``withdrawal``) costs per send.

    PYTHONPATH=. .venv/bin/python bench/send_withdrawal.py [--sends 300] [--rounds 3]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lvyue_bench8 REDIS_URL=redis://127.0.0.1:6379/9 \\
        PYTHONPATH=. .venv/bin/python bench/send_withdrawal.py

Each round sends ``--sends`` queued notices of one user through ``NoticeSender.send`` with a
check that asks nothing (the anchor) and as many of another user with the real check
(``withdrawal.withdrawal_before_send``: the facts it needs loaded on the spot), one of each in
turn, against a scripted WeChat client that answers at once: the figure is the database work
of a send and nothing else. It prints each round's times and the ratio with/anchor. A real
WeChat call (100 ms or more) comes on top of both.

Without DATABASE_URL it uses a fresh SQLite file in a temporary directory; a PostgreSQL database
must have "bench" in its name (it is dropped and created again). Redis holds only the per-openid
lock (nothing is flushed); default redis://127.0.0.1:6379/9.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import datetime
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import Tortoise

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Test settings (sandbox credentials): the bench never calls WeChat.
os.environ["LVYUE_ENV"] = "test"
os.environ.setdefault("SESSION_SECRET", "bench-session-secret-0123456789abcdef")

from bff.catalog.templates_file import cached_templates_file
from bff.models import Notice
from bff.notices.sender import Withdrawal
from bff.notices.withdrawal import withdrawal_before_send
from bff.runtime.db import tortoise_config
from bff.runtime.redis import create_arq_pool
from bff.runtime.settings import get_settings
from tests.notices.send_fixtures import ORDER_PROGRESS, FakeClient, make_notice, make_sender, make_user


async def recreate_postgres(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.strip("/")
    if "bench" not in name:
        raise SystemExit("the database would be dropped; use a database whose name contains 'bench'")
    conn = await asyncpg.connect(urlunsplit(parts._replace(scheme="postgresql", path="/postgres", query="")))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def asks_nothing(notice: Notice, now: datetime) -> str | None:
    return None


async def timed_sends(sends: int) -> tuple[float, float]:
    """Seconds spent sending ``sends`` queued notices of one fresh user with the anchor's check
    and as many of another with the real one, alternating send by send (so that the load of a
    shared machine falls on both alike)."""
    settings = get_settings()
    redis = await create_arq_pool(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"))
    try:
        runs = []
        real: Withdrawal = partial(
            withdrawal_before_send,
            templates=cached_templates_file(settings.templates_file),
            zone=settings.zone,
        )
        for check in (asks_nothing, real):
            user = await make_user(units={ORDER_PROGRESS: sends})
            ids = [(await make_notice(user)).id for _ in range(sends)]
            runs.append((make_sender(settings, redis, FakeClient(), withdrawal=check), ids))
        spent = [0.0, 0.0]
        for i in range(sends):
            for n, (sender, ids) in enumerate(runs):
                started = time.perf_counter()
                outcome = await sender.send(ids[i])
                spent[n] += time.perf_counter() - started
                assert outcome.msgid is not None, outcome
        return spent[0], spent[1]
    finally:
        await redis.aclose()


async def main(sends: int, rounds: int) -> None:
    url = os.environ.get("DATABASE_URL")
    if url:
        if urlsplit(url).scheme == "sqlite":
            raise SystemExit("leave DATABASE_URL unset for SQLite (a temporary file is used)")
        await recreate_postgres(url)
    else:
        url = f"sqlite://{tempfile.mkdtemp(prefix='bench-withdrawal-')}/bench.sqlite3"
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    await Tortoise.generate_schemas()
    try:
        anchor_total = checked_total = 0.0
        for n in range(1, rounds + 1):
            anchor, checked = await timed_sends(sends)
            anchor_total += anchor
            checked_total += checked
            print(
                f"round {n}: anchor {anchor:.2f} s ({anchor / sends * 1000:.1f} ms/send), "
                f"with the check {checked:.2f} s ({checked / sends * 1000:.1f} ms/send), "
                f"ratio {checked / anchor:.2f}"
            )
        print(f"{urlsplit(url).scheme}: with the check / anchor = {checked_total / anchor_total:.2f}")
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.sends, args.rounds))
