"""Demo data: `bff seed` gives the demo user an offer in the lifecycle tab."""

from __future__ import annotations

from datetime import UTC, datetime

from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.demo.seed import DEMO_OPENID, seed
from bff.models import User
from bff.offers.rules import OfferKind
from bff.offers.store import offers_of
from tests.offers.world import SHANGHAI


async def test_the_seeded_demo_user_sees_a_points_expiry_offer(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    # when the demo data is loaded
    await seed(if_empty=True)

    # then the demo user's tab lists the points about to expire
    user = await User.get(openid=DEMO_OPENID)
    offers = await offers_of(user.id, now=datetime.now(UTC), zone=SHANGHAI, redis=arq_pool)
    assert OfferKind.POINTS_EXPIRY in [o.kind for o in offers]
