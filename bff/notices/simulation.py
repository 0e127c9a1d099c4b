"""Measure the consent-spending rule: how many important notices reach users, and at what cost.

A seeded population of users with 1–3 orders each, random consent units per template (0–4),
random switched-off topics, stock and made-to-order orders, delivery slots, and exceptions at a
random point (some of them ending in a cancellation). Each user's events are replayed in time
order and every notice they cause is decided by the REAL policy (``bff.notices.policy.decide``,
called through the module so nothing here can drift from it), once with the rule
(``reserve_for_ahead=True``) and once first come, first served (``False``); a unit is spent on
each SEND. The oracle knows every notice each user will get: per (user, template) it delivers the
most important ones the units allow, which is the best any policy can do with the same units.

"High priority" is priority >= 80: the exception, the delivery slot, out for delivery, delivered.

With ``SimConfig.lifecycle`` the users also get lifecycle notices at random times over
``lifecycle_days``, from a stream of their own (the orders, switches and units stay those of the
order-only run): replenishment reminders every cycle for some users, a maintenance item for some,
0–2 offers (renewal, win-back, member benefit). They go through the same ``policy.decide`` with
their topics' priorities and the weekly limit (``weekly_limit`` weekly-limited sends in any 7
days). ``Tally.exceptions_starved`` counts the exceptions left without a unit after a lifecycle
notice on their template took one while their order was open: a unit the exception ahead needed.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bff.catalog.nodes import nodes_ahead
from bff.catalog.templates_file import TemplatesFile
from bff.catalog.topics import NODE_ORDER, TOPICS, Topic, TopicCategory, node_topic, topic_info
from bff.notices import policy
from bff.notices.policy import DecisionKind, NoticeFacts, OrderFacts, UserFacts
from bff.notices.reasons import Reason

HIGH_PRIORITY = 80
ALL_ORDER_TOPICS_TEMPLATE = "sim-all-order-topics"
ORDER_AND_LIFECYCLE_TEMPLATE = "sim-order-and-lifecycle-topics"
OFFER_TOPICS = (Topic.RENEWAL_OFFER, Topic.WIN_BACK, Topic.MEMBER_BENEFIT)
_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
_ORDER_CATEGORIES = (TopicCategory.ORDER_PROGRESS, TopicCategory.ORDER_ACTION)
_LIFECYCLE_CATEGORIES = (TopicCategory.LIFECYCLE, TopicCategory.MEMBER)
_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class SimConfig:
    users: int = 5000
    seed: int = 20261120
    max_orders: int = 3
    max_units: int = 4  # units per template drawn from 0..max_units
    topic_off_p: float = 0.3  # each topic that may be switched off is off with this chance
    made_to_order_p: float = 0.4
    slot_p: float = 0.3  # the order asks for a delivery slot before going out for delivery
    exception_p: float = 0.15
    cancel_after_exception_p: float = 0.2
    horizon_days: int = 14  # orders are placed over this many days
    # Lifecycle notices competing for the same units (off: the order-only run).
    lifecycle: bool = False
    lifecycle_days: int = 21  # lifecycle notices fall over this many days (orders take ~a week more)
    replenishing_p: float = 0.5  # the user has a consumable: a reminder every cycle
    replenishment_cycle_days: tuple[float, float] = (7.0, 30.0)
    maintenance_p: float = 0.3  # an owned product has a maintenance item falling due
    max_offers: int = 2  # 0..max_offers offers per user
    weekly_limit: int = 5  # the preference's default


@dataclass(frozen=True)
class SimNotice:
    at: datetime
    key: str
    topic: Topic
    order_no: str | None  # None: a lifecycle notice
    node_rank: int | None = None

    @property
    def priority(self) -> int:
        return topic_info(self.topic).priority


@dataclass(frozen=True)
class SimEvent:
    """Something happens to an order at ``at``: a node, payment, slot offer, exception, cancellation."""

    at: datetime
    order_no: str
    kind: str  # "paid", "node", "slot", "exception", "cancel"
    node: str | None = None


@dataclass(frozen=True)
class SimOrder:
    order_no: str
    made_to_order: bool
    events: tuple[SimEvent, ...]


@dataclass(frozen=True)
class SimUser:
    user_id: int
    units: Mapping[str, int]
    topics_off: frozenset[Topic]
    orders: tuple[SimOrder, ...]
    lifecycle: tuple[SimNotice, ...] = ()  # lifecycle notices, in time order


@dataclass
class Tally:
    high: int = 0  # high-priority notices delivered
    total: int = 0  # notices delivered
    lifecycle: int = 0  # lifecycle notices delivered
    exceptions_starved: int = 0  # exceptions without a unit a lifecycle notice took (module doc)

    def add(self, priority: int, *, lifecycle: bool = False) -> None:
        self.total += 1
        if priority >= HIGH_PRIORITY:
            self.high += 1
        if lifecycle:
            self.lifecycle += 1


@dataclass
class SimResult:
    users: int = 0
    orders: int = 0
    notices: int = 0  # notices the events cause on a template, topic switched on
    high_wanted: int = 0  # of which high priority
    lifecycle_wanted: int = 0  # of which lifecycle notices
    rule: Tally = field(default_factory=Tally)
    fcfs: Tally = field(default_factory=Tally)
    oracle: Tally = field(default_factory=Tally)
    rule_reasons: dict[str, int] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ templates


def template_map(file: TemplatesFile) -> dict[Topic, str]:
    """topic → the template that carries it, from a templates file."""
    return {topic: template.template_id for template in file.templates for topic in template.topics}


def all_order_topics_on_one_template(file: TemplatesFile) -> dict[Topic, str]:
    """The hardest case: one template carries every order topic, so all of them share its units."""
    mapping = template_map(file)
    for topic, info in TOPICS.items():
        if info.category in _ORDER_CATEGORIES:
            mapping[topic] = ALL_ORDER_TOPICS_TEMPLATE
    return mapping


def order_and_lifecycle_topics_on_one_template(file: TemplatesFile) -> dict[Topic, str]:
    """Harder still: one template carries every order topic and every lifecycle and member topic,
    so reminders and offers compete with order notices, exceptions included, for its units."""
    mapping = template_map(file)
    for topic, info in TOPICS.items():
        if info.category in _ORDER_CATEGORIES + _LIFECYCLE_CATEGORIES:
            mapping[topic] = ORDER_AND_LIFECYCLE_TEMPLATE
    return mapping


def _template_topics(template_of: Mapping[Topic, str]) -> dict[str, frozenset[Topic]]:
    topics: dict[str, set[Topic]] = defaultdict(set)
    for topic, template_id in template_of.items():
        topics[template_id].add(topic)
    return {template_id: frozenset(members) for template_id, members in topics.items()}


# ----------------------------------------------------------------------------------- population


def generate_users(config: SimConfig, template_ids: Iterable[str]) -> list[SimUser]:
    """The seeded population; the same config and templates give the same users."""
    # Two streams: the orders and switches do not depend on how many templates there are, so
    # every template layout is measured on the same orders.
    rng = random.Random(config.seed)
    unit_rng = random.Random(f"{config.seed}:units")
    lifecycle_rng = random.Random(f"{config.seed}:lifecycle")
    templates = sorted(set(template_ids))
    optional = [t for t, info in TOPICS.items() if info.opt_out_allowed]
    users = []
    for user_id in range(1, config.users + 1):
        units = {template_id: unit_rng.randint(0, config.max_units) for template_id in templates}
        topics_off = frozenset(t for t in optional if rng.random() < config.topic_off_p)
        orders = tuple(
            _generate_order(rng, config, f"SO{user_id:06d}{index}")
            for index in range(rng.randint(1, config.max_orders))
        )
        lifecycle = _generate_lifecycle(lifecycle_rng, config, user_id) if config.lifecycle else ()
        users.append(SimUser(user_id, units, topics_off, orders, lifecycle))
    return users


def _generate_lifecycle(rng: random.Random, config: SimConfig, user_id: int) -> tuple[SimNotice, ...]:
    """Replenishment reminders, maintenance, offers at random times over ``lifecycle_days``."""
    span = timedelta(days=config.lifecycle_days)
    notices: list[SimNotice] = []
    if rng.random() < config.replenishing_p:
        cycle = timedelta(days=rng.uniform(*config.replenishment_cycle_days))
        at = _EPOCH + cycle * rng.random()
        while at < _EPOCH + span:
            key = f"replenishment:{user_id}:{len(notices)}"
            notices.append(SimNotice(at, key, Topic.REPLENISHMENT, None))
            at += cycle
    if rng.random() < config.maintenance_p:
        at = _EPOCH + span * rng.random()
        notices.append(SimNotice(at, f"maintenance:{user_id}", Topic.MAINTENANCE, None))
    for index in range(rng.randint(0, config.max_offers)):
        topic = rng.choice(OFFER_TOPICS)
        notices.append(SimNotice(_EPOCH + span * rng.random(), f"offer:{user_id}:{index}", topic, None))
    return tuple(sorted(notices, key=lambda n: (n.at, n.key)))


def _generate_order(rng: random.Random, config: SimConfig, order_no: str) -> SimOrder:
    made_to_order = rng.random() < config.made_to_order_p
    at = _EPOCH + timedelta(hours=rng.uniform(0, 24 * config.horizon_days))
    events = [SimEvent(at, order_no, "paid")]
    nodes = nodes_ahead(None, made_to_order=made_to_order)
    for node in nodes:
        if node == "OUT_FOR_DELIVERY" and rng.random() < config.slot_p:
            at += timedelta(hours=rng.uniform(1, 12))
            events.append(SimEvent(at, order_no, "slot"))
        at += timedelta(hours=rng.uniform(2, 30))
        events.append(SimEvent(at, order_no, "node", node))
    if rng.random() < config.exception_p:
        # Between two of the order's events (never before payment, never after delivery).
        cut = rng.randint(1, len(events) - 1)
        before, after = events[cut - 1].at, events[cut].at
        exception = SimEvent(before + (after - before) * rng.uniform(0.1, 0.9), order_no, "exception")
        if rng.random() < config.cancel_after_exception_p:
            cancel = SimEvent(exception.at + timedelta(minutes=30), order_no, "cancel")
            events = [*events[:cut], exception, cancel]
        else:
            events.insert(cut, exception)
    return SimOrder(order_no, made_to_order, tuple(events))


def notices_of(event: SimEvent, index: int) -> list[SimNotice]:
    """The notices the planner would plan for a simulated event (same dedupe keys)."""
    if event.kind == "paid":
        return [SimNotice(event.at, f"order:{event.order_no}:ORDER_PAID", Topic.ORDER_PAID, event.order_no)]
    if event.kind == "slot":
        return [SimNotice(event.at, f"slot:{event.order_no}:{index}", Topic.DELIVERY_SLOT, event.order_no)]
    if event.kind == "exception":
        key = f"exception:sim-{event.order_no}-{index}:{event.order_no}"
        return [SimNotice(event.at, key, Topic.ORDER_EXCEPTION, event.order_no)]
    if event.kind == "node":
        assert event.node is not None
        rank = NODE_ORDER.index(event.node)
        notices = [
            SimNotice(
                event.at,
                policy.node_key(event.order_no, event.node),
                node_topic(event.node),
                event.order_no,
                rank,
            )
        ]
        if event.node == "DELIVERED":
            notices.append(
                SimNotice(event.at, policy.receipt_key(event.order_no), Topic.RECEIPT_CONFIRM, event.order_no)
            )
        return notices
    return []


# ------------------------------------------------------------------------------------- replay


def _timeline(user: SimUser) -> list[tuple[SimEvent, int]]:
    timeline = [(event, index) for order in user.orders for index, event in enumerate(order.events)]
    timeline.sort(key=lambda pair: (pair[0].at, pair[0].order_no, pair[1]))
    return timeline


Step = tuple[SimEvent | None, list[SimNotice]]


def _steps(user: SimUser) -> list[Step]:
    """The order events (with the notices they cause) and the lifecycle notices, in time order
    (an order event first at equal times)."""
    steps: list[tuple[datetime, int, Step]] = [
        (event.at, 0, (event, notices_of(event, index))) for event, index in _timeline(user)
    ]
    steps += [(notice.at, 1, (None, [notice])) for notice in user.lifecycle]
    steps.sort(key=lambda step: (step[0], step[1]))  # stable: the timeline's order at equal times
    return [step for _, _, step in steps]


def _open_orders(orders: Mapping[str, OrderFacts]) -> frozenset[str]:
    return frozenset(no for no, order in orders.items() if order.open and order.paid)


def _apply(order: OrderFacts, event: SimEvent) -> OrderFacts:
    if event.kind == "paid":
        return replace(order, paid=True)
    if event.kind == "cancel":
        return replace(order, open=False, cancelled=True)
    if event.kind == "node":
        assert event.node is not None
        delivered = order.delivered or event.node == "DELIVERED"
        return replace(
            order,
            open=order.open and not delivered,
            delivered=delivered,
            nodes_seen=order.nodes_seen | {NODE_ORDER.index(event.node)},
        )
    return order


def replay(
    user: SimUser,
    template_of: Mapping[Topic, str],
    *,
    reserve_for_ahead: bool,
    tally: Tally,
    reasons: dict[str, int] | None = None,
    weekly_limit: int = SimConfig.weekly_limit,
) -> None:
    """Replay one user's events and lifecycle notices in time order through the real policy,
    spending a unit per SEND."""
    shared = _template_topics(template_of)
    orders = {
        order.order_no: OrderFacts(order.order_no, open=True, paid=False, made_to_order=order.made_to_order)
        for order in user.orders
    }
    facts = UserFacts(
        user_id=user.user_id,
        topics_off=user.topics_off,
        units=dict(user.units),
        orders=orders,
        weekly_limit=weekly_limit,
    )
    weekly_sends: list[datetime] = []  # weekly-limited notices sent
    # Per template, the orders open when a lifecycle notice took one of its units.
    open_at_lifecycle_send: dict[str, set[str]] = defaultdict(set)
    for event, notices in _steps(user):
        if event is not None:
            orders[event.order_no] = _apply(orders[event.order_no], event)
        for notice in notices:
            weekly = sum(1 for at in weekly_sends if at > notice.at - _WEEK)
            facts = replace(facts, orders=dict(orders), weekly_sent=weekly)
            template_id = template_of.get(notice.topic)
            if template_id is None:
                continue
            n = NoticeFacts(
                key=notice.key,
                topic=notice.topic,
                template_id=template_id,
                template_topics=shared[template_id],
                occurred_at=notice.at,
                order_no=notice.order_no,
                node_rank=notice.node_rank,
            )
            decision = policy.decide(n, facts, notice.at, reserve_for_ahead=reserve_for_ahead)
            lifecycle = notice.order_no is None
            if decision.kind is DecisionKind.SEND:
                facts = facts.after_sent(template_id, n.key)
                tally.add(n.effective_priority, lifecycle=lifecycle)
                if topic_info(notice.topic).weekly_limited:
                    weekly_sends.append(notice.at)
                if lifecycle:
                    open_at_lifecycle_send[template_id] |= _open_orders(orders)
                continue
            if reasons is not None and decision.reason is not None:
                reasons[decision.reason] = reasons.get(decision.reason, 0) + 1
            if (
                notice.topic is Topic.ORDER_EXCEPTION
                and decision.reason in (Reason.NO_UNITS, Reason.SAVED_FOR_HIGHER_PRIORITY)
                and notice.order_no in open_at_lifecycle_send[template_id]
            ):
                tally.exceptions_starved += 1


def oracle(user: SimUser, template_of: Mapping[Topic, str], tally: Tally) -> tuple[int, int, int]:
    """Deliver, per template, the most important wanted notices the units allow (the weekly
    limit aside: an upper bound).

    Returns (wanted, high-priority wanted, lifecycle wanted): notices on a template whose topic
    is switched on.
    """
    wanted: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    facts = UserFacts(user_id=user.user_id, topics_off=user.topics_off)
    for _, notices in _steps(user):
        for notice in notices:
            template_id = template_of.get(notice.topic)
            if template_id is not None and facts.topic_on(notice.topic):
                wanted[template_id].append((notice.priority, notice.order_no is None))
    count = high = lifecycle = 0
    for template_id, on_template in wanted.items():
        count += len(on_template)
        high += sum(1 for p, _ in on_template if p >= HIGH_PRIORITY)
        lifecycle += sum(1 for _, is_lifecycle in on_template if is_lifecycle)
        best = sorted(on_template, key=lambda n: n[0], reverse=True)[: user.units.get(template_id, 0)]
        for priority, is_lifecycle in best:
            tally.add(priority, lifecycle=is_lifecycle)
    return count, high, lifecycle


def simulate(config: SimConfig, template_of: Mapping[Topic, str]) -> SimResult:
    """One seeded run: the rule, first come first served, and the oracle on the same population."""
    users = generate_users(config, template_of.values())
    result = SimResult(users=len(users))
    for user in users:
        result.orders += len(user.orders)
        limit = config.weekly_limit
        replay(
            user,
            template_of,
            reserve_for_ahead=True,
            tally=result.rule,
            reasons=result.rule_reasons,
            weekly_limit=limit,
        )
        replay(user, template_of, reserve_for_ahead=False, tally=result.fcfs, weekly_limit=limit)
        wanted, high, lifecycle = oracle(user, template_of, result.oracle)
        result.notices += wanted
        result.high_wanted += high
        result.lifecycle_wanted += lifecycle
    return result
