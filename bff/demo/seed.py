"""Demo data for `make run`: a demo user (and, as domains arrive, their orders and ledger).

Each domain adds a `seed_<domain>(user)` step to SEED_STEPS; `bff seed --if-empty` runs them
only on a database without users, so restarting `make run` never duplicates anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tortoise import Tortoise

from bff.demo.insight import seed_insight
from bff.demo.lifecycle import seed_lifecycle
from bff.demo.offers import seed_offers
from bff.demo.orders import seed_orders
from bff.models import User
from bff.runtime.db import tortoise_config
from bff.runtime.settings import Settings

DEMO_OPENID = "oDEMO_user_0000000000000001"
DEMO_NICKNAME = "小履"

SeedStep = Callable[[User], Awaitable[str]]
SEED_STEPS: list[SeedStep] = [seed_orders, seed_lifecycle, seed_offers, seed_insight]


async def seed_demo_user() -> User:
    user, _ = await User.get_or_create(
        openid=DEMO_OPENID,
        defaults={"nickname": DEMO_NICKNAME, "member_tier": "GOLD", "points": 1280, "region": "浙江省杭州市"},
    )
    return user


async def seed(if_empty: bool) -> str:
    if if_empty and await User.exists():
        return "seed: the database already has users; nothing loaded"
    user = await seed_demo_user()
    lines = [f"seed: demo user {user.openid} (log in from the sandbox with this openid)"]
    for step in SEED_STEPS:
        lines.append(await step(user))
    return "\n".join(lines)


async def run_seed(settings: Settings, *, if_empty: bool) -> str:
    await Tortoise.init(config=tortoise_config(settings.database_url))
    try:
        return await seed(if_empty)
    finally:
        await Tortoise.close_connections()
