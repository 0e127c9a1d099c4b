"""The lifecycle tab's offers come from the same stages the tab shows (bff/offers/lifecycle_source.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.context import TortoiseContext

from bff.models import Notice, NoticeOpen, NoticeStatus, User
from tests.lifecycle.world import buy, describe_skus, kettle, tea
from tests.schema.lifecycle.conftest import LIFECYCLE
from tests.schema.orders.conftest import Ask

OPENID = "oLIFE_offers_000000000000001"
NOW = datetime.now(UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
async def bob(db: TortoiseContext) -> User:
    await describe_skus()
    return await User.create(openid=OPENID)


async def test_a_product_in_renewal_brings_an_upgrade_or_trade_in_offer(ask: Ask, bob: User) -> None:
    # given a kettle delivered 730 days ago (renewal after 720), and a user still active: they
    # opened a notice yesterday
    await buy("SO-R1", OPENID, ago(732), [kettle()])
    notice = await Notice.create(
        user_id=bob.id,
        topic="MAINTENANCE",
        template_id="tmpl-maintenance-0001",
        dedupe_key="opened",
        priority=15,
        status=NoticeStatus.SENT,
        occurred_at=ago(2),
    )
    await NoticeOpen.create(notice_id=notice.id, user_id=bob.id, opened_at=ago(1), local_hour=9)

    # when
    tab = (await ask(LIFECYCLE, as_user=bob))["data"]["lifecycle"]

    # then the tab shows the kettle in RENEWAL and an offer about it
    assert {p["skuCode"]: p["stage"] for p in tab["ownedProducts"]}["SKU-KETTLE"] == "RENEWAL"
    kinds = {offer["kind"] for offer in tab["offers"]}
    assert kinds & {"UPGRADE", "TRADE_IN"}, tab["offers"]
    assert "WIN_BACK" not in kinds


async def test_a_user_whose_every_product_is_dormant_gets_a_win_back_offer(ask: Ask, bob: User) -> None:
    # given a tea delivered 200 days ago and nothing since
    await buy("SO-W1", OPENID, ago(202), [tea(1)])

    # when
    tab = (await ask(LIFECYCLE, as_user=bob))["data"]["lifecycle"]

    # then
    assert [p["stage"] for p in tab["ownedProducts"]] == ["DORMANT"]
    assert [offer["kind"] for offer in tab["offers"]] == ["WIN_BACK"]
    assert all(offer["id"] and offer["title"] and offer["expiresAt"] for offer in tab["offers"])
