"""subscribeRequest: which templates to ask for, at which moment, how often."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bff.catalog.templates_file import TemplatesFile, load_templates_file, loads_templates_file
from bff.catalog.topics import TOPICS, Topic
from bff.consent import ledger
from bff.consent.preferences import PreferencesUpdate, TopicSwitch, update_preferences
from bff.consent.requests import (
    ASKS_PER_DAY,
    ASKS_PER_MOMENT_PER_DAY,
    SENT_TOPICS,
    UNKNOWN_ORDER,
    SubscribeAsk,
    SubscribeMoment,
    order_outlook,
    subscribe_request,
)
from bff.inbound.supply_chain import ingest_body
from bff.models import (
    DeliverySlotOffer,
    Order,
    OrderNodeEvent,
    OrderStatus,
    Replenishment,
    ReplenishmentStatus,
    SubscribeRequestLog,
    User,
    WeChatStatus,
)
from bff.supply_chain import builders as b

ZONE = ZoneInfo("Asia/Shanghai")
BUNDLED = load_templates_file()
PROGRESS = "tmpl-order-progress-0001"
SHIPPING = "tmpl-order-shipping-0001"
DELIVERY = "tmpl-order-delivery-0001"
EXCEPTION = "tmpl-order-exception-0001"
PAYMENT = "tmpl-order-payment-0001"
SLOT = "tmpl-delivery-slot-0001"
RECEIPT = "tmpl-receipt-confirm-0001"
ORDER_TEMPLATES = {PROGRESS, SHIPPING, DELIVERY, EXCEPTION, PAYMENT, SLOT, RECEIPT}
REPLENISHMENT = "tmpl-replenishment-0001"
MAINTENANCE = "tmpl-maintenance-0001"
LIFECYCLE_TEMPLATES = {REPLENISHMENT, MAINTENANCE}
OFFER = "tmpl-offer-0001"
MEMBER = "tmpl-member-benefit-0001"


async def ask(
    user: User,
    moment: SubscribeMoment,
    order_no: str | None = None,
    *,
    templates: TemplatesFile = BUNDLED,
    max_templates: int = 3,
    now: datetime | None = None,
) -> SubscribeAsk:
    return await subscribe_request(
        user.id, moment, order_no, templates=templates, zone=ZONE, max_templates=max_templates, now=now
    )


async def order(
    user: User, order_no: str, *, current_node: str | None = None, presale: bool = False
) -> Order:
    status = OrderStatus.PAID if current_node is None else OrderStatus.SHIPPED
    if current_node in ("MATERIAL_IN", "PRODUCTION_STARTED", "QC_PASSED"):
        status = OrderStatus.IN_PRODUCTION
    return await Order.create(
        order_no=order_no,
        user=user,
        status=status,
        placed_at=datetime.now(UTC),
        paid_at=datetime.now(UTC),
        total_amount=Decimal("199.00"),
        region="浙江",
        warehouse="杭州仓",
        presale=presale,
        current_node=current_node,
    )


async def test_after_paying_a_stock_order_asks_for_what_lies_ahead_decisions_included(user: User) -> None:
    # given a paid stock order with no node yet
    await order(user, "SO1")

    # when
    answer = await ask(user, SubscribeMoment.AFTER_PAYMENT, "SO1", max_templates=5)

    # then its nodes ahead, the delivery slot to choose, an exception to decide and the receipt
    # reminder; the production template is not among them
    assert set(answer.template_ids) == {SHIPPING, DELIVERY, SLOT, EXCEPTION, RECEIPT}
    assert {"DELIVERY_SLOT", "RECEIPT_CONFIRM", "ORDER_EXCEPTION"} <= set(answer.topics)
    assert "NODE_MATERIAL_IN" not in answer.topics


async def test_with_three_per_popup_the_decisions_come_first(user: User) -> None:
    # given a paid stock order and nothing granted yet
    await order(user, "SO1")

    # when the popup takes three templates
    answer = await ask(user, SubscribeMoment.AFTER_PAYMENT, "SO1")

    # then the exception and the delivery slot (decisions), then the most important progress
    assert answer.template_ids == (EXCEPTION, SLOT, DELIVERY)


async def test_once_the_decisions_are_funded_the_rest_of_the_order_is_asked_for(user: User) -> None:
    # given units for the exception and the slot, one delivery unit for its two topics
    await order(user, "SO1")
    await ledger.credit(user.id, EXCEPTION, 1)
    await ledger.credit(user.id, SLOT, 1)
    await ledger.credit(user.id, DELIVERY, 1)

    # when
    answer = await ask(user, SubscribeMoment.ORDER_DETAIL, "SO1")

    # then the templates without units first (receipt before shipping), then delivery
    assert answer.template_ids == (RECEIPT, SHIPPING, DELIVERY)


async def test_a_chosen_slot_or_a_courier_on_the_way_asks_for_no_slot_template(user: User) -> None:
    # given one order whose slot is chosen and one out for delivery
    chosen = await order(user, "SO8", current_node="OUTBOUND")
    await DeliverySlotOffer.create(
        order=chosen,
        deadline=datetime.now(UTC) + timedelta(days=1),
        default_slot_id="s1",
        options=[],
        offered_at=datetime.now(UTC),
        chosen_slot_id="s1",
    )
    await order(user, "SO9", current_node="OUT_FOR_DELIVERY")

    # when
    after_choice = await ask(user, SubscribeMoment.ORDER_DETAIL, "SO8", max_templates=5)
    on_the_way = await ask(user, SubscribeMoment.ORDER_DETAIL, "SO9", max_templates=5)

    # then
    assert SLOT not in after_choice.template_ids
    assert SLOT not in on_the_way.template_ids
    assert RECEIPT in on_the_way.template_ids


async def test_after_paying_a_presale_order_asks_for_production_and_presale_progress(user: User) -> None:
    # given a presale order (made to order: production nodes ahead), its decisions funded
    await order(user, "SO2", presale=True)
    for template_id in (EXCEPTION, SLOT, RECEIPT):
        await ledger.credit(user.id, template_id, 1)

    # when
    answer = await ask(user, SubscribeMoment.AFTER_PAYMENT, "SO2", max_templates=5)

    # then
    assert set(answer.template_ids) == {SHIPPING, DELIVERY, PROGRESS, PAYMENT}
    assert "PRESALE_PROGRESS" in answer.topics


async def test_an_order_with_a_production_node_is_a_custom_order(user: User) -> None:
    # given a non-presale order whose first node was MATERIAL_IN
    placed = await order(user, "SO3", current_node="MATERIAL_IN")
    await OrderNodeEvent.create(
        order=placed, node="MATERIAL_IN", occurred_at=datetime.now(UTC), location="工厂"
    )
    for template_id in (EXCEPTION, SLOT, RECEIPT):
        await ledger.credit(user.id, template_id, 1)

    # when
    answer = await ask(user, SubscribeMoment.ORDER_DETAIL, "SO3", max_templates=5)

    # then the remaining production nodes are ahead
    assert PROGRESS in answer.template_ids
    assert "NODE_MATERIAL_IN" not in answer.topics
    assert "NODE_PRODUCTION_STARTED" in answer.topics


async def test_only_nodes_still_ahead_count(user: User) -> None:
    # given an order out for delivery
    await order(user, "SO4", current_node="OUT_FOR_DELIVERY")

    # when
    answer = await ask(user, SubscribeMoment.ORDER_DETAIL, "SO4")

    # then of the nodes only DELIVERED lies ahead
    assert set(answer.template_ids) == {DELIVERY, EXCEPTION, RECEIPT}
    assert "NODE_DELIVERED" in answer.topics
    assert "NODE_OUT_FOR_DELIVERY" not in answer.topics


async def test_a_template_with_a_unit_for_each_topic_ahead_is_not_asked_for(user: User) -> None:
    # given two delivery units and one shipping unit; three shipping nodes lie ahead
    await order(user, "SO5")
    await ledger.credit(user.id, DELIVERY, 2)
    await ledger.credit(user.id, SHIPPING, 1)

    # when
    answer = await ask(user, SubscribeMoment.AFTER_PAYMENT, "SO5", max_templates=5)

    # then
    assert DELIVERY not in answer.template_ids
    assert SHIPPING in answer.template_ids


async def test_an_unknown_order_or_one_of_another_user_asks_for_every_node(
    user: User, other_user: User
) -> None:
    # given an order of someone else
    await order(other_user, "SO6", current_node="OUT_FOR_DELIVERY")

    # when
    foreign = await ask(user, SubscribeMoment.AFTER_PAYMENT, "SO6", max_templates=5)
    unknown = await ask(user, SubscribeMoment.AFTER_PAYMENT, "SO-not-yet-placed", max_templates=5)

    # then both are answered as for an order not known yet (nothing about the other order leaks)
    assert foreign.template_ids == unknown.template_ids
    assert await order_outlook(user.id, "SO6") == await order_outlook(user.id, "SO-x") == UNKNOWN_ORDER
    assert UNKNOWN_ORDER.nodes_ahead[0] == "MATERIAL_IN"
    assert {"DELIVERY_SLOT", "ORDER_EXCEPTION", "NODE_DELIVERED"} <= set(foreign.topics)


async def test_a_delivered_order_asks_for_nothing(user: User) -> None:
    # given
    placed = await order(user, "SO7", current_node="DELIVERED")
    placed.status = OrderStatus.DELIVERED
    await placed.save()

    # when
    answer = await ask(user, SubscribeMoment.ORDER_DETAIL, "SO7")

    # then
    assert answer.template_ids == ()
    assert not await SubscribeRequestLog.filter(user_id=user.id).exists()


async def test_an_exception_asks_for_the_exception_template(user: User) -> None:
    # when
    answer = await ask(user, SubscribeMoment.EXCEPTION, "SO1")

    # then
    assert answer.template_ids == (EXCEPTION,)
    assert answer.topics == ("ORDER_EXCEPTION",)


async def test_switched_off_topics_are_not_asked_for(user: User) -> None:
    # given the user wants none of the shipping nodes
    off = [
        TopicSwitch(key, False) for key in ("NODE_OUTBOUND", "NODE_TRUNK_TRANSIT", "NODE_COURIER_ACCEPTED")
    ]
    await update_preferences(user.id, PreferencesUpdate(topics=off))

    # when
    answer = await ask(user, SubscribeMoment.AFTER_PAYMENT)

    # then
    assert SHIPPING not in answer.template_ids
    assert not {"NODE_OUTBOUND", "NODE_TRUNK_TRANSIT"} & set(answer.topics)


async def test_a_template_rejected_with_always_keep_is_never_asked_for(user: User) -> None:
    # given
    await ledger.set_status(user.id, DELIVERY, WeChatStatus.REJECT, always_keep=True)

    # when
    answer = await ask(user, SubscribeMoment.AFTER_PAYMENT)

    # then
    assert DELIVERY not in answer.template_ids


async def test_a_plain_reject_may_be_asked_again(user: User) -> None:
    # given the user refused once without "always keep"
    await ledger.set_status(user.id, DELIVERY, WeChatStatus.REJECT, always_keep=False)

    # when
    answer = await ask(user, SubscribeMoment.AFTER_PAYMENT)

    # then
    assert DELIVERY in answer.template_ids


async def test_a_banned_template_is_never_asked_for(user: User) -> None:
    # given
    await ledger.ban(user.id, EXCEPTION)

    # when
    answer = await ask(user, SubscribeMoment.EXCEPTION)

    # then
    assert answer.template_ids == ()


async def test_at_most_three_by_default_and_up_to_five_when_configured(user: User) -> None:
    # when
    three = await ask(user, SubscribeMoment.SUBSCRIPTION_CENTER)
    five = await ask(user, SubscribeMoment.SUBSCRIPTION_CENTER, max_templates=5)

    # then
    assert len(three.template_ids) == 3
    assert len(five.template_ids) == 5
    with pytest.raises(ValueError, match="between 1 and 5"):
        await ask(user, SubscribeMoment.SUBSCRIPTION_CENTER, max_templates=6)


async def test_fewest_units_first_then_the_most_important(user: User) -> None:
    # given units for the exception and slot templates (the most important topics)
    await ledger.credit(user.id, EXCEPTION, 1)
    await ledger.credit(user.id, "tmpl-delivery-slot-0001", 1)

    # when
    answer = await ask(user, SubscribeMoment.SUBSCRIPTION_CENTER)

    # then templates without units come first, the most important of them first
    assert answer.template_ids == (DELIVERY, RECEIPT, SHIPPING)


async def test_a_user_with_nothing_ahead_is_asked_for_nothing_at_the_lifecycle_moments(user: User) -> None:
    # given a user who owns nothing and whose caller knows no offer
    # when
    lifecycle = await ask(user, SubscribeMoment.LIFECYCLE, max_templates=5)
    receipt = await ask(user, SubscribeMoment.RECEIPT, "SO1", max_templates=5)

    # then no popup asks for a unit nobody would spend
    assert lifecycle.template_ids == ()
    assert receipt.template_ids == ()


async def test_every_topic_is_sent_by_the_engine() -> None:
    # given the topics of the mini-program, and SENT_TOPICS (kept in step with the planner and
    # the lifecycle and offers scans)
    # then every topic is sent by something, offers and member benefits included
    assert set(TOPICS) == SENT_TOPICS


async def test_the_lifecycle_tab_asks_for_the_templates_of_likely_offers(user: User) -> None:
    # given a user who owns nothing, whose caller knows an upgrade offer and a member benefit
    likely = (Topic.RENEWAL_OFFER, Topic.MEMBER_BENEFIT)

    # when the lifecycle tab asks, without and with them
    without = await ask(user, SubscribeMoment.LIFECYCLE, max_templates=5)
    with_offers = await subscribe_request(
        user.id,
        SubscribeMoment.LIFECYCLE,
        None,
        templates=BUNDLED,
        zone=ZONE,
        max_templates=5,
        likely_topics=likely,
    )

    # then only with them, their templates
    assert without.template_ids == ()
    assert set(with_offers.template_ids) == {OFFER, MEMBER}
    assert set(with_offers.topics) == set(likely)


async def test_likely_offers_are_not_asked_for_when_their_topic_is_switched_off(user: User) -> None:
    # given the user switched member benefits off
    await update_preferences(
        user.id, PreferencesUpdate(topics=(TopicSwitch(Topic.MEMBER_BENEFIT, enabled=False),))
    )

    # when the lifecycle tab asks with a likely member benefit and a likely win-back offer
    asked = await subscribe_request(
        user.id,
        SubscribeMoment.LIFECYCLE,
        None,
        templates=BUNDLED,
        zone=ZONE,
        max_templates=5,
        likely_topics=(Topic.MEMBER_BENEFIT, Topic.WIN_BACK),
    )

    # then only the offer template
    assert asked.template_ids == (OFFER,)


@pytest.mark.parametrize(
    ("moment", "order_no"),
    [
        (SubscribeMoment.AFTER_PAYMENT, "SO1"),
        (SubscribeMoment.ORDER_DETAIL, "SO1"),
        (SubscribeMoment.EXCEPTION, "SO1"),
        (SubscribeMoment.RECEIPT, "SO1"),
    ],
)
async def test_likely_offers_change_nothing_at_other_moments(
    user: User, moment: SubscribeMoment, order_no: str
) -> None:
    # given
    other = await User.create(openid="oREQ_likely_other_0000000001", nickname="other")

    # when the same moment asks with and without likely offers
    plain = await ask(other, moment, order_no, max_templates=5)
    asked = await subscribe_request(
        user.id,
        moment,
        order_no,
        templates=BUNDLED,
        zone=ZONE,
        max_templates=5,
        likely_topics=(Topic.RENEWAL_OFFER, Topic.MEMBER_BENEFIT),
    )

    # then the same templates
    assert asked.template_ids == plain.template_ids
    assert not {OFFER, MEMBER} & set(asked.template_ids)


async def deliver(
    user: User, order_no: str, sku: str, *, consumable: bool, maintenance_after: int | None
) -> None:
    """The supply chain describes `sku` and delivers one to `user` (through ingestion)."""
    now = datetime.now(UTC)
    maintenance = [(maintenance_after, "清洗滤网")] if maintenance_after is not None else []
    await ingest_body(
        b.body(
            b.sku_upsert(
                sku,
                now - timedelta(days=1),
                name="净水器滤芯",
                consumable=consumable,
                usage_days_per_unit=20 if consumable else None,
                maintenance=maintenance,
            ),
            b.placed(
                order_no, user.openid, now - timedelta(hours=3), items=[(sku, "净水器滤芯", 1, "99.00")]
            ),
            b.paid(order_no, now - timedelta(hours=3)),
            b.node(order_no, "DELIVERED", now - timedelta(hours=1)),
        )
    )


async def test_the_lifecycle_tab_asks_for_a_replenishment_reminder_due_within_the_month(user: User) -> None:
    # given a consumable delivered today (20 days per unit: reminded within the month)
    await deliver(user, "SO-LC-1", "SKU-LC-FILTER", consumable=True, maintenance_after=None)

    # when the lifecycle tab asks
    asked = await ask(user, SubscribeMoment.LIFECYCLE, max_templates=5)

    # then the replenishment template, and nothing about maintenance or offers
    assert asked.template_ids == (REPLENISHMENT,)


async def test_a_dismissed_replenishment_is_not_asked_for(user: User) -> None:
    # given a consumable delivered today whose reminders the user dismissed
    await deliver(user, "SO-LC-2", "SKU-LC-FILTER", consumable=True, maintenance_after=None)
    await Replenishment.filter(user_id=user.id).update(status=ReplenishmentStatus.DISMISSED)

    # when / then
    assert (await ask(user, SubscribeMoment.LIFECYCLE, max_templates=5)).template_ids == ()


async def test_maintenance_falling_due_within_the_month_is_asked_for(user: User) -> None:
    # given a durable product delivered today with maintenance after 10 days, another after 200
    await deliver(user, "SO-LC-3", "SKU-LC-PURIFIER", consumable=False, maintenance_after=10)
    other = await User.create(openid="oLC_other_user_000000000001", nickname="other")
    await deliver(other, "SO-LC-4", "SKU-LC-KETTLE", consumable=False, maintenance_after=200)

    # when / then
    assert (await ask(user, SubscribeMoment.LIFECYCLE, max_templates=5)).template_ids == (MAINTENANCE,)
    assert (await ask(other, SubscribeMoment.LIFECYCLE, max_templates=5)).template_ids == ()


async def test_confirming_receipt_asks_for_what_follows_that_order(user: User) -> None:
    # given an order of a consumable that also has maintenance items
    await deliver(user, "SO-LC-5", "SKU-LC-FILTER2", consumable=True, maintenance_after=90)

    # when the receipt moment asks for that order
    asked = await ask(user, SubscribeMoment.RECEIPT, "SO-LC-5", max_templates=5)

    # then both what the order's products will need
    assert set(asked.template_ids) == {REPLENISHMENT, MAINTENANCE}


TWO_TITLES = """
[[template]]
template_id = "tmpl-a"
title = "物流状态通知"
type = 2
content = "订单编号:{{character_string1.DATA}}\\n"
topics = ["NODE_OUTBOUND"]
page = "pages/order/detail?orderNo={order_no}"
[template.data]
character_string1 = "{order_no}"

[[template]]
template_id = "tmpl-b"
title = "物流状态通知"
type = 2
content = "订单编号:{{character_string1.DATA}}\\n"
topics = ["NODE_DELIVERED"]
page = "pages/order/detail?orderNo={order_no}"
[template.data]
character_string1 = "{order_no}"

[[template]]
template_id = "tmpl-long"
title = "长期通知"
type = 3
content = "订单编号:{{character_string1.DATA}}\\n"
topics = ["NODE_OUT_FOR_DELIVERY"]
page = "pages/order/detail?orderNo={order_no}"
[template.data]
character_string1 = "{order_no}"
"""


async def test_no_two_templates_with_one_title_and_one_time_templates_only(user: User) -> None:
    # given a templates file with two ids of one title and a long-term template
    templates = loads_templates_file(TWO_TITLES)

    # when
    answer = await ask(user, SubscribeMoment.AFTER_PAYMENT, templates=templates)

    # then WeChat would filter the second title; the long-term one cannot be mixed in
    assert answer.template_ids == ("tmpl-b",)


async def test_each_answer_has_its_own_request_id_and_is_remembered(user: User) -> None:
    # when
    first = await ask(user, SubscribeMoment.EXCEPTION, "SO1")
    second = await ask(user, SubscribeMoment.EXCEPTION, "SO2")

    # then
    assert first.request_id != second.request_id
    log = await SubscribeRequestLog.get(request_id=first.request_id)
    assert (log.user_id, log.moment, log.order_no, log.template_ids) == (
        user.id,
        "EXCEPTION",
        "SO1",
        [EXCEPTION],
    )


async def test_the_same_moment_and_order_is_asked_a_few_times_a_day(user: User) -> None:
    # given the limit is reached for one order's detail page
    now = datetime(2026, 11, 20, 10, 0, tzinfo=ZONE)
    for _ in range(ASKS_PER_MOMENT_PER_DAY):
        assert (await ask(user, SubscribeMoment.ORDER_DETAIL, "SO1", now=now)).template_ids

    # when
    again = await ask(user, SubscribeMoment.ORDER_DETAIL, "SO1", now=now)
    other_order = await ask(user, SubscribeMoment.ORDER_DETAIL, "SO2", now=now)
    tomorrow = await ask(user, SubscribeMoment.ORDER_DETAIL, "SO1", now=now + timedelta(days=1))

    # then
    assert (again.template_ids, again.limited) == ((), True)
    assert other_order.template_ids
    assert tomorrow.template_ids


async def test_a_user_is_asked_at_most_a_number_of_times_a_day_but_exceptions_still_ask(user: User) -> None:
    # given the daily limit is spent on many orders
    now = datetime(2026, 11, 20, 10, 0, tzinfo=ZONE)
    for index in range(ASKS_PER_DAY):
        assert (await ask(user, SubscribeMoment.ORDER_DETAIL, f"SO{index}", now=now)).template_ids

    # when
    another = await ask(user, SubscribeMoment.LIFECYCLE, now=now)
    exception = await ask(user, SubscribeMoment.EXCEPTION, "SO1", now=now)

    # then
    assert another.limited
    assert exception.template_ids == (EXCEPTION,)


async def test_the_limit_counts_per_user(user: User, other_user: User) -> None:
    # given
    now = datetime(2026, 11, 20, 10, 0, tzinfo=ZONE)
    for _ in range(ASKS_PER_MOMENT_PER_DAY):
        await ask(user, SubscribeMoment.SUBSCRIPTION_CENTER, now=now)

    # when
    answer = await ask(other_user, SubscribeMoment.SUBSCRIPTION_CENTER, now=now)

    # then
    assert answer.template_ids
