"""The policy (bff/notices/policy.py): one decision per notice, one reason per suppressed notice."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bff.catalog.topics import NODE_ORDER, TOPICS, Topic, TopicCategory
from bff.notices.policy import (
    Decision,
    DecisionKind,
    NoticeFacts,
    OrderFacts,
    QuietHours,
    Unsent,
    UserFacts,
    ahead_of,
    decide,
    kept_for_ahead,
)
from bff.notices.reasons import Reason

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 10:00 in Shanghai: outside the usual quiet hours.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI).astimezone(UTC)
SHIPPING = "tmpl-order-shipping-0001"
SHIPPING_TOPICS = frozenset({Topic.NODE_OUTBOUND, Topic.NODE_TRUNK_TRANSIT, Topic.NODE_COURIER_ACCEPTED})
ALL = "tmpl-all-order-topics"
ALL_ORDER_TOPICS = frozenset(
    t for t, i in TOPICS.items() if i.category in (TopicCategory.ORDER_PROGRESS, TopicCategory.ORDER_ACTION)
)
NIGHT = QuietHours(time(22, 0), time(8, 0), SHANGHAI)


def rank(node: str) -> int:
    return NODE_ORDER.index(node)


def node_notice(
    node: str,
    template_id: str = SHIPPING,
    topics: frozenset[Topic] = SHIPPING_TOPICS,
    order_no: str = "SO1",
    **changes: object,
) -> NoticeFacts:
    notice = NoticeFacts(
        key=f"order:{order_no}:NODE_{node}:{node}",
        topic=Topic(f"NODE_{node}"),
        template_id=template_id,
        template_topics=topics,
        occurred_at=NOW - timedelta(minutes=5),
        expires_at=NOW + timedelta(days=3),
        order_no=order_no,
        node_rank=rank(node),
    )
    return replace(notice, **changes)  # type: ignore[arg-type]


def order_at(node: str, order_no: str = "SO1", **changes: object) -> OrderFacts:
    """A paid order whose latest node is `node` (and every node before it was seen)."""
    seen = frozenset(range(rank(node) + 1))
    order = OrderFacts(order_no=order_no, made_to_order=rank(node) < 3, nodes_seen=seen)
    return replace(order, **changes)  # type: ignore[arg-type]


def user(units: int = 1, template_id: str = SHIPPING, **changes: object) -> UserFacts:
    facts = UserFacts(user_id=1, units={template_id: units}, orders={"SO1": order_at("OUTBOUND")})
    return replace(facts, **changes)  # type: ignore[arg-type]


def action_notice(topic: Topic, key: str, order_no: str = "SO1") -> NoticeFacts:
    """A notice on the shipping template's units that asks the user to do something."""
    return NoticeFacts(
        key=key,
        topic=topic,
        template_id=SHIPPING,
        template_topics=frozenset({topic}),
        occurred_at=NOW - timedelta(minutes=5),
        expires_at=NOW + timedelta(days=1),
        order_no=order_no,
    )


# ------------------------------------------------------------------------------- one per reason

Case = tuple[str, Callable[[NoticeFacts], NoticeFacts], Callable[[UserFacts], UserFacts], Decision]

CASES: list[Case] = [
    ("everything fine", lambda n: n, lambda u: u, Decision.send()),
    (
        "expired",
        lambda n: replace(n, expires_at=NOW - timedelta(seconds=1)),
        lambda u: u,
        Decision.suppress(Reason.EXPIRED),
    ),
    (
        "main switch off",
        lambda n: n,
        lambda u: replace(u, main_switch=False),
        Decision.suppress(Reason.MAIN_SWITCH_OFF),
    ),
    (
        "topic off",
        lambda n: n,
        lambda u: replace(u, topics_off=frozenset({Topic.NODE_OUTBOUND})),
        Decision.suppress(Reason.TOPIC_OFF),
    ),
    (
        "template banned",
        lambda n: n,
        lambda u: replace(u, banned_templates=frozenset({SHIPPING})),
        Decision.suppress(Reason.TEMPLATE_BANNED),
    ),
    (
        "order cancelled",
        lambda n: n,
        lambda u: replace(u, orders={"SO1": order_at("OUTBOUND", open=False, cancelled=True)}),
        Decision.suppress(Reason.ORDER_CANCELLED),
    ),
    (
        "a later node is known",
        lambda n: n,
        lambda u: replace(u, orders={"SO1": order_at("TRUNK_TRANSIT")}),
        Decision.suppress(Reason.SUPERSEDED),
    ),
    (
        "the user already confirmed receipt",
        lambda n: action_notice(Topic.RECEIPT_CONFIRM, "receipt:SO1"),
        lambda u: replace(u, orders={"SO1": order_at("DELIVERED", receipt_confirmed=True)}),
        Decision.suppress(Reason.ANSWERED),
    ),
    ("no units", lambda n: n, lambda u: replace(u, units={SHIPPING: 0}), Decision.suppress(Reason.NO_UNITS)),
    (
        "the only unit is promised to a queued notice",
        lambda n: n,
        lambda u: replace(u, unsent=(Unsent("other", Topic.NODE_OUTBOUND, SHIPPING, 60, queued=True),)),
        Decision.suppress(Reason.NO_UNITS),
    ),
    (
        "the unit is kept for a more important notice ahead",
        lambda n: node_notice("TRUNK_TRANSIT"),  # 50, and COURIER_ACCEPTED (55) is still ahead
        lambda u: replace(u, orders={"SO1": order_at("TRUNK_TRANSIT")}),
        Decision.suppress(Reason.SAVED_FOR_HIGHER_PRIORITY),
    ),
    (
        "weekly limit reached (lifecycle topic)",
        lambda n: NoticeFacts(
            key="user:1:SKU-TEA:3",
            topic=Topic.REPLENISHMENT,
            template_id="tmpl-replenishment-0001",
            template_topics=frozenset({Topic.REPLENISHMENT}),
            occurred_at=NOW,
        ),
        lambda u: replace(u, units={"tmpl-replenishment-0001": 3}, weekly_limit=2, weekly_sent=2),
        Decision.suppress(Reason.WEEKLY_LIMIT),
    ),
    (
        "quiet hours (deferred to their end)",
        lambda n: n,
        lambda u: replace(u, quiet_hours=QuietHours(time(9, 0), time(11, 30), SHANGHAI)),
        Decision.defer(Reason.QUIET_HOURS, datetime(2026, 11, 20, 11, 30, tzinfo=SHANGHAI)),
    ),
    (
        "held out by an experiment (no unit spent, no deferral)",
        lambda n: replace(n, holdout=True),
        lambda u: replace(u, quiet_hours=QuietHours(time(9, 0), time(11, 30), SHANGHAI)),
        Decision.suppress(Reason.EXPERIMENT_HOLDOUT),
    ),
    (
        "waits for its best hour (bff/notices/timing)",
        lambda n: replace(n, send_at=datetime(2026, 11, 20, 20, 0, tzinfo=SHANGHAI)),
        lambda u: u,
        Decision.defer(Reason.BEST_HOUR, datetime(2026, 11, 20, 20, 0, tzinfo=SHANGHAI)),
    ),
]


@pytest.mark.parametrize(
    ("notice_change", "user_change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_reason(
    notice_change: Callable[[NoticeFacts], NoticeFacts],
    user_change: Callable[[UserFacts], UserFacts],
    expected: Decision,
) -> None:
    # given a notice and a user that differ from a sendable pair in one way
    notice = notice_change(node_notice("OUTBOUND"))
    facts = user_change(user())

    # when
    decision = decide(notice, facts, NOW)

    # then
    assert decision == expected


def test_every_reason_code_has_a_case() -> None:
    # given the reason codes, and the reasons the table above shows
    shown = {case[3].reason for case in CASES}

    # then no reason is left untested
    assert set(Reason) <= shown


def test_the_first_reason_that_applies_is_kept() -> None:
    # given a notice that is expired AND switched off AND without units
    notice = replace(node_notice("OUTBOUND"), expires_at=NOW - timedelta(hours=1))
    facts = user(units=0, topics_off=frozenset({Topic.NODE_OUTBOUND}), main_switch=False)

    # when / then: expiry is checked first
    assert decide(notice, facts, NOW).reason == Reason.EXPIRED
    # and without the expiry, the main switch before the topic switch
    assert decide(replace(notice, expires_at=None), facts, NOW).reason == Reason.MAIN_SWITCH_OFF


def test_the_exception_topic_cannot_be_switched_off() -> None:
    # given a user whose switch for exceptions says off (it cannot be switched off in-app)
    notice = NoticeFacts(
        key="exception:EX1:SO1",
        topic=Topic.ORDER_EXCEPTION,
        template_id="tmpl-order-exception-0001",
        template_topics=frozenset({Topic.ORDER_EXCEPTION}),
        occurred_at=NOW,
        order_no="SO1",
    )
    facts = user(
        units=1, template_id="tmpl-order-exception-0001", topics_off=frozenset({Topic.ORDER_EXCEPTION})
    )

    # then it is sent
    assert decide(notice, facts, NOW) == Decision.send()


def test_order_progress_is_not_weekly_limited() -> None:
    # given a user far past the weekly limit
    facts = user(weekly_limit=0, weekly_sent=12)

    # then an order node is still sent
    assert decide(node_notice("OUTBOUND"), facts, NOW).kind is DecisionKind.SEND


def test_an_older_node_is_superseded_whatever_the_arrival_order() -> None:
    # given DELIVERED is known for the order while the OUT_FOR_DELIVERY notice is unsent
    delivery = frozenset({Topic.NODE_OUT_FOR_DELIVERY, Topic.NODE_DELIVERED})
    ofd = node_notice("OUT_FOR_DELIVERY", "tmpl-order-delivery-0001", delivery)
    delivered = node_notice("DELIVERED", "tmpl-order-delivery-0001", delivery)
    facts = user(units=5, template_id="tmpl-order-delivery-0001", orders={"SO1": order_at("DELIVERED")})

    # then the older one is stale and the newer one goes out
    assert decide(ofd, facts, NOW).reason == Reason.SUPERSEDED
    assert decide(delivered, facts, NOW).kind is DecisionKind.SEND


@pytest.mark.parametrize(
    ("notice", "answered", "unanswered"),
    [
        (
            action_notice(Topic.RECEIPT_CONFIRM, "receipt:SO1"),
            order_at("DELIVERED", receipt_confirmed=True),
            order_at("DELIVERED"),
        ),
        (
            action_notice(Topic.DELIVERY_SLOT, "slot:SO1:2026-11-21T10:00:00+00:00"),
            order_at("OUTBOUND", slot_chosen=True),
            order_at("OUTBOUND"),
        ),
        (
            action_notice(Topic.ORDER_EXCEPTION, "exception:EX:1:SO1"),
            order_at("OUTBOUND", exceptions_decided=frozenset({"EX:1"})),
            order_at("OUTBOUND", exceptions_decided=frozenset({"EX:2"})),  # another exception
        ),
    ],
    ids=["receipt", "slot", "exception"],
)
def test_a_notice_the_user_already_answered_is_withdrawn(
    notice: NoticeFacts, answered: OrderFacts, unanswered: OrderFacts
) -> None:
    # given a user with units whose order has (or has not) had the notice's question answered
    facts = user(units=3)

    # then only the unanswered one is sent
    assert decide(notice, replace(facts, orders={"SO1": answered}), NOW) == Decision.suppress(Reason.ANSWERED)
    assert decide(notice, replace(facts, orders={"SO1": unanswered}), NOW) == Decision.send()


def test_an_earlier_presale_progress_is_superseded_by_a_later_one() -> None:
    # given the order's latest presale progress happened at 09:00
    at_nine = NOW - timedelta(hours=1)
    facts = user(units=3, orders={"SO1": order_at("OUTBOUND", presale_updated_at=at_nine)})
    progress = action_notice(Topic.PRESALE_PROGRESS, "presale:SO1:定金")

    # then a progress notice of 08:00 is stale, the one of 09:00 goes out
    earlier = replace(progress, occurred_at=at_nine - timedelta(hours=1))
    latest = replace(progress, key="presale:SO1:尾款", occurred_at=at_nine)
    assert decide(earlier, facts, NOW) == Decision.suppress(Reason.SUPERSEDED)
    assert decide(latest, facts, NOW) == Decision.send()


# ------------------------------------------------------------------------------- quiet hours


@pytest.mark.parametrize(
    ("local", "until"),
    [
        # inside, before midnight: until 08:00 the next morning
        (datetime(2026, 11, 20, 23, 30), datetime(2026, 11, 21, 8, 0)),
        # exactly at the start
        (datetime(2026, 11, 20, 22, 0), datetime(2026, 11, 21, 8, 0)),
        # inside, after midnight: until 08:00 the same morning
        (datetime(2026, 11, 21, 0, 15), datetime(2026, 11, 21, 8, 0)),
        (datetime(2026, 11, 21, 7, 59), datetime(2026, 11, 21, 8, 0)),
        # outside
        (datetime(2026, 11, 21, 8, 0), None),
        (datetime(2026, 11, 20, 21, 59), None),
        (datetime(2026, 11, 20, 13, 0), None),
    ],
)
def test_quiet_hours_across_midnight_in_shanghai(local: datetime, until: datetime | None) -> None:
    # given quiet hours 22:00–08:00 Asia/Shanghai and a non-urgent notice at `local` Shanghai time
    now = local.replace(tzinfo=SHANGHAI).astimezone(UTC)
    notice = replace(node_notice("OUTBOUND"), expires_at=None)
    facts = user(quiet_hours=NIGHT)

    # when
    decision = decide(notice, facts, now)

    # then it is deferred to the end of the window (in Shanghai), or sent
    if until is None:
        assert decision == Decision.send()
    else:
        assert decision.kind is DecisionKind.DEFER and decision.reason == Reason.QUIET_HOURS
        assert decision.until == until.replace(tzinfo=SHANGHAI)
        # 08:00 in Shanghai is midnight UTC
        assert decision.until is not None and decision.until.astimezone(UTC).hour == 0


def test_urgent_topics_are_sent_inside_quiet_hours() -> None:
    # given 23:30 in Shanghai, inside quiet hours
    now = datetime(2026, 11, 20, 23, 30, tzinfo=SHANGHAI)
    delivery = frozenset({Topic.NODE_OUT_FOR_DELIVERY, Topic.NODE_DELIVERED})
    ofd = replace(
        node_notice("OUT_FOR_DELIVERY", "tmpl-order-delivery-0001", delivery),
        expires_at=None,
        occurred_at=now,
    )
    facts = user(
        units=1,
        template_id="tmpl-order-delivery-0001",
        quiet_hours=NIGHT,
        orders={"SO1": order_at("OUT_FOR_DELIVERY")},
    )

    # then out-for-delivery (urgent) goes now
    assert decide(ofd, facts, now) == Decision.send()


def test_equal_start_and_end_is_no_quiet_window() -> None:
    assert QuietHours(time(8, 0), time(8, 0), SHANGHAI).deferral(NOW) is None


# ------------------------------------------------------------ the reservation rule, worked examples


def all_in_one(node: str, order_no: str = "SO1") -> NoticeFacts:
    return node_notice(node, ALL, ALL_ORDER_TOPICS, order_no)


def test_worked_example_production_node_waits_for_what_matters() -> None:
    # given one template carries every order topic, the user has 2 units of it, and a
    # made-to-order order has just reached MATERIAL_IN
    facts = user(units=2, template_id=ALL, orders={"SO1": order_at("MATERIAL_IN")})
    notice = all_in_one("MATERIAL_IN")

    # when
    ahead = sorted(item.topic for item in ahead_of(notice, facts, NOW))
    kept = kept_for_ahead(notice, facts, NOW)

    # then ahead on the template: the 7 later nodes and the receipt reminder; 6 of them outrank
    # MATERIAL_IN (30): OUTBOUND 60, TRUNK 50, COURIER 55, OUT_FOR_DELIVERY 80, DELIVERED 80, RECEIPT 70
    assert len(ahead) == 8
    assert kept == 6
    # 2 units <= 6: keep them
    assert decide(notice, facts, NOW) == Decision.suppress(Reason.SAVED_FOR_HIGHER_PRIORITY)
    # first come, first served would have spent one here
    assert decide(notice, facts, NOW, reserve_for_ahead=False) == Decision.send()


@pytest.mark.parametrize(("units", "expected"), [(3, DecisionKind.SUPPRESS), (4, DecisionKind.SEND)])
def test_worked_example_outbound_needs_more_units_than_the_notices_above_it(
    units: int, expected: DecisionKind
) -> None:
    # given a stock order at OUTBOUND (60); ahead and more important: OUT_FOR_DELIVERY 80,
    # DELIVERED 80, RECEIPT_CONFIRM 70 (H = 3); TRUNK 50 and COURIER 55 are less important
    facts = user(units=units, template_id=ALL, orders={"SO1": order_at("OUTBOUND")})
    notice = all_in_one("OUTBOUND")

    # then it is sent only with more than 3 units
    assert kept_for_ahead(notice, facts, NOW) == 3
    assert decide(notice, facts, NOW).kind is expected


def test_worked_example_nothing_outranks_out_for_delivery_so_it_is_sent() -> None:
    # given the last unit and an order out for delivery (DELIVERED 80 is ahead, equal, not above)
    facts = user(units=1, template_id=ALL, orders={"SO1": order_at("OUT_FOR_DELIVERY")})

    # then it takes the unit
    assert decide(all_in_one("OUT_FOR_DELIVERY"), facts, NOW) == Decision.send()


def test_worked_example_switched_off_topics_keep_nothing() -> None:
    # given 1 unit at OUTBOUND, but the user switched off everything above it
    off = frozenset({Topic.NODE_OUT_FOR_DELIVERY, Topic.NODE_DELIVERED, Topic.RECEIPT_CONFIRM})
    facts = user(units=1, template_id=ALL, topics_off=off)

    # then nothing more important is ahead: send
    assert kept_for_ahead(all_in_one("OUTBOUND"), facts, NOW) == 0
    assert decide(all_in_one("OUTBOUND"), facts, NOW) == Decision.send()


def test_worked_example_bundled_shipping_template() -> None:
    # given the bundled templates: OUTBOUND (60), TRUNK_TRANSIT (50), COURIER_ACCEPTED (55) share one
    # template; the user has 1 unit of it and one order
    at_outbound = user(units=1)
    at_transit = user(units=1, orders={"SO1": order_at("TRUNK_TRANSIT")})

    # then OUTBOUND outranks everything ahead on its template: sent
    assert decide(node_notice("OUTBOUND"), at_outbound, NOW) == Decision.send()
    # TRUNK_TRANSIT (50) with COURIER_ACCEPTED (55) ahead: 1 unit is kept for the courier
    assert decide(node_notice("TRUNK_TRANSIT"), at_transit, NOW).reason == Reason.SAVED_FOR_HIGHER_PRIORITY
    # with 2 units both can go
    assert decide(node_notice("TRUNK_TRANSIT"), replace(at_transit, units={SHIPPING: 2}), NOW).kind is (
        DecisionKind.SEND
    )


def test_worked_example_other_open_orders_count_and_unpaid_or_closed_ones_do_not() -> None:
    # given an order at TRUNK_TRANSIT with 2 shipping units, and a second paid stock order not
    # shipped yet: its OUTBOUND (60) and COURIER (55) are ahead too, as is this order's COURIER (55)
    second = OrderFacts(order_no="SO2")
    facts = user(units=2, orders={"SO1": order_at("TRUNK_TRANSIT"), "SO2": second})
    notice = node_notice("TRUNK_TRANSIT")

    # then H = 3 (SO1 COURIER, SO2 OUTBOUND, SO2 COURIER): 2 units are kept
    assert kept_for_ahead(notice, facts, NOW) == 3
    assert decide(notice, facts, NOW).reason == Reason.SAVED_FOR_HIGHER_PRIORITY
    # an unpaid or cancelled second order promises nothing
    for other in (replace(second, paid=False), replace(second, open=False, cancelled=True)):
        facts = user(units=2, orders={"SO1": order_at("TRUNK_TRANSIT"), "SO2": other})
        assert kept_for_ahead(notice, facts, NOW) == 1
        assert decide(notice, facts, NOW) == Decision.send()


def test_worked_example_a_planned_exception_on_the_same_template_is_ahead() -> None:
    # given one template for everything, 1 unit, a delivered order's DELIVERED notice (80), and an
    # exception notice (100) planned for another order but not decided yet
    exception = Unsent("exception:EX1:SO2", Topic.ORDER_EXCEPTION, ALL, 100, order_no="SO2")
    facts = user(
        units=1,
        template_id=ALL,
        orders={"SO1": order_at("DELIVERED", delivered=True, open=False)},
        unsent=(exception,),
    )

    # then the unit is kept for the exception
    assert decide(all_in_one("DELIVERED"), facts, NOW).reason == Reason.SAVED_FOR_HIGHER_PRIORITY
    # unless it has expired
    expired = replace(exception, expires_at=NOW - timedelta(minutes=1))
    assert decide(all_in_one("DELIVERED"), replace(facts, unsent=(expired,)), NOW) == Decision.send()


def test_decisions_of_a_batch_see_each_other() -> None:
    # given 1 unit and two notices decided one after the other, most important first
    facts = user(units=1, template_id=ALL, orders={"SO1": order_at("DELIVERED", delivered=True, open=False)})
    delivered = all_in_one("DELIVERED")
    receipt = NoticeFacts(
        key="receipt:SO1",
        topic=Topic.RECEIPT_CONFIRM,
        template_id=ALL,
        template_topics=ALL_ORDER_TOPICS,
        occurred_at=NOW,
        order_no="SO1",
    )

    # when the first is sent (queued)
    first = decide(delivered, facts, NOW)
    after = facts.after(delivered, first)

    # then the second finds the unit promised
    assert first == Decision.send()
    assert decide(receipt, after, NOW) == Decision.suppress(Reason.NO_UNITS)


def test_a_slot_notice_of_a_replaced_offer_is_superseded() -> None:
    # given the order's slot offer that stands was made at 09:00
    at_nine = NOW - timedelta(hours=1)
    facts = user(units=3, orders={"SO1": order_at("OUTBOUND", slot_offered_at=at_nine)})
    asking = action_notice(Topic.DELIVERY_SLOT, "slot:SO1:2026-11-21T10:00:00+00:00")

    # then the notice of the 08:00 offer is stale, the one of the standing offer goes out
    assert decide(replace(asking, occurred_at=at_nine - timedelta(hours=1)), facts, NOW) == Decision.suppress(
        Reason.SUPERSEDED
    )
    assert decide(replace(asking, occurred_at=at_nine), facts, NOW) == Decision.send()
