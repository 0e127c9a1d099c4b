"""The policy's last word before a unit is reserved: is a claimed notice still wanted?

A decision may be hours old (quiet hours, a retry's backoff); the facts it was taken on may not
hold any more (receipt confirmed, switch turned off …). The sender asks ``withdrawal_before_send``
right before it reserves a unit; it loads only the facts ``policy.withdrawal`` reads.

On PostgreSQL those facts are one statement (``_FACTS``): the user's preferences and topic
switches, ledger, and the notice's order with its nodes, receipt, slot offer and decided
exceptions, each as a column or a JSON aggregate. The ORM path (``load_user_facts(...,
withdrawal_only=True)``, eight statements for a notice of an existing order) cost about a third
of a send's CPU, most of it in building the queries (issue 12). Both give the same ``UserFacts``
(tests/notices/test_sender_withdrawal.py compares them on PostgreSQL).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bff.catalog.nodes import is_made_to_order, node_rank
from bff.catalog.templates_file import TemplatesFile
from bff.catalog.topics import NODE_ORDER
from bff.consent.preferences import preferences_from
from bff.models.notices import Notice
from bff.models.orders import OPEN_STATUSES, OrderStatus
from bff.notices import policy
from bff.notices.facts import load_user_facts, notice_facts
from bff.notices.policy import OrderFacts, QuietHours, UserFacts

__all__ = ["withdrawal_before_send", "withdrawal_facts"]

_DELIVERED_STATUSES = (OrderStatus.DELIVERED, OrderStatus.COMPLETED)

_FACTS = """
SELECT p.id AS prefs_id, p.main_switch, p.quiet_start, p.quiet_end, p.weekly_limit,
    (SELECT json_agg(json_build_array(t.topic, t.enabled)) FROM topic_preferences t WHERE t.user_id = $1)
        AS switches,
    (SELECT json_agg(json_build_array(c.template_id, c.granted, c.spent, c.banned))
        FROM consent_ledger c WHERE c.user_id = $1) AS ledger,
    o.id AS order_id, o.order_no, o.status AS order_status, o.presale, o.presale_updated_at,
    (SELECT json_agg(e.node) FROM order_node_events e WHERE e.order_id = o.id) AS nodes,
    EXISTS (SELECT 1 FROM order_receipts r WHERE r.order_id = o.id) AS receipt,
    s.offered_at AS slot_offered_at, s.chosen_slot_id,
    (SELECT json_agg(x.exception_id) FROM order_exception_links l
        JOIN order_exceptions x ON x.id = l.exception_id
        WHERE l.order_id = o.id AND l.chosen_option IS NOT NULL) AS exceptions
FROM (SELECT 1) AS one
LEFT JOIN preferences p ON p.user_id = $1
LEFT JOIN orders o ON o.user_id = $1 AND o.order_no = $2
LEFT JOIN delivery_slot_offers s ON s.order_id = o.id
"""


def _json(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(json.loads(value) if isinstance(value, str) else value)


async def withdrawal_facts(notice: Notice, *, zone: ZoneInfo) -> UserFacts:
    """What ``load_user_facts([user], withdrawal_only=True, order_nos=[its order])`` answers for the
    notice's user, in one statement (PostgreSQL only)."""
    conn = Notice._meta.db
    _, rows = await conn.execute_query(_FACTS, [notice.user_id, notice.order_no])
    row = rows[0]
    prefs_row = (
        {name: row[name] for name in ("main_switch", "quiet_start", "quiet_end", "weekly_limit")}
        if row["prefs_id"] is not None
        else None
    )
    switches = [(topic, enabled) for topic, enabled in _json(row["switches"])]
    prefs = preferences_from(prefs_row, switches)

    units: dict[str, int] = {}
    banned: set[str] = set()
    for template_id, granted, spent, is_banned in _json(row["ledger"]):
        units[str(template_id)] = max(0, int(granted) - int(spent))
        if is_banned:
            banned.add(str(template_id))

    orders: dict[str, OrderFacts] = {}
    if row["order_id"] is not None:
        seen = {str(node) for node in _json(row["nodes"])}
        status = OrderStatus(row["order_status"])
        orders[str(row["order_no"])] = OrderFacts(
            order_no=str(row["order_no"]),
            open=status in OPEN_STATUSES,
            cancelled=status is OrderStatus.CANCELLED,
            paid=status is not OrderStatus.PENDING_PAYMENT,
            made_to_order=is_made_to_order(presale=bool(row["presale"]), known_nodes=seen),
            delivered=status in _DELIVERED_STATUSES,
            nodes_seen=frozenset(node_rank(n) for n in seen if n in NODE_ORDER),
            presale_updated_at=row["presale_updated_at"],
            receipt_confirmed=bool(row["receipt"]) or status is OrderStatus.COMPLETED,
            slot_chosen=row["chosen_slot_id"] is not None,
            slot_offered_at=row["slot_offered_at"],
            exceptions_decided=frozenset(str(e) for e in _json(row["exceptions"])),
        )
    quiet = (
        QuietHours(prefs.quiet_hours.start_time, prefs.quiet_hours.end_time, zone)
        if prefs.quiet_hours is not None
        else None
    )
    return UserFacts(
        user_id=notice.user_id,
        main_switch=prefs.main_switch,
        topics_off=frozenset(topic for topic, on in prefs.switched.items() if not on),
        quiet_hours=quiet,
        weekly_limit=prefs.weekly_limit,
        units=units,
        banned_templates=frozenset(banned),
        orders=orders,
    )


async def withdrawal_before_send(
    notice: Notice, now: datetime, *, templates: TemplatesFile, zone: ZoneInfo
) -> str | None:
    """Why the notice is no longer wanted (``policy.withdrawal`` on facts loaded now), or None."""
    if Notice._meta.db.capabilities.dialect == "postgres":
        facts = await withdrawal_facts(notice, zone=zone)
    else:
        facts = (
            await load_user_facts(
                [notice.user_id],
                now=now,
                zone=zone,
                order_nos=[notice.order_no] if notice.order_no is not None else [],
                withdrawal_only=True,
            )
        )[notice.user_id]
    reason = policy.withdrawal(notice_facts(notice, templates), facts, now)
    return str(reason) if reason is not None else None
