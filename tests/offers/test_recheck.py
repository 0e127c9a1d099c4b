"""An offer notice is checked again right before it is sent (bff/offers/recheck.py, the sender's hook)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.consent import ledger
from bff.inbound.supply_chain import ingest_body
from bff.models import Notice, NoticeStatus
from bff.notices.planner import plan_drafts
from bff.offers.recheck import OFFER_ENDED, ended_offer, parse_offer_key
from bff.offers.scan import offer_draft
from bff.offers.store import offers_of
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from tests.notices.send_fixtures import FakeClient, make_sender
from tests.offers.world import MEMBER_TEMPLATE, SHANGHAI, context, member


async def queued_points_offer(arq_pool: ArqRedis) -> Notice:
    """A member with 300 points expiring in 10 days, and the POINTS_EXPIRY notice the scan queued."""
    now = datetime.now(UTC)
    user = await member(1, at=now - timedelta(days=1), points=300)
    user.points_expire_at = now + timedelta(days=10)
    await user.save()
    await ledger.credit(user.id, MEMBER_TEMPLATE, 1)
    (offer,) = [o for o in await offers_of(user.id, now=now, zone=SHANGHAI, redis=arq_pool) if o.points]
    await plan_drafts([offer_draft(offer, SHANGHAI)], context(None), now=now)
    # queued now, or (during quiet hours) scheduled for the morning: either way its job comes
    await Notice.filter(dedupe_key=offer.dedupe_key, status=NoticeStatus.SCHEDULED).update(
        status=NoticeStatus.QUEUED, scheduled_for=None
    )
    notice = await Notice.get(dedupe_key=offer.dedupe_key)
    assert notice.status is NoticeStatus.QUEUED
    return notice


async def test_an_offer_still_there_is_sent(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings
) -> None:
    # given a queued POINTS_EXPIRY notice whose points are still there
    notice = await queued_points_offer(arq_pool)
    client = FakeClient()

    # when its send job runs
    await make_sender(settings, arq_pool, client).send(notice.id)

    # then WeChat gets it, with the offer's title and points
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENT
    assert [(c.template_id, c.data["thing1"], c.data["number2"]) for c in client.calls] == [
        (MEMBER_TEMPLATE, "积分即将过期", "300")
    ]


async def test_an_offer_gone_before_the_send_is_suppressed_and_keeps_the_unit(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings
) -> None:
    # given a queued POINTS_EXPIRY notice, and then a newer member record: the points were used
    notice = await queued_points_offer(arq_pool)
    openid = (await notice.user).openid  # type: ignore[attr-defined]
    await ingest_body(b.body(b.member_upsert(openid, datetime.now(UTC), points=0)))
    client = FakeClient()

    # when its send job runs
    await make_sender(settings, arq_pool, client).send(notice.id)

    # then nothing is sent, the notice says why, and the unit is still the user's
    await notice.refresh_from_db()
    assert (notice.status, notice.reason) == (NoticeStatus.SUPPRESSED, OFFER_ENDED)
    assert client.calls == []
    assert await ledger.remaining(notice.user_id, MEMBER_TEMPLATE) == 1  # type: ignore[attr-defined]


async def test_other_notices_are_not_looked_at(db: TortoiseContext) -> None:
    other = Notice(dedupe_key="order:SO1:NODE_OUTBOUND:OUTBOUND")
    assert await ended_offer(other, datetime.now(UTC)) is None
    assert parse_offer_key("offer:12:MEMBER_DAY:2026-12") == (12, "MEMBER_DAY:2026-12")
    assert parse_offer_key("offer:x:MEMBER_DAY:2026-12") is None
