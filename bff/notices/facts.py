"""Load what the policy needs, for a whole chunk of notices at once.

``load_user_facts(user_ids, ...)`` answers for any number of users with a fixed number of
queries (preferences and topic switches, consent ledger, orders, their nodes, the users' unsent
notices, weekly counts): never one query per notice or per user. Callers pass chunks of a few
hundred notices (the planner uses ``DEFAULT_CHUNK``) so the ``IN`` lists stay small.

The models read here belong to other parts of the service (consent: bff.consent; orders:
bff.supply_chain.ingest). This module only reads them, through the narrow view the policy needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise import Tortoise
from tortoise.expressions import Q
from tortoise.functions import Count

from bff.catalog.nodes import is_made_to_order, node_rank
from bff.catalog.templates_file import TemplatesFile
from bff.catalog.topics import NODE_ORDER, TOPICS, Topic
from bff.consent.preferences import preferences_of
from bff.models.consent import ConsentLedger
from bff.models.notices import Notice, NoticeStatus
from bff.models.orders import (
    OPEN_STATUSES,
    OrderStatus,
)
from bff.notices.policy import NoticeFacts, OrderFacts, QuietHours, Unsent, UserFacts
from bff.supply_chain.sql import is_postgres, render

DEFAULT_CHUNK = 500
WEEK = timedelta(days=7)
# Not sent yet, and may still be: planned, deferred, or queued for a send job.
UNSENT_STATUSES = (NoticeStatus.PLANNED, NoticeStatus.SCHEDULED, NoticeStatus.QUEUED)
WEEKLY_LIMITED_TOPICS: tuple[str, ...] = tuple(str(t) for t, info in TOPICS.items() if info.weekly_limited)
_DELIVERED_STATUSES = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)


def template_topics(templates: TemplatesFile, template_id: str, topic: Topic) -> frozenset[Topic]:
    """The topics sharing the template's units (just ``topic`` if the template left the file)."""
    template = templates.by_id(template_id)
    return frozenset(template.topics) | {topic} if template is not None else frozenset({topic})


def notice_facts(notice: Notice, templates: TemplatesFile) -> NoticeFacts:
    topic = Topic(notice.topic)
    return NoticeFacts(
        key=notice.dedupe_key,
        topic=topic,
        template_id=notice.template_id,
        template_topics=template_topics(templates, notice.template_id, topic),
        occurred_at=notice.occurred_at,
        expires_at=notice.expires_at,
        order_no=notice.order_no,
        node_rank=notice.node_rank,
        priority=notice.priority,
    )


async def load_user_facts(
    user_ids: Iterable[int],
    *,
    now: datetime,
    zone: ZoneInfo,
    order_nos: Collection[str] = (),
    withdrawal_only: bool = False,
    weekly: bool = True,
) -> dict[int, UserFacts]:
    """The facts of every user in ``user_ids``, in ten queries whatever their number.

    ``order_nos``: orders the notices being decided are about; loaded even when they are no longer
    open (a notice of a delivered or cancelled order must still learn that).
    ``withdrawal_only``: just what ``policy.withdrawal`` reads (switches, bans, the named orders),
    for the sender's check before each send: the users' other orders, unsent notices and weekly
    counts are left out, so the facts are not fit for ``policy.decide``.
    """
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    preferences = await preferences_of(ids)

    units: dict[int, dict[str, int]] = defaultdict(dict)
    banned: dict[int, set[str]] = defaultdict(set)
    for user_id, template_id, granted, spent, is_banned in await ConsentLedger.filter(
        user_id__in=ids
    ).values_list("user_id", "template_id", "granted", "spent", "banned"):
        units[user_id][template_id] = max(0, int(granted) - int(spent))
        if is_banned:
            banned[user_id].add(template_id)

    orders = await _orders(ids, order_nos, open_orders=not withdrawal_only)
    unsent = {} if withdrawal_only else await _unsent(ids)
    # ``weekly=False``: none of the notices being decided is weekly-limited, and the policy reads
    # the weekly count of no other (a scoped exception's fan-out saves the query).
    weekly_sent = {} if withdrawal_only or not weekly else await _weekly_sent(ids, now)

    facts: dict[int, UserFacts] = {}
    for user_id in ids:
        prefs = preferences[user_id]
        quiet = (
            QuietHours(prefs.quiet_hours.start_time, prefs.quiet_hours.end_time, zone)
            if prefs.quiet_hours is not None
            else None
        )
        facts[user_id] = UserFacts(
            user_id=user_id,
            main_switch=prefs.main_switch,
            topics_off=frozenset(topic for topic, on in prefs.switched.items() if not on),
            quiet_hours=quiet,
            weekly_limit=prefs.weekly_limit,
            weekly_sent=weekly_sent.get(user_id, 0),
            units=units.get(user_id, {}),
            banned_templates=frozenset(banned.get(user_id, ())),
            orders=orders.get(user_id, {}),
            unsent=tuple(unsent.get(user_id, ())),
        )
    return facts


async def _orders(
    user_ids: list[int], order_nos: Collection[str], *, open_orders: bool = True
) -> dict[int, dict[str, OrderFacts]]:
    """Open orders of the users (unless not ``open_orders``), plus the named orders whatever their
    status (five queries: the orders, their nodes, receipts, slot offers, exceptions answered)."""
    conn = Tortoise.get_connection("default")
    users = _in(user_ids)
    names = sorted(set(order_nos))
    named = f"(user_id IN {users} AND order_no IN {_in(names)})"
    if open_orders:
        where = f"(user_id IN {users} AND status IN {_in(OPEN_STATUSES)})"
        values: list[Any] = [*user_ids, *(str(s) for s in OPEN_STATUSES)]
        if names:
            where += f" OR {named}"
            values += [*user_ids, *names]
    elif names:
        where, values = named, [*user_ids, *names]
    else:
        return {}
    # Plain statements, not the ORM: a chunk's IN lists hold hundreds of ids, and building them
    # term by term cost more than running them (bench/fanout.py).
    _, found = await conn.execute_query(
        render(
            conn,
            f"SELECT id, order_no, user_id, status, presale, presale_updated_at FROM orders WHERE {where}",
        ),
        values,
    )
    rows = [tuple(row) for row in found]
    nodes: dict[int, set[str]] = defaultdict(set)
    receipts: set[int] = set()
    slots_chosen: set[int] = set()
    slots_offered_at: dict[int, datetime] = {}
    exceptions_decided: dict[int, set[str]] = defaultdict(set)
    if rows:
        order_ids = [int(r[0]) for r in rows]
        ids = _in(order_ids)

        async def fetch(sql: str) -> list[tuple[Any, ...]]:
            _, result = await conn.execute_query(render(conn, sql), order_ids)
            return [tuple(row) for row in result]

        for order_id, node in await fetch(
            f"SELECT order_id, node FROM order_node_events WHERE order_id IN {ids}"
        ):
            nodes[int(order_id)].add(str(node))
        receipts = {
            int(row[0]) for row in await fetch(f"SELECT order_id FROM order_receipts WHERE order_id IN {ids}")
        }
        for order_id, offered_at, chosen in await fetch(
            f"SELECT order_id, offered_at, chosen_slot_id FROM delivery_slot_offers WHERE order_id IN {ids}"
        ):
            slots_offered_at[int(order_id)] = db_datetime(offered_at)
            if chosen is not None:
                slots_chosen.add(int(order_id))
        for order_id, exception_id in await fetch(
            "SELECT l.order_id, e.exception_id FROM order_exception_links l "
            f"JOIN order_exceptions e ON e.id = l.exception_id WHERE l.order_id IN {ids} "
            "AND l.chosen_option IS NOT NULL"
        ):
            exceptions_decided[int(order_id)].add(str(exception_id))
    by_user: dict[int, dict[str, OrderFacts]] = defaultdict(dict)
    for order_id, order_no, user_id, status, presale, presale_updated_at in rows:
        seen = nodes.get(int(order_id), set())
        status = OrderStatus(status)
        by_user[int(user_id)][str(order_no)] = OrderFacts(
            order_no=str(order_no),
            open=status in OPEN_STATUSES,
            cancelled=status is OrderStatus.CANCELLED,
            paid=status is not OrderStatus.PENDING_PAYMENT,
            # Stock orders skip the production nodes; until one is seen a non-presale order is
            # taken for stock (production nodes rank lowest, so this never hides a unit's better use).
            made_to_order=is_made_to_order(presale=bool(presale), known_nodes=seen),
            delivered=status in _DELIVERED_STATUSES,
            nodes_seen=frozenset(node_rank(n) for n in seen if n in NODE_ORDER),
            presale_updated_at=db_datetime(presale_updated_at) if presale_updated_at is not None else None,
            receipt_confirmed=int(order_id) in receipts or status is OrderStatus.COMPLETED,
            slot_chosen=int(order_id) in slots_chosen,
            slot_offered_at=slots_offered_at.get(int(order_id)),
            exceptions_decided=frozenset(exceptions_decided.get(int(order_id), ())),
        )
    return by_user


_UNSENT_COLUMNS = (
    "user_id, dedupe_key, topic, template_id, priority, status, unit_reserved, expires_at, order_no"
)


async def _unsent(user_ids: list[int]) -> dict[int, list[Unsent]]:
    """The users' unsent notices (one query).

    On PostgreSQL the query walks the (user_id, status) index user by user (LATERAL): while a
    large fan-out inserts notices faster than the statistics follow, the planner otherwise takes
    the status index and reads every unsent notice of every user for each chunk, so that planning
    grew with the square of the orders (bench/fanout.py)."""
    conn = Tortoise.get_connection("default")
    statuses = [str(status) for status in UNSENT_STATUSES]
    if is_postgres(conn):
        sql = (
            f"SELECT n.{_UNSENT_COLUMNS.replace(', ', ', n.')} FROM unnest(CAST(? AS bigint[])) AS u(id) "
            "CROSS JOIN LATERAL (SELECT * FROM notices "
            "WHERE user_id = u.id AND status = ANY(CAST(? AS text[]))) n"
        )
        values: list[Any] = [user_ids, statuses]
    else:
        sql = (
            f"SELECT {_UNSENT_COLUMNS} FROM notices WHERE user_id IN ({', '.join('?' * len(user_ids))}) "
            f"AND status IN ({', '.join('?' * len(statuses))})"
        )
        values = [*user_ids, *statuses]
    _, rows = await conn.execute_query(render(conn, sql), values)
    unsent: dict[int, list[Unsent]] = defaultdict(list)
    for user_id, key, topic, template_id, priority, status, reserved, expires_at, order_no in rows:
        try:
            topic_key = Topic(topic)
        except ValueError:
            continue  # a topic removed from the code since
        unsent[int(user_id)].append(
            Unsent(
                key=str(key),
                topic=topic_key,
                template_id=str(template_id),
                priority=int(priority),
                # A queued notice will take a unit; one already holding its unit took it (spent).
                queued=NoticeStatus(status) is NoticeStatus.QUEUED and not reserved,
                expires_at=db_datetime(expires_at) if expires_at is not None else None,
                order_no=order_no,
            )
        )
    return unsent


def _in(values: Collection[object]) -> str:
    """``(?, ?, …)`` for the values (``(NULL)`` for none: matches nothing)."""
    return f"({', '.join('?' * len(values))})" if values else "(NULL)"


def db_datetime(value: Any) -> datetime:
    """A time read by a raw statement: asyncpg gives datetimes, SQLite the text tortoise wrote."""
    if isinstance(value, datetime):
        return value
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _weekly_sent(user_ids: list[int], now: datetime) -> dict[int, int]:
    """Weekly-limited notices sent in the last 7 days or on their way, per user (one query)."""
    rows = (
        await Notice.filter(user_id__in=user_ids, topic__in=list(WEEKLY_LIMITED_TOPICS))
        .filter(
            Q(status=NoticeStatus.SENT, sent_at__gte=now - WEEK)
            | Q(status__in=[NoticeStatus.QUEUED, NoticeStatus.SENDING])
        )
        .annotate(n=Count("id"))
        .group_by("user_id")
        .values_list("user_id", "n")
    )
    return {int(user_id): int(n) for user_id, n in rows}
