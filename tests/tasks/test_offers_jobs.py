"""The offer cron jobs (tasks/offers.py) are thin: they run the domain scan and refresh."""

from __future__ import annotations

from datetime import datetime

from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.consent import ledger
from bff.models import Notice, NoticeStatus
from bff.runtime.settings import Settings
from tasks.offers import refresh_co_purchase, scan_offers
from tests.offers.world import MEMBER_TEMPLATE, SHANGHAI, member


async def test_the_scan_job_plans_member_day_notices_as_of_the_given_moment(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings
) -> None:
    # given a member with a unit, and the job told to act as of the member day (18th by default)
    user = await member(1, at=datetime(2026, 1, 1, tzinfo=SHANGHAI))
    await ledger.credit(user.id, MEMBER_TEMPLATE, 1)
    ctx = {
        "settings": settings,
        "redis": arq_pool,
        "offers_as_of": datetime(2026, 12, 18, 10, tzinfo=SHANGHAI),
    }

    # when the cron job runs
    summary = await scan_offers(ctx)

    # then the member's notice is queued
    assert summary == "1 users, 1 offers, 1 planned, done True"
    notice = await Notice.get(user_id=user.id)
    assert (notice.topic, notice.status) == ("MEMBER_BENEFIT", NoticeStatus.QUEUED)


async def test_the_refresh_job_completes_a_pass_on_an_empty_history(
    db: TortoiseContext, arq_pool: ArqRedis
) -> None:
    summary = await refresh_co_purchase({"redis": arq_pool})
    assert summary == "0 users in 0 batches, pass done True, idle False"
    assert (await refresh_co_purchase({"redis": arq_pool})).endswith("idle True")
