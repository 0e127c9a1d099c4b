from __future__ import annotations

from bff.catalog.templates_file import load_templates_file
from bff.catalog.topics import TOPICS
from bff.consent import ledger
from bff.models import TopicPreference, User
from tests.querycount import count_queries
from tests.schema.subscriptions.documents import CENTER, Run, by_key

SHIPPING = "tmpl-order-shipping-0001"


async def test_anonymous_callers_get_null(run: Run) -> None:
    # when
    data = await run(CENTER)

    # then
    assert data == {"subscriptionCenter": None}


async def test_a_new_user_sees_every_topic_on_with_the_defaults(run: Run, user: User) -> None:
    # when
    center = (await run(CENTER, viewer=user))["subscriptionCenter"]

    # then every topic of the bundled templates file is there, in the order of bff.catalog.topics
    carried = load_templates_file().topics
    assert [t["key"] for t in center["topics"]] == [str(key) for key in TOPICS if key in carried]
    assert all(
        t["enabled"] and t["remainingQuota"] == 0 and t["wechatStatus"] == "NOT_ASKED"
        for t in center["topics"]
    )
    assert center["mainSwitch"] is True
    assert center["quietHours"] == {"start": "22:00", "end": "08:00"}
    assert center["weeklyLimit"] == 5


async def test_each_topic_shows_its_title_category_and_template(run: Run, user: User) -> None:
    # when
    topics = by_key((await run(CENTER, viewer=user))["subscriptionCenter"]["topics"])

    # then
    outbound = topics["NODE_OUTBOUND"]
    assert outbound["title"] == "已出库"
    assert outbound["description"] == "商品从仓库发出时通知您。"
    assert outbound["category"] == "ORDER_PROGRESS"
    assert outbound["templateId"] == SHIPPING
    assert topics["MEMBER_BENEFIT"]["category"] == "MEMBER"
    assert topics["REPLENISHMENT"]["category"] == "LIFECYCLE"


async def test_only_the_exception_topic_cannot_be_switched_off(run: Run, user: User) -> None:
    # when
    topics = (await run(CENTER, viewer=user))["subscriptionCenter"]["topics"]

    # then
    assert [t["key"] for t in topics if not t["optOutAllowed"]] == ["ORDER_EXCEPTION"]


async def test_topics_sharing_a_template_share_its_units_and_status(run: Run, user: User) -> None:
    # given two accepts of the shipping template
    await ledger.credit(user.id, SHIPPING, 2)

    # when
    topics = by_key((await run(CENTER, viewer=user))["subscriptionCenter"]["topics"])

    # then the three shipping nodes show the same two units; other templates none
    for key in ("NODE_OUTBOUND", "NODE_TRUNK_TRANSIT", "NODE_COURIER_ACCEPTED"):
        assert (topics[key]["remainingQuota"], topics[key]["wechatStatus"]) == (2, "ACCEPT")
    assert topics["NODE_DELIVERED"]["remainingQuota"] == 0


async def test_a_banned_template_shows_ban(run: Run, user: User) -> None:
    # given
    await ledger.ban(user.id, SHIPPING)

    # when
    topics = by_key((await run(CENTER, viewer=user))["subscriptionCenter"]["topics"])

    # then
    assert topics["NODE_OUTBOUND"]["wechatStatus"] == "BAN"


async def test_a_user_sees_only_their_own_units(run: Run, user: User, other_user: User) -> None:
    # given
    await ledger.credit(other_user.id, SHIPPING, 3)

    # when
    topics = by_key((await run(CENTER, viewer=user))["subscriptionCenter"]["topics"])

    # then
    assert topics["NODE_OUTBOUND"]["remainingQuota"] == 0


async def test_the_tab_costs_three_queries_whatever_the_number_of_templates(run: Run, user: User) -> None:
    # given units, switches and preferences on several templates
    for template_id in (SHIPPING, "tmpl-order-delivery-0001", "tmpl-offer-0001"):
        await ledger.credit(user.id, template_id)
    await TopicPreference.create(user=user, topic="WIN_BACK", enabled=False)

    # when
    with count_queries() as statements:
        await run(CENTER, viewer=user)

    # then preferences, topic switches and the ledger: one query each
    assert len(statements) == 3
