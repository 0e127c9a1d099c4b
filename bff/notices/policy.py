"""The one place that decides whether a notice may be sent now, later, or not at all.

``decide(notice, user, now)`` is a pure function of facts (no database, no clock, no I/O): the
planner (``plan_event``, and ``decide_leftovers`` for the PLANNED rows the sweeper finds) and the
consent-spending simulation call this same function with facts they loaded or simulated. Checks
run in a fixed order and the first that applies wins, so every suppressed notice keeps one clear
reason (bff/notices/reasons.py):

    EXPIRED → MAIN_SWITCH_OFF → TOPIC_OFF → TEMPLATE_BANNED → ORDER_CANCELLED → SUPERSEDED
    → ANSWERED → NO_UNITS → SAVED_FOR_HIGHER_PRIORITY → WEEKLY_LIMIT → EXPERIMENT_HOLDOUT
    → QUIET_HOURS (defer) → BEST_HOUR (defer) → SEND

EXPERIMENT_HOLDOUT and BEST_HOUR come from the planner's timing and experiments (bff/notices/timing,
bff/notices/experiments): a notice in an experiment's holdout is suppressed where it would otherwise have
been sent or deferred (so the holdout is comparable with the variants), and a lifecycle or member
notice with a ``send_at`` still ahead waits for it, as a quiet-hours deferral does.

Spending consent where it matters (SAVED_FOR_HIGHER_PRIORITY): one accept of a template buys one
send of it, and several topics share a template. ``ahead_of`` lists what is known to be coming for
the user on the same template (nodes still ahead on their open orders, receipt confirmations,
notices planned or deferred but not sent), limited to topics the user has switched on. Let H be
how many of those are strictly more important than this notice. The notice is sent only if the
units left (minus those already promised to queued notices) are more than H; otherwise the unit
is kept for the more important notices ahead. ``reserve_for_ahead=False`` turns the rule off:
"first come, first served".

The checks up to ANSWERED say whether the notice is still wanted at all (``withdrawal``). The
sender asks exactly that again (through ``planner.withdrawal_before_send``), with fresh facts, right
before it reserves a unit: a decision taken hours ago (deferred by quiet hours, waiting in a
retry) must not outlive the facts it was taken on. Units, priority and the weekly limit are not
asked again there: the reservation itself is the fresh unit check, and the promise a queued
notice holds was counted when it was queued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

from bff.catalog.nodes import node_rank, nodes_ahead
from bff.catalog.topics import NODE_ORDER, Topic, node_topic, topic_info
from bff.notices.reasons import Reason

_EMPTY: Mapping[str, int] = MappingProxyType({})


class DecisionKind(StrEnum):
    SEND = "SEND"
    DEFER = "DEFER"
    SUPPRESS = "SUPPRESS"


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    reason: Reason | None = None
    until: datetime | None = None  # DEFER: when to decide again

    @classmethod
    def send(cls) -> Decision:
        return cls(DecisionKind.SEND)

    @classmethod
    def suppress(cls, reason: Reason) -> Decision:
        return cls(DecisionKind.SUPPRESS, reason)

    @classmethod
    def defer(cls, reason: Reason, until: datetime) -> Decision:
        return cls(DecisionKind.DEFER, reason, until)


# ------------------------------------------------------------------------------------------ facts


@dataclass(frozen=True)
class NoticeFacts:
    """What the policy needs to know about the notice being decided."""

    key: str  # the dedupe key: identifies the notice among the user's other unsent ones
    topic: Topic
    template_id: str
    # Every topic the notice's template carries (they share its consent units), this one included.
    template_topics: frozenset[Topic]
    occurred_at: datetime
    expires_at: datetime | None = None
    order_no: str | None = None
    node_rank: int | None = None  # index in NODE_ORDER, for node notices
    priority: int | None = None  # None: the topic's priority
    # Best send time (bff/notices/timing/send_time.py): wait until then; None: send when allowed.
    send_at: datetime | None = None
    # In an experiment's holdout (bff/notices/experiments): never sent, recorded as EXPERIMENT_HOLDOUT.
    holdout: bool = False

    @property
    def effective_priority(self) -> int:
        return self.priority if self.priority is not None else topic_info(self.topic).priority


@dataclass(frozen=True)
class QuietHours:
    """A daily window [start, end) in ``zone`` during which non-urgent notices wait.

    ``start > end`` is a window across midnight (22:00–08:00); ``start == end`` is no window.
    """

    start: time
    end: time
    zone: ZoneInfo

    def deferral(self, now: datetime) -> datetime | None:
        """When the window ends if ``now`` is inside it (an aware UTC-comparable time), else None."""
        if self.start == self.end:
            return None
        local = now.astimezone(self.zone)
        clock = local.time().replace(tzinfo=None)
        if self.start < self.end:
            inside = self.start <= clock < self.end
            end_day = local.date()
        else:
            inside = clock >= self.start or clock < self.end
            end_day = local.date() + timedelta(days=1) if clock >= self.start else local.date()
        if not inside:
            return None
        return datetime.combine(end_day, self.end, tzinfo=self.zone)


@dataclass(frozen=True)
class OrderFacts:
    """One order of the user, as far as what is still to come is concerned."""

    order_no: str
    # Still moving (not cancelled, not delivered): its nodes ahead will come.
    open: bool = True
    cancelled: bool = False
    # Paid: before payment nothing is on its way.
    paid: bool = True
    # Made to order (or presale): goes through the production nodes; stock orders skip them.
    made_to_order: bool = False
    delivered: bool = False
    nodes_seen: frozenset[int] = frozenset()  # ranks in NODE_ORDER
    # occurred_at of the latest presale progress applied to the order (a later stage is known),
    # and of the delivery-slot offer that stands (a newer offer replaces the question).
    presale_updated_at: datetime | None = None
    slot_offered_at: datetime | None = None
    # What the user has already answered: the receipt, the delivery slot offered, the exceptions
    # (by exceptionId) of this order they (or the default at the deadline) decided.
    receipt_confirmed: bool = False
    slot_chosen: bool = False
    exceptions_decided: frozenset[str] = frozenset()

    @property
    def latest_rank(self) -> int:
        return max(self.nodes_seen, default=-1)


@dataclass(frozen=True)
class Unsent:
    """Another notice of the user that is not sent yet.

    ``queued``: its send is on the way and will take a unit (counted off the units left).
    Otherwise it is planned or deferred: known to be coming, it may want a unit later.
    """

    key: str
    topic: Topic
    template_id: str
    priority: int
    queued: bool = False
    expires_at: datetime | None = None
    order_no: str | None = None


@dataclass(frozen=True)
class UserFacts:
    user_id: int
    main_switch: bool = True
    topics_off: frozenset[Topic] = frozenset()
    quiet_hours: QuietHours | None = None
    weekly_limit: int = 5
    # Weekly-limited notices sent in the last 7 days, or on their way (queued / sending).
    weekly_sent: int = 0
    units: Mapping[str, int] = field(default_factory=lambda: _EMPTY)  # template id → units left
    banned_templates: frozenset[str] = frozenset()
    orders: Mapping[str, OrderFacts] = field(default_factory=dict)
    unsent: tuple[Unsent, ...] = ()

    def topic_on(self, topic: Topic) -> bool:
        return topic not in self.topics_off or not topic_info(topic).opt_out_allowed

    def units_left(self, template_id: str, *, excluding: str | None = None) -> int:
        """Units of the template not yet promised to a queued notice (other than ``excluding``)."""
        promised = sum(
            1 for u in self.unsent if u.queued and u.template_id == template_id and u.key != excluding
        )
        return self.units.get(template_id, 0) - promised

    # What the callers do after a decision, so the next decision of a batch sees it.

    def after(self, notice: NoticeFacts, decision: Decision) -> UserFacts:
        """The facts once ``decision`` is applied to ``notice`` (queued, deferred or dropped)."""
        others = tuple(u for u in self.unsent if u.key != notice.key)
        if decision.kind is DecisionKind.SUPPRESS:
            return replace(self, unsent=others)
        entry = Unsent(
            key=notice.key,
            topic=notice.topic,
            template_id=notice.template_id,
            priority=notice.effective_priority,
            queued=decision.kind is DecisionKind.SEND,
            expires_at=notice.expires_at,
            order_no=notice.order_no,
        )
        weekly = self.weekly_sent
        if decision.kind is DecisionKind.SEND and topic_info(notice.topic).weekly_limited:
            weekly += 1
        return replace(self, unsent=(*others, entry), weekly_sent=weekly)

    def after_sent(self, template_id: str, key: str) -> UserFacts:
        """The facts once the queued notice ``key`` took its unit (the simulation sends at once)."""
        units = dict(self.units)
        units[template_id] = max(0, units.get(template_id, 0) - 1)
        return replace(self, units=units, unsent=tuple(u for u in self.unsent if u.key != key))


# ------------------------------------------------------------------------------ what lies ahead


@dataclass(frozen=True)
class Upcoming:
    """A notice known to be coming: ``key`` is the dedupe key it has (or will have)."""

    key: str
    topic: Topic
    priority: int
    order_no: str | None = None
    node_rank: int | None = None


def node_key(order_no: str, node: str) -> str:
    return f"order:{order_no}:{node_topic(node)}:{node}"


def receipt_key(order_no: str) -> str:
    return f"receipt:{order_no}"


def exception_key(exception_id: str, order_no: str) -> str:
    return f"exception:{exception_id}:{order_no}"


def exception_of_key(key: str, order_no: str) -> str | None:
    """The exceptionId in an ``exception_key`` (None for another key)."""
    prefix, suffix = "exception:", f":{order_no}"
    if key.startswith(prefix) and key.endswith(suffix) and len(key) > len(prefix) + len(suffix):
        return key[len(prefix) : -len(suffix)]
    return None


def upcoming_for_order(order: OrderFacts) -> list[Upcoming]:
    """The notices an open, paid order will still cause: its nodes after the latest one seen
    (stock orders skip the production nodes) and, until it is delivered, the receipt reminder."""
    if not order.open or not order.paid:
        return []
    latest = NODE_ORDER[order.latest_rank] if order.latest_rank >= 0 else None
    items: list[Upcoming] = []
    for node in nodes_ahead(latest, made_to_order=order.made_to_order):
        rank = node_rank(node)
        topic = node_topic(node)
        items.append(
            Upcoming(node_key(order.order_no, node), topic, topic_info(topic).priority, order.order_no, rank)
        )
    if not order.delivered:
        items.append(
            Upcoming(
                receipt_key(order.order_no),
                Topic.RECEIPT_CONFIRM,
                topic_info(Topic.RECEIPT_CONFIRM).priority,
                order.order_no,
            )
        )
    return items


# The topics ``upcoming_for_order`` can yield: a template carrying none of them (the exception's,
# the delivery slot's …) has nothing ahead on the user's orders, which ``ahead_of`` then skips.
_ORDER_AHEAD_TOPICS = frozenset(node_topic(node) for node in NODE_ORDER) | {Topic.RECEIPT_CONFIRM}


def ahead_of(n: NoticeFacts, u: UserFacts, now: datetime) -> list[Upcoming]:
    """What is known to be coming for the user, on the notice's template, switched on, not this one.

    Sources: every open order's nodes ahead and receipt reminder, and the user's other planned or
    deferred notices (not expired). One entry per dedupe key (a key names its topic, so an order's
    entry and a notice's with one key are the same notice).
    """
    seen: dict[str, Upcoming] = {}
    orders = u.orders.values() if not n.template_topics.isdisjoint(_ORDER_AHEAD_TOPICS) else ()
    for order in orders:
        for item in upcoming_for_order(order):
            # On the notice's own order only what comes after the notice's node is ahead.
            if (
                item.order_no == n.order_no
                and n.node_rank is not None
                and item.node_rank is not None
                and item.node_rank <= n.node_rank
            ):
                continue
            seen.setdefault(item.key, item)
    for other in u.unsent:
        if other.queued or (other.expires_at is not None and other.expires_at <= now):
            continue
        seen.setdefault(other.key, Upcoming(other.key, other.topic, other.priority, other.order_no))
    return [
        item
        for key, item in seen.items()
        if key != n.key and item.topic in n.template_topics and u.topic_on(item.topic)
    ]


def kept_for_ahead(n: NoticeFacts, u: UserFacts, now: datetime) -> int:
    """H: how many notices known to be ahead on this template are strictly more important."""
    priority = n.effective_priority
    return sum(1 for item in ahead_of(n, u, now) if item.priority > priority)


def is_cancelled(n: NoticeFacts, u: UserFacts) -> bool:
    order = u.orders.get(n.order_no) if n.order_no is not None else None
    return order is not None and order.cancelled


def is_superseded(n: NoticeFacts, u: UserFacts) -> bool:
    """A later node of the same order is known (by position in NODE_ORDER: events arrive out of
    order and systems' clocks differ, but the physical sequence of nodes does not). A presale
    progress notice: a later progress of the order is known (by its occurred_at: the stages come
    from one system, and a stage name says nothing about its place). A delivery-slot notice: a
    newer offer replaced the one it asks about (an offer's time is its event's occurred_at)."""
    order = u.orders.get(n.order_no) if n.order_no is not None else None
    if order is None:
        return False
    if n.topic is Topic.PRESALE_PROGRESS:
        return order.presale_updated_at is not None and order.presale_updated_at > n.occurred_at
    if n.topic is Topic.DELIVERY_SLOT:
        return order.slot_offered_at is not None and order.slot_offered_at > n.occurred_at
    return n.node_rank is not None and order.latest_rank > n.node_rank


def is_answered(n: NoticeFacts, u: UserFacts) -> bool:
    """The user already did what the notice asks them to do."""
    order = u.orders.get(n.order_no) if n.order_no is not None else None
    if order is None:
        return False
    if n.topic is Topic.RECEIPT_CONFIRM:
        return order.receipt_confirmed
    if n.topic is Topic.DELIVERY_SLOT:
        return order.slot_chosen
    if n.topic is Topic.ORDER_EXCEPTION:
        return exception_of_key(n.key, order.order_no) in order.exceptions_decided
    return False


def withdrawal(n: NoticeFacts, u: UserFacts, now: datetime) -> Reason | None:
    """Why the notice is no longer wanted at all (the first checks of ``decide``), or None."""
    if n.expires_at is not None and now >= n.expires_at:
        return Reason.EXPIRED
    if not u.main_switch:
        return Reason.MAIN_SWITCH_OFF
    if not u.topic_on(n.topic):
        return Reason.TOPIC_OFF
    if n.template_id in u.banned_templates:
        return Reason.TEMPLATE_BANNED
    if is_cancelled(n, u):
        return Reason.ORDER_CANCELLED
    if is_superseded(n, u):
        return Reason.SUPERSEDED
    if is_answered(n, u):
        return Reason.ANSWERED
    return None


# ----------------------------------------------------------------------------------- the policy


def decide(n: NoticeFacts, u: UserFacts, now: datetime, *, reserve_for_ahead: bool = True) -> Decision:
    """Send now, defer (quiet hours, best hour), or suppress with a reason. Pure."""
    info = topic_info(n.topic)
    withdrawn = withdrawal(n, u, now)
    if withdrawn is not None:
        return Decision.suppress(withdrawn)
    units = u.units_left(n.template_id, excluding=n.key)
    if units <= 0:
        return Decision.suppress(Reason.NO_UNITS)
    if reserve_for_ahead and units <= kept_for_ahead(n, u, now):
        return Decision.suppress(Reason.SAVED_FOR_HIGHER_PRIORITY)
    if info.weekly_limited and u.weekly_sent >= u.weekly_limit:
        return Decision.suppress(Reason.WEEKLY_LIMIT)
    if n.holdout:
        return Decision.suppress(Reason.EXPERIMENT_HOLDOUT)
    if not info.urgent and u.quiet_hours is not None:
        until = u.quiet_hours.deferral(now)
        if until is not None:
            return Decision.defer(Reason.QUIET_HOURS, until)
    if n.send_at is not None and n.send_at > now:
        return Decision.defer(Reason.BEST_HOUR, n.send_at)
    return Decision.send()
