from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bff.catalog.templates_file import load_templates_file
from bff.models import Notice, NoticeStatus, SubscribeRequestLog, User
from tests.schema.subscriptions.documents import SUBSCRIBE_REQUEST, Run


async def test_anonymous_callers_get_null(run: Run) -> None:
    # when
    data = await run(SUBSCRIBE_REQUEST, {"moment": "AFTER_PAYMENT", "orderNo": "SO1"})

    # then
    assert data == {"subscribeRequest": None}


async def test_after_payment_the_answer_is_ready_for_wx_request_subscribe_message(
    run: Run, user: User
) -> None:
    # when
    data = await run(SUBSCRIBE_REQUEST, {"moment": "AFTER_PAYMENT", "orderNo": "SO1"}, viewer=user)

    # then at most three one-time ids, titles all different, and the topics they carry
    answer = data["subscribeRequest"]
    templates = load_templates_file()
    configs = [templates.by_id(template_id) for template_id in answer["templateIds"]]
    assert 1 <= len(configs) <= 3
    assert all(config is not None and config.one_time for config in configs)
    assert len({config.title for config in configs if config is not None}) == len(configs)
    carried = {topic for config in configs if config is not None for topic in config.topics}
    assert {t["key"] for t in answer["topics"]} <= carried
    assert {"key": "DELIVERY_SLOT", "title": "选择送货时段"} in answer["topics"]


async def test_the_request_id_is_remembered_for_the_report(run: Run, user: User) -> None:
    # when
    data = await run(SUBSCRIBE_REQUEST, {"moment": "EXCEPTION", "orderNo": "SO1"}, viewer=user)

    # then
    answer = data["subscribeRequest"]
    assert answer["templateIds"] == ["tmpl-order-exception-0001"]
    log = await SubscribeRequestLog.get(request_id=answer["requestId"])
    assert log.user_id == user.id


async def test_the_order_number_is_optional(run: Run, user: User) -> None:
    # when
    data = await run(SUBSCRIBE_REQUEST, {"moment": "SUBSCRIPTION_CENTER"}, viewer=user)

    # then
    assert len(data["subscribeRequest"]["templateIds"]) == 3


OFFER_TEMPLATE = "tmpl-offer-0001"
MEMBER_TEMPLATE = "tmpl-member-benefit-0001"


async def points_expiring_soon(user: User) -> datetime:
    """member.upsert told us the user is a member whose points expire in ten days: a POINTS_EXPIRY
    offer (MEMBER_BENEFIT) is valid now. Returns when the points expire."""
    now = datetime.now(UTC).replace(microsecond=0)
    user.member_updated_at = now - timedelta(days=1)
    user.points = 500
    user.points_expire_at = now + timedelta(days=10)
    await user.save()
    return user.points_expire_at


async def test_the_lifecycle_tab_asks_for_the_template_of_an_offer_the_user_has(run: Run, user: User) -> None:
    # given a member whose points expire soon (an offer valid now), who owns nothing
    await points_expiring_soon(user)

    # when the lifecycle tab asks
    data = await run(SUBSCRIBE_REQUEST, {"moment": "LIFECYCLE"}, viewer=user)

    # then the member-benefit template, which the offer's notice will need
    answer = data["subscribeRequest"]
    assert answer["templateIds"] == [MEMBER_TEMPLATE]
    assert [t["key"] for t in answer["topics"]] == ["MEMBER_BENEFIT"]


async def test_an_offer_already_announced_is_not_asked_for_again(run: Run, user: User) -> None:
    # given the member's points-expiry offer whose one notice was already sent
    expiry = await points_expiring_soon(user)
    offer_id = f"POINTS_EXPIRY:{expiry.strftime('%Y%m%dT%H%M%S')}"
    await Notice.create(
        user_id=user.id,
        topic="MEMBER_BENEFIT",
        template_id=MEMBER_TEMPLATE,
        dedupe_key=f"offer:{user.id}:{offer_id}",
        priority=10,
        status=NoticeStatus.SENT,
        occurred_at=datetime.now(UTC),
    )

    # when the lifecycle tab asks
    data = await run(SUBSCRIBE_REQUEST, {"moment": "LIFECYCLE"}, viewer=user)

    # then nothing: no further notice of that offer will come
    assert data["subscribeRequest"]["templateIds"] == []


async def test_a_user_without_offers_is_asked_for_no_offer_template(run: Run, user: User) -> None:
    # given a user who is no member and owns nothing: no offer
    # when
    data = await run(SUBSCRIBE_REQUEST, {"moment": "LIFECYCLE"}, viewer=user)

    # then
    assert data["subscribeRequest"]["templateIds"] == []


@pytest.mark.parametrize("moment", ["AFTER_PAYMENT", "EXCEPTION", "RECEIPT"])
async def test_offers_do_not_change_what_other_moments_ask_for(run: Run, user: User, moment: str) -> None:
    # given a member with a valid offer
    await points_expiring_soon(user)

    # when another moment asks
    data = await run(SUBSCRIBE_REQUEST, {"moment": moment, "orderNo": "SO-NOT-KNOWN"}, viewer=user)

    # then no offer template
    assert not {OFFER_TEMPLATE, MEMBER_TEMPLATE} & set(data["subscribeRequest"]["templateIds"])
