"""`subscribeRequest`: which templates the mini-program should ask the user for, right now.

WeChat's popup takes at most 3 template ids (5 in the newest documentation; configurable up to
5 here), one-time and long-term ids cannot be mixed, and ids with equal titles are filtered. An
accept buys one send, so asking is worth most where units are missing for what lies ahead.

The choice, by moment:
- ``AFTER_PAYMENT`` / ``ORDER_DETAIL``: what still lies ahead for the order: the templates of
  its nodes still ahead (and presale progress while a presale order is not shipped), and the
  decisions and reminders that may come before it is delivered: an exception to decide, the
  delivery slot to choose (until a slot is chosen or the order is out for delivery) and the
  receipt reminder. Custom orders go through the three production nodes, stock orders skip
  them; an order counts as custom when it is a presale or the supply chain reported or
  announced a production node for it. An order the BFF does not know (yet: `order.placed` may
  lag behind the payment) or of another user: every node and every decision.
  A template is skipped when the user already holds a unit for each of its topics ahead.
- ``EXCEPTION``: the exception template.
- ``RECEIPT``: what follows the received order: a replenishment reminder when one of its lines
  is a consumable, maintenance when one of its SKUs has maintenance items.
- ``LIFECYCLE``: what is planned or likely for this user soon (within
  ``LIFECYCLE_LOOKAHEAD``): a replenishment reminder not dismissed, a maintenance item of an
  owned product falling due, and what the caller knows is likely (``likely_topics``: the
  resolver passes the topics of the user's valid offers not announced yet,
  ``bff.offers.asking.offer_topics``; bff.consent sits below bff.offers and does not import it).
- ``SUBSCRIPTION_CENTER``: every topic.

Only topics the notice engine sends (``SENT_TOPICS``) are ever asked for: an accept of a
template nothing sends would be a unit the user gave for nothing.

Then, always: only topics the user has switched on, only one-time templates, never a template
the user rejected with "always keep" (WeChat would answer `reject` silently) or that WeChat
banned; templates with the fewest units first, ties broken by the most important topic; no two
templates with one title; at most ``max_templates``.

Asking is limited per user: at most ``ASKS_PER_MOMENT_PER_DAY`` non-empty answers per (moment,
order) and ``ASKS_PER_DAY`` in total per business day (``EXCEPTION`` asks do not count against
the total: a decision is at stake). Past a limit the answer has no template ids. The count lives
in the database (``subscribe_requests``), so it holds across web processes.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count

from bff.catalog.nodes import ORDER_NO_MAX_LENGTH, PRODUCTION_NODES, is_made_to_order, node_rank, nodes_ahead
from bff.catalog.templates_file import TemplateConfig, TemplatesFile
from bff.catalog.topics import NODE_ORDER, TOPICS, Topic, node_topic
from bff.consent import ledger
from bff.consent.preferences import UserPreferences, get_preferences
from bff.models.consent import SubscribeRequestLog
from bff.models.lifecycle import OwnedProduct, Replenishment, ReplenishmentStatus
from bff.models.orders import Order, OrderItem, Sku

DEFAULT_MAX_TEMPLATES = 3
MAX_TEMPLATES_LIMIT = 5
ASKS_PER_DAY = 10
ASKS_PER_MOMENT_PER_DAY = 3

# A delivery slot is offered before the courier sets out; from this node on none is asked for.
SLOT_OFFERED_BEFORE = "OUT_FOR_DELIVERY"

# The topics the notice engine plans and sends today (bff/notices/planner.py: order events,
# the receipt reminder on DELIVERED, delivery slots, exceptions; the lifecycle and offers scans).
# Keep in step with the planner:
# a topic missing here is never asked for, a topic here that nothing sends wastes an accept.
SENT_TOPICS: frozenset[Topic] = frozenset(
    {
        Topic.ORDER_PAID,
        *(node_topic(node) for node in NODE_ORDER),
        Topic.PRESALE_PROGRESS,
        Topic.DELIVERY_SLOT,
        Topic.ORDER_EXCEPTION,
        Topic.RECEIPT_CONFIRM,
        # bff/lifecycle/scans.py
        Topic.REPLENISHMENT,
        Topic.MAINTENANCE,
        # bff/offers/scan.py (offers' kinds: bff/offers/rules.py TOPIC_OF)
        Topic.RENEWAL_OFFER,
        Topic.WIN_BACK,
        Topic.MEMBER_BENEFIT,
    }
)
# LIFECYCLE asks for what falls due within this: an accept given now is spent soon.
LIFECYCLE_LOOKAHEAD = timedelta(days=30)


class SubscribeMoment(StrEnum):
    AFTER_PAYMENT = "AFTER_PAYMENT"
    ORDER_DETAIL = "ORDER_DETAIL"
    EXCEPTION = "EXCEPTION"
    SUBSCRIPTION_CENTER = "SUBSCRIPTION_CENTER"
    LIFECYCLE = "LIFECYCLE"
    RECEIPT = "RECEIPT"


ORDER_MOMENTS = frozenset({SubscribeMoment.AFTER_PAYMENT, SubscribeMoment.ORDER_DETAIL})
LIFECYCLE_MOMENTS = frozenset({SubscribeMoment.LIFECYCLE, SubscribeMoment.RECEIPT})


@dataclass(frozen=True)
class SubscribeAsk:
    """The answer: ask for ``template_ids`` (in this order); ``topics`` are what they would carry."""

    request_id: str
    template_ids: tuple[str, ...]
    topics: tuple[Topic, ...]
    limited: bool = False  # True when the rate limit emptied the answer


@dataclass(frozen=True)
class OrderOutlook:
    """What is still ahead for an order, as far as the BFF knows."""

    nodes_ahead: tuple[str, ...]
    presale_pending: bool
    # Decisions and reminders that may still come before delivery.
    exception_possible: bool = False
    slot_pending: bool = False
    receipt_pending: bool = False
    # LIFECYCLE / RECEIPT moments: the lifecycle topics planned or likely (lifecycle_topics).
    lifecycle: tuple[Topic, ...] = ()


UNKNOWN_ORDER = OrderOutlook(
    nodes_ahead=NODE_ORDER,
    presale_pending=False,
    exception_possible=True,
    slot_pending=True,
    receipt_pending=True,
)
NOTHING_AHEAD = OrderOutlook(nodes_ahead=(), presale_pending=False)


async def order_outlook(user_id: int, order_no: str | None) -> OrderOutlook:
    """The nodes still ahead of the user's order; every node for an order the BFF cannot show them."""
    if not order_no:
        return UNKNOWN_ORDER
    from bff.models.orders import (
        DeliverySlotOffer,
        OrderNodeEvent,
        OrderNodeExpectation,
        OrderStatus,
    )

    rows = (
        await Order.filter(order_no=order_no, user_id=user_id)
        .limit(1)
        .values("id", "status", "current_node", "presale")
    )
    if not rows:
        return UNKNOWN_ORDER
    order_id, current_node, presale = rows[0]["id"], rows[0]["current_node"], bool(rows[0]["presale"])
    status = OrderStatus(rows[0]["status"])
    if status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED, OrderStatus.DELIVERED):
        return NOTHING_AHEAD
    # The production nodes known for it: where it is now, reported ones and announced ones.
    known_nodes = {current_node or ""}
    if not presale:
        for model in (OrderNodeEvent, OrderNodeExpectation):
            nodes = await model.filter(order_id=order_id, node__in=PRODUCTION_NODES).values_list("node")
            known_nodes.update(str(row[0]) for row in nodes)
    made_to_order = is_made_to_order(presale=presale, known_nodes=known_nodes)
    ahead = nodes_ahead(current_node, made_to_order=made_to_order)
    presale_pending = presale and status in (OrderStatus.PAID, OrderStatus.IN_PRODUCTION)
    courier_out = node_rank(current_node) >= node_rank(SLOT_OFFERED_BEFORE)
    slot_chosen = await DeliverySlotOffer.filter(order_id=order_id, chosen_slot_id__isnull=False).exists()
    return OrderOutlook(
        nodes_ahead=ahead,
        presale_pending=presale_pending,
        exception_possible=True,
        slot_pending=not courier_out and not slot_chosen,
        receipt_pending=True,
    )


async def lifecycle_topics(
    user_id: int, moment: SubscribeMoment, order_no: str | None, at: datetime
) -> list[Topic]:
    """The lifecycle notices planned or likely for this user after ``moment`` (see the module)."""
    if moment is SubscribeMoment.RECEIPT:
        if not order_no:
            return []
        # The SKUs of the user's order, in one SELECT (none when the order is not theirs).
        lines = OrderItem.filter(order__order_no=order_no, order__user_id=user_id).values("sku_code")
        skus = await Sku.filter(sku_code__in=Subquery(lines)).values("consumable", "maintenance")
        topics = [Topic.REPLENISHMENT] if any(s["consumable"] for s in skus) else []
        return topics + ([Topic.MAINTENANCE] if any(s["maintenance"] for s in skus) else [])
    horizon = at + LIFECYCLE_LOOKAHEAD
    open_statuses = (ReplenishmentStatus.ACTIVE, ReplenishmentStatus.DUE, ReplenishmentStatus.SNOOZED)
    topics = []
    if await Replenishment.filter(user_id=user_id, status__in=open_statuses, remind_at__lte=horizon).exists():
        topics.append(Topic.REPLENISHMENT)
    owned = await OwnedProduct.filter(user_id=user_id).values("sku_code", "last_delivered_at")
    delivered = {str(row["sku_code"]): row["last_delivered_at"] for row in owned}
    skus = await Sku.filter(sku_code__in=list(delivered)).values("sku_code", "maintenance")
    for sku in skus:
        start = delivered[str(sku["sku_code"])]
        due = (start + timedelta(days=int(item.get("afterDays", 0))) for item in sku["maintenance"] or ())
        if any(at <= when <= horizon for when in due):
            topics.append(Topic.MAINTENANCE)
            break
    return topics


def topics_ahead(moment: SubscribeMoment, outlook: OrderOutlook) -> list[Topic]:
    """The topics a notice may come about after this moment (before preferences): only topics
    the notice engine sends (``SENT_TOPICS``)."""
    return [topic for topic in _topics_of_moment(moment, outlook) if topic in SENT_TOPICS]


def _topics_of_moment(moment: SubscribeMoment, outlook: OrderOutlook) -> list[Topic]:
    if moment in ORDER_MOMENTS:
        topics = [node_topic(node) for node in outlook.nodes_ahead]
        if outlook.presale_pending:
            topics.append(Topic.PRESALE_PROGRESS)
        if outlook.exception_possible:
            topics.append(Topic.ORDER_EXCEPTION)
        if outlook.slot_pending:
            topics.append(Topic.DELIVERY_SLOT)
        if outlook.receipt_pending:
            topics.append(Topic.RECEIPT_CONFIRM)
        return topics
    if moment is SubscribeMoment.EXCEPTION:
        return [Topic.ORDER_EXCEPTION]
    if moment in LIFECYCLE_MOMENTS:
        return list(outlook.lifecycle)
    return list(TOPICS)


@dataclass(frozen=True)
class _Candidate:
    template: TemplateConfig
    topics: tuple[Topic, ...]
    remaining: int

    @property
    def priority(self) -> int:
        return max(TOPICS[topic].priority for topic in self.topics)


def choose_templates(
    *,
    topics: Iterable[Topic],
    templates: TemplatesFile,
    preferences: UserPreferences,
    entries: Mapping[str, ledger.LedgerEntry],
    skip_covered: bool,
    max_templates: int = DEFAULT_MAX_TEMPLATES,
) -> list[_Candidate]:
    """The templates to ask for, best first (pure: the caller loads preferences and ledger)."""
    by_template: dict[str, list[Topic]] = {}
    configs: dict[str, TemplateConfig] = {}
    for topic in topics:
        if not preferences.topic_enabled(topic):
            continue
        template = templates.for_topic(topic)
        if template is None or not template.one_time:
            continue
        configs[template.template_id] = template
        by_template.setdefault(template.template_id, []).append(topic)

    candidates: list[_Candidate] = []
    for template_id, wanted in by_template.items():
        entry = entries.get(template_id) or ledger.LedgerEntry(template_id=template_id)
        if entry.refused_for_good:
            continue
        if skip_covered and entry.remaining >= len(wanted):
            continue
        candidates.append(
            _Candidate(template=configs[template_id], topics=tuple(wanted), remaining=entry.remaining)
        )
    candidates.sort(key=lambda c: (c.remaining, -c.priority, c.template.template_id))

    chosen: list[_Candidate] = []
    titles: set[str] = set()
    for candidate in candidates:
        if candidate.template.title in titles:
            continue  # WeChat would filter it: one title per popup
        titles.add(candidate.template.title)
        chosen.append(candidate)
        if len(chosen) == max_templates:
            break
    return chosen


def business_day_start(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)


async def _rate_limited(
    user_id: int, moment: SubscribeMoment, order_no: str | None, now: datetime, zone: ZoneInfo
) -> bool:
    """Both of today's counts (this moment and order; every moment but EXCEPTION) in one SELECT."""
    since = business_day_start(now, zone)
    rows = (
        await SubscribeRequestLog.filter(user_id=user_id, created_at__gte=since)
        .annotate(
            same=Count("id", _filter=Q(moment=str(moment), order_no=order_no)),
            total=Count("id", _filter=~Q(moment=str(SubscribeMoment.EXCEPTION))),
        )
        .values("same", "total")
    )
    same, total = (int(rows[0]["same"] or 0), int(rows[0]["total"] or 0)) if rows else (0, 0)
    if same >= ASKS_PER_MOMENT_PER_DAY:
        return True
    if moment is SubscribeMoment.EXCEPTION:
        return False
    return total >= ASKS_PER_DAY


def new_request_id() -> str:
    return "sr_" + secrets.token_urlsafe(18)


async def subscribe_request(
    user_id: int,
    moment: SubscribeMoment,
    order_no: str | None,
    *,
    templates: TemplatesFile,
    zone: ZoneInfo,
    max_templates: int = DEFAULT_MAX_TEMPLATES,
    now: datetime | None = None,
    likely_topics: Iterable[Topic] = (),
) -> SubscribeAsk:
    """Choose the templates to ask for and remember the question under a fresh ``request_id``.

    ``likely_topics``: at ``LIFECYCLE``, lifecycle notices the caller knows are likely for this
    user beyond what this package sees (offers); ignored at the other moments.

    Only answers with template ids are stored (and counted by the rate limit); an empty answer's
    request id is not reportable, as there is nothing to report.
    """
    if not 1 <= max_templates <= MAX_TEMPLATES_LIMIT:
        raise ValueError(f"max_templates must be between 1 and {MAX_TEMPLATES_LIMIT}, got {max_templates}")
    at = now or datetime.now(UTC)
    order_no = (order_no or "").strip() or None
    if order_no is not None and len(order_no) > ORDER_NO_MAX_LENGTH:
        order_no = None  # no order has such a number: asked as for an order the BFF does not know
    request_id = new_request_id()
    if moment not in ORDER_MOMENTS and moment not in (SubscribeMoment.EXCEPTION, SubscribeMoment.RECEIPT):
        order_no = None  # the order does not change what these moments ask for, nor their limit
    if await _rate_limited(user_id, moment, order_no, at, zone):
        return SubscribeAsk(request_id=request_id, template_ids=(), topics=(), limited=True)

    outlook = await order_outlook(user_id, order_no) if moment in ORDER_MOMENTS else UNKNOWN_ORDER
    if moment in LIFECYCLE_MOMENTS:
        lifecycle = await lifecycle_topics(user_id, moment, order_no, at)
        if moment is SubscribeMoment.LIFECYCLE:
            lifecycle += [topic for topic in likely_topics if topic not in lifecycle]
        outlook = replace(outlook, lifecycle=tuple(lifecycle))
    ahead = topics_ahead(moment, outlook)
    preferences = await get_preferences(user_id)
    template_ids = {t.template_id for topic in ahead if (t := templates.for_topic(topic)) is not None}
    entries = await ledger.entries(user_id, sorted(template_ids))
    chosen = choose_templates(
        topics=ahead,
        templates=templates,
        preferences=preferences,
        entries=entries,
        skip_covered=moment in ORDER_MOMENTS,
        max_templates=max_templates,
    )
    ask = SubscribeAsk(
        request_id=request_id,
        template_ids=tuple(c.template.template_id for c in chosen),
        topics=tuple(topic for c in chosen for topic in c.topics),
    )
    if ask.template_ids:
        await SubscribeRequestLog.create(
            request_id=request_id,
            user_id=user_id,
            moment=str(moment),
            order_no=order_no,
            template_ids=list(ask.template_ids),
            created_at=at,
        )
    return ask
