"""What the ledger's dated moves cost: reserve_unit (UPDATE + SPEND row in one transaction) against
the bare conditional UPDATE it was before (the anchor, measured in the same run), and a void
handled late over many newer moves.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/lvyue_h3_bench PYTHONPATH=. \\
        .venv/bin/python bench/ledger_moves.py [--reserves 2000] [--concurrency 20]

The database name must contain ``bench``: it is dropped and created again.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import asyncpg
from tortoise import Tortoise
from tortoise.expressions import F

from bff.consent import ledger
from bff.models import ConsentLedger, User, WeChatStatus
from bff.runtime.db import tortoise_config

TEMPLATE = "tmpl-bench-0001"
Reserve = Callable[[int, str], Awaitable[bool]]


async def recreate(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.strip("/")
    if "bench" not in name or parts.scheme == "sqlite":
        raise SystemExit("DATABASE_URL must be a PostgreSQL database whose name contains 'bench'")
    admin = parts._replace(scheme="postgresql", path="/postgres").geturl()
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def bare_reserve(user_id: int, template_id: str) -> bool:
    """The reservation as it was: one conditional UPDATE, no dated move."""
    updated = await ConsentLedger.filter(
        user_id=user_id, template_id=template_id, banned=False, granted__gt=F("spent")
    ).update(spent=F("spent") + 1)
    return updated == 1


async def timed(label: str, calls: int, run: Awaitable[None]) -> float:
    start = time.perf_counter()
    await run
    seconds = time.perf_counter() - start
    print(f"  {label:48} {calls:>6} calls  {seconds * 1000 / calls:7.3f} ms/call")
    return seconds


async def in_parallel(concurrency: int, calls: int, reserve: Reserve, user_id: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            assert await reserve(user_id, TEMPLATE)

    await asyncio.gather(*(one() for _ in range(calls)))


async def main(reserves: int, concurrency: int) -> None:
    url = os.environ.get("DATABASE_URL", "")
    await recreate(url)
    await Tortoise.init(config=tortoise_config(url))
    await Tortoise.generate_schemas()
    try:
        anchor_user = await User.create(openid="oBENCH_anchor_0000000000001")
        moves_user = await User.create(openid="oBENCH_moves_00000000000001")
        for user in (anchor_user, moves_user):
            await ledger.credit(user.id, TEMPLATE, 4 * reserves, at=datetime.now(UTC) - timedelta(days=1))

        print(f"reserve_unit, one after the other ({reserves} each):")

        async def sequential(reserve: Reserve, user_id: int) -> None:
            for _ in range(reserves):
                assert await reserve(user_id, TEMPLATE)

        anchor = await timed(
            "anchor: bare conditional UPDATE", reserves, sequential(bare_reserve, anchor_user.id)
        )
        moves = await timed(
            "reserve_unit (UPDATE + SPEND move)", reserves, sequential(ledger.reserve_unit, moves_user.id)
        )
        print(f"  ratio {moves / anchor:.2f}x the anchor")

        print(f"reserve_unit, {concurrency} at a time on one (user, template) row:")
        anchor = await timed(
            "anchor: bare conditional UPDATE",
            reserves,
            in_parallel(concurrency, reserves, bare_reserve, anchor_user.id),
        )
        moves = await timed(
            "reserve_unit (UPDATE + SPEND move)",
            reserves,
            in_parallel(concurrency, reserves, ledger.reserve_unit, moves_user.id),
        )
        print(f"  ratio {moves / anchor:.2f}x the anchor")

        print("a void handled late, replaying every move after its moment:")
        since = datetime.now(UTC) - timedelta(hours=2)
        start = time.perf_counter()
        await ledger.zero_units(moves_user.id, TEMPLATE, WeChatStatus.REJECT, as_of=since)
        late = time.perf_counter() - start
        start = time.perf_counter()
        await ledger.zero_units(moves_user.id, TEMPLATE, WeChatStatus.REJECT)
        now_void = time.perf_counter() - start
        print(
            f"  over {2 * reserves} newer SPEND moves: {late * 1000:.1f} ms;"
            f" a void as of now: {now_void * 1000:.1f} ms"
        )
    finally:
        await Tortoise.close_connections()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reserves", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.reserves, args.concurrency))
