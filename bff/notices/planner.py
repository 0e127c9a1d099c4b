"""Plan: turn a stored supply-chain event into notice rows, then let the policy decide each one.

``plan_event(event_row_id, ctx)`` (the job ``plan_notices_for_event``) reads the event as it was
stored, and for each notice it causes writes a row with a dedupe key, a topic, the template that
carries the topic, a priority, an expiry and every template placeholder's value (times already
formatted in BUSINESS_TZ). Rows are inserted with ON CONFLICT DO NOTHING on the dedupe key, so a
replayed event, a retried job or two workers racing create nothing twice; rows a crashed run left
PLANNED are decided by the next run.

    event                    topic (dedupe key)                              expires
    order.paid               ORDER_PAID (order:<no>:ORDER_PAID)              +1 day
    order.node               NODE_<node> (order:<no>:NODE_<node>:<node>)     +3 days
      … DELIVERED            + RECEIPT_CONFIRM (receipt:<no>)                +7 days
    order.presale_progress   PRESALE_PROGRESS (presale:<no>:<stage>)         +3 days
    order.delivery_slots     DELIVERY_SLOT (slot:<no>:<deadline iso>)        the deadline
    order.exception          ORDER_EXCEPTION per undecided affected order    the deadline
                             (exception:<exceptionId>:<no>), keyset chunks
    order.cancelled          none: the order's unsent notices are decided again (ORDER_CANCELLED)

A topic no template carries plans nothing. A node event also puts the order's unsent older node
notices to the policy again (they are SUPERSEDED now), and a presale progress (a delivery-slot
offer) the order's unsent earlier progress (offer) notices.

Then, chunk by chunk, the facts of the chunk's users are loaded in a fixed number of queries
(bff/notices/facts.py) and each PLANNED notice is decided by ``bff.notices.policy.decide``, a
user's notices most important first, each decision seen by the next: SEND → QUEUED and the send
job ``send:<id>`` is enqueued; DEFER → SCHEDULED at the end of quiet hours (or at the user's best
hour, bff/notices/timing) with the send job deferred until then; SUPPRESS → SUPPRESSED with the reason.
Every status change is a conditional UPDATE from the status that was read. An enqueue lost after
the commit is recovered by the sender's sweeper (QUEUED rows without a job, due SCHEDULED rows).

A planning job that fails is retried (tasks/notices.py); the retry inserts nothing twice and
decides what the failed run left PLANNED. If it still fails (or its job is lost), the sweeper
decides PLANNED rows older than SWEEP_PLANNED_AFTER_S (``decide_leftovers``), and a re-delivery
of the event by the supply chain hands it over again (``reopen_for_redelivery``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time as monotonic_time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from arq.connections import ArqRedis
from tortoise import Tortoise

from bff import constants
from bff.catalog.templates_file import TemplatesFile, cached_templates_file
from bff.catalog.topics import NODE_ORDER, NODE_TITLES, Topic, node_phrase, node_topic, topic_info
from bff.models.notices import Notice, NoticeStatus
from bff.models.orders import Order, OrderException, SupplyChainEvent
from bff.notices import policy
from bff.notices.experiments.definitions import NO_EXPERIMENTS, ExperimentsFile, load_experiments_file
from bff.notices.facts import (
    DEFAULT_CHUNK,
    UNSENT_STATUSES,
    db_datetime,
    load_user_facts,
    notice_facts,
    template_topics,
)
from bff.notices.jobs import enqueue_sends
from bff.notices.policy import Decision, DecisionKind, NoticeFacts, UserFacts
from bff.notices.timing.planning import prepare_timing
from bff.notices.timing.send_time import SendTimeConfig, timed_topic
from bff.runtime.settings import Settings, get_settings
from bff.supply_chain import events as ev
from bff.supply_chain.parsing import reparse
from bff.supply_chain.sql import db_time, is_postgres, render

log = logging.getLogger("lvyue.notices.planner")

NODE_TTL = timedelta(days=3)
PAID_TTL = timedelta(days=1)
PRESALE_TTL = timedelta(days=3)
RECEIPT_TTL = timedelta(days=7)
# A planning job starts no new chunk of a scoped exception's orders after this long and hands the
# rest to a follow-up job: one chunk takes about a second, so the run ends well inside the job timeout.
PLAN_BUDGET_S = constants.JOB_TIMEOUT_S / 2
# Notices inserted and decided together (their users' facts are loaded in one go).
PLAN_CHUNK = DEFAULT_CHUNK
DEDUPE_KEY_MAX = 255  # Notice.dedupe_key
# Values for keywords a node event may leave empty (WeChat rejects empty values).
MISSING_CARRIER = "暂无"
MISSING_TRACKING_NO = "-"


# ---------------------------------------------------------------------------------- context


@functools.lru_cache(maxsize=8)
def _experiments(path: Path | None) -> ExperimentsFile:
    return load_experiments_file(path, cached_templates_file(path))


@dataclass(frozen=True)
class NoticeContext:
    """What planning needs besides the database: the templates file, the business time zone, and
    the arq pool to enqueue sends on (None: enqueue nothing; the sweeper picks the rows up).
    Best send time and experiments (bff/notices/timing, bff/notices/experiments): ``send_time`` and
    ``experiments`` (none unless given)."""

    templates: TemplatesFile
    zone: ZoneInfo
    arq: ArqRedis | None = None
    chunk: int = DEFAULT_CHUNK
    experiments: ExperimentsFile = NO_EXPERIMENTS
    send_time: SendTimeConfig = field(default_factory=SendTimeConfig)

    @classmethod
    def from_settings(cls, settings: Settings, arq: ArqRedis | None = None) -> NoticeContext:
        return cls(
            templates=cached_templates_file(settings.templates_file),
            zone=settings.zone,
            arq=arq,
            chunk=PLAN_CHUNK,
            experiments=_experiments(settings.templates_file),
            send_time=SendTimeConfig(fallback_hour=settings.send_time_fallback_hour),
        )


@dataclass
class PlanReport:
    created: int = 0  # notice rows inserted (0 on a replay)
    decided: Counter[str] = field(default_factory=Counter)  # "QUEUED", "SCHEDULED", "SUPPRESSED:<reason>"
    # A scoped exception was only partly walked (time budget): continue after this link id.
    resume_after: int | None = None

    def count(self, status: NoticeStatus, reason: str | None, n: int = 1) -> None:
        self.decided[
            f"{status}:{reason}" if reason and status is NoticeStatus.SUPPRESSED else str(status)
        ] += n


@dataclass(frozen=True)
class NoticeDraft:
    """A notice to plan (lifecycle scans build these too, with keys like ``user:<id>:<sku>:<cycle>``)."""

    user_id: int
    topic: Topic
    dedupe_key: str
    occurred_at: datetime
    expires_at: datetime | None
    values: Mapping[str, str]
    order_no: str | None = None
    node_rank: int | None = None


# ---------------------------------------------------------------------------------- formatting


def bounded_key(key: str) -> str:
    """The key itself, or (when longer than the column) its start and a digest of all of it:
    a presale stage or a lifecycle key may carry long free text."""
    if len(key) <= DEDUPE_KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: DEDUPE_KEY_MAX - len(digest) - 1]}#{digest}"


def format_time(moment: datetime, zone: ZoneInfo) -> str:
    """A time for `time` keywords, in the business time zone: 2026年11月20日 09:30."""
    return moment.astimezone(zone).strftime("%Y年%m月%d日 %H:%M")


def format_amount(amount: Decimal) -> str:
    return f"¥{amount:.2f}"


# ---------------------------------------------------------------------------------- entry points


async def plan_event(
    event_row_id: int,
    ctx: NoticeContext,
    *,
    order_id: int | None = None,
    after_link: int = 0,
    now: datetime | None = None,
    budget_s: float | None = None,
) -> PlanReport:
    """Plan and decide the notices of one stored supply-chain event (see the module docstring).

    ``order_id``: only that order (an exception that reached an order placed after it).
    ``after_link``: continue a scoped exception's walk after this link id.
    ``budget_s``: stop walking a scoped exception after this long (default PLAN_BUDGET_S) and
    report where to continue (``PlanReport.resume_after``).
    """
    now = now or datetime.now(UTC)
    report = PlanReport()
    row = await SupplyChainEvent.get_or_none(id=event_row_id)
    if row is None:
        log.warning("plan: supply-chain event row %s does not exist", event_row_id)
        return report
    if row.applied_at is None or not row.notify:
        return report  # waiting for its order, or nothing a user should hear about
    event = reparse(row.payload)

    if isinstance(event, ev.OrderException):
        budget = PLAN_BUDGET_S if budget_s is None else budget_s
        return await _plan_exception(event, ctx, report, now, order_id, after_link, budget)
    if isinstance(event, ev.OrderCancelled):
        stale = await Notice.filter(order_no=event.order_no, status__in=list(UNSENT_STATUSES))
        await decide_notices(stale, ctx, now=now, report=report)
        return report

    order_no = getattr(event, "order_no", None)
    order = await Order.get_or_none(order_no=order_no) if isinstance(order_no, str) else None
    if order is None:
        log.warning("plan: event %s names no known order", row.event_id)
        return report
    drafts = _order_event_drafts(event, order, ctx.zone)
    if isinstance(event, ev.OrderNode):
        # Older node notices not sent yet are stale now: decide them first, so the units they
        # were going to take count as free for the new ones.
        stale = await Notice.filter(
            order_no=order.order_no,
            node_rank__lt=NODE_ORDER.index(event.node),
            status__in=list(UNSENT_STATUSES),
        )
        await decide_notices(stale, ctx, now=now, report=report)
    elif isinstance(event, ev.PresaleProgress | ev.DeliverySlots):
        # Likewise an earlier progress (two stages deferred overnight would both go out in the
        # morning), or an offer this one replaces, not sent yet: the policy finds it SUPERSEDED now.
        topic = Topic.PRESALE_PROGRESS if isinstance(event, ev.PresaleProgress) else Topic.DELIVERY_SLOT
        stale = await Notice.filter(
            order_no=order.order_no,
            topic=str(topic),
            occurred_at__lt=event.occurred_at,
            status__in=list(UNSENT_STATUSES),
        )
        await decide_notices(stale, ctx, now=now, report=report)
    await plan_drafts(drafts, ctx, now=now, report=report)
    return report


async def plan_drafts(
    drafts: Sequence[NoticeDraft], ctx: NoticeContext, *, now: datetime, report: PlanReport | None = None
) -> PlanReport:
    """Insert the drafts (one row per dedupe key, ever) and decide the PLANNED ones, by chunks."""
    report = report if report is not None else PlanReport()
    for start in range(0, len(drafts), ctx.chunk):
        chunk = drafts[start : start + ctx.chunk]
        keys = await _insert(chunk, ctx.templates, now, report)
        if keys:
            planned = await Notice.filter(dedupe_key__in=keys, status=NoticeStatus.PLANNED)
            await decide_notices(planned, ctx, now=now, report=report)
    return report


async def decide_notices(
    notices: Sequence[Notice],
    ctx: NoticeContext,
    *,
    now: datetime,
    report: PlanReport | None = None,
    enqueue: bool = True,
) -> dict[int, Decision]:
    """Put unsent notices to the policy and apply the decisions (one chunk; see module docstring).

    PLANNED and SCHEDULED notices take any decision. A QUEUED notice (its send job is waiting)
    only leaves the queue when the policy suppresses it (stale, expired, switched off …).
    Returns the decision of every notice whose row was changed.
    """
    report = report if report is not None else PlanReport()
    notices = [n for n in notices if n.status in UNSENT_STATUSES]
    if not notices:
        return {}
    facts = await load_user_facts(
        {n.user_id for n in notices},
        now=now,
        zone=ctx.zone,
        order_nos={n.order_no for n in notices if n.order_no is not None},
    )
    # Best hour and experiment holdout of lifecycle and member notices (bff/notices/timing/planning.py).
    timing = await prepare_timing(
        notices, facts, experiments=ctx.experiments, config=ctx.send_time, zone=ctx.zone, now=now
    )
    pending = [
        _Pending(
            n.id,
            n.user_id,
            n.status,
            n.priority,
            n.occurred_at,
            timing.apply(n, notice_facts(n, ctx.templates)),
        )
        for n in notices
    ]
    return await _decide_and_apply(pending, facts, ctx, now=now, report=report, enqueue=enqueue)


@dataclass(frozen=True, slots=True)
class _Pending:
    """An unsent notice as deciding it needs it: read as a model, or as a plain row (fan-out)."""

    id: int
    user_id: int
    status: NoticeStatus
    priority: int
    occurred_at: datetime
    facts: NoticeFacts  # timing already applied


async def _decide_and_apply(
    pending: Sequence[_Pending],
    facts: Mapping[int, UserFacts],
    ctx: NoticeContext,
    *,
    now: datetime,
    report: PlanReport,
    enqueue: bool,
) -> dict[int, Decision]:
    """Decide a chunk (a user's notices most important first, each decision seen by the next),
    write the decisions grouped, and hand over the send jobs in one Redis round trip."""
    by_user: dict[int, list[_Pending]] = defaultdict(list)
    for p in pending:
        by_user[p.user_id].append(p)
    decided: dict[int, tuple[_Pending, Decision]] = {}
    for user_id, own in by_user.items():
        user = facts[user_id]
        # Most important first: a unit goes to the notice that matters most among those decided now.
        for p in sorted(own, key=lambda p: (-p.priority, p.occurred_at, p.id)):
            decision = policy.decide(p.facts, user, now)
            if p.status is NoticeStatus.QUEUED and decision.kind is not DecisionKind.SUPPRESS:
                continue  # stays queued
            user = user.after(p.facts, decision)
            decided[p.id] = (p, decision)

    changed = await _apply([(p.id, p.status, d) for p, d in decided.values()], now)
    for notice_id in changed:
        _, decision = decided[notice_id]
        report.count(_status_of(decision), decision.reason)
    if enqueue and ctx.arq is not None:
        sends = [
            (notice_id, decided[notice_id][1].until)
            for notice_id in changed
            if decided[notice_id][1].kind is not DecisionKind.SUPPRESS
        ]
        await enqueue_sends(ctx.arq, sends)
    return {notice_id: decided[notice_id][1] for notice_id in changed}


async def reconsider(notice: Notice, now: datetime) -> None:
    """Put a due SCHEDULED notice to the policy again, without enqueueing (the send job that
    calls this goes on by itself): QUEUED, SCHEDULED later, or SUPPRESSED with the reason."""
    await decide_notices([notice], NoticeContext.from_settings(get_settings()), now=now, enqueue=False)


async def decide_leftovers(
    arq: ArqRedis | None, *, now: datetime, older_than: timedelta, limit: int
) -> PlanReport:
    """Decide PLANNED notices left undecided for longer than ``older_than`` (their planning job
    failed after inserting them, or gave up), at most ``limit``, and queue their sends. Rows a
    running planning job is deciding meanwhile are safe: every status change is conditional."""
    report = PlanReport()
    ids = [
        int(row[0])
        for row in await Notice.filter(status=NoticeStatus.PLANNED, created_at__lte=now - older_than)
        .order_by("id")
        .limit(limit)
        .values_list("id")
    ]
    if not ids:
        return report
    ctx = NoticeContext.from_settings(get_settings(), arq)
    for start in range(0, len(ids), ctx.chunk):
        leftovers = await Notice.filter(id__in=ids[start : start + ctx.chunk], status=NoticeStatus.PLANNED)
        await decide_notices(leftovers, ctx, now=now, report=report)
    return report


async def reopen_for_redelivery(event_row_id: int) -> None:
    """A planning job gave up on the event: forget that it was handed over, so that the supply
    chain delivering the event again hands it over again (ingest re-plans stored events whose
    ``plan_enqueued_at`` is not set). What it left PLANNED is the sweeper's meanwhile."""
    await SupplyChainEvent.filter(id=event_row_id).update(plan_enqueued_at=None)


# ---------------------------------------------------------------------------------- writing


def _status_of(decision: Decision) -> NoticeStatus:
    return {
        DecisionKind.SEND: NoticeStatus.QUEUED,
        DecisionKind.DEFER: NoticeStatus.SCHEDULED,
        DecisionKind.SUPPRESS: NoticeStatus.SUPPRESSED,
    }[decision.kind]


async def _apply(decided: Iterable[tuple[int, NoticeStatus, Decision]], now: datetime) -> list[int]:
    """Write the decisions (notice id, status read, decision): one conditional UPDATE per
    (from status, decision) group.

    Returns the ids whose row this call changed (a row another worker moved meanwhile is left).
    """
    groups: dict[tuple[NoticeStatus, Decision], list[int]] = defaultdict(list)
    for notice_id, from_status, decision in decided:
        groups[(from_status, decision)].append(notice_id)
    changed: list[int] = []
    for (from_status, decision), ids in groups.items():
        target = _status_of(decision)
        changes: dict[str, Any] = {
            "status": target,
            "reason": str(decision.reason) if decision.reason is not None else None,
            "scheduled_for": decision.until.astimezone(UTC) if decision.until is not None else None,
            "updated_at": now,
        }
        updated = await Notice.filter(id__in=ids, status=from_status).update(**changes)
        if updated == len(ids):
            changed += ids
        else:
            # Another worker moved some rows meanwhile (a replayed event planned concurrently):
            # keep those now in the target status; enqueueing one twice is harmless (job ids).
            moved = await Notice.filter(id__in=ids, status=target).values_list("id")
            changed += [int(row[0]) for row in moved]
    return changed


async def _insert(
    drafts: Sequence[NoticeDraft], templates: TemplatesFile, now: datetime, report: PlanReport
) -> list[str]:
    """Insert rows for drafts whose topic a template carries; returns their dedupe keys."""
    rows: list[Notice] = []
    for draft in drafts:
        template = templates.for_topic(draft.topic)
        if template is None:
            continue  # no template carries the topic: it can never be sent
        rows.append(
            Notice(
                user_id=draft.user_id,
                order_no=draft.order_no,
                topic=str(draft.topic),
                template_id=template.template_id,
                dedupe_key=bounded_key(draft.dedupe_key),
                priority=topic_info(draft.topic).priority,
                status=NoticeStatus.PLANNED,
                values=dict(draft.values),
                node_rank=draft.node_rank,
                occurred_at=draft.occurred_at,
                expires_at=draft.expires_at,
                created_at=now,
                updated_at=now,
            )
        )
    if not rows:
        return []
    keys = [row.dedupe_key for row in rows]
    before = await Notice.filter(dedupe_key__in=keys).count()
    await Notice.bulk_create(rows, ignore_conflicts=True)
    report.created += await Notice.filter(dedupe_key__in=keys).count() - before
    return keys


# ---------------------------------------------------------------------------------- drafts


def _order_event_drafts(event: ev.SupplyChainEvent, order: Order, zone: ZoneInfo) -> list[NoticeDraft]:
    order_no = order.order_no
    user_id: int = order.user_id  # type: ignore[attr-defined]
    base = {"order_no": order_no, "amount": format_amount(order.total_amount)}

    def draft(
        topic: Topic,
        key: str,
        at: datetime,
        expires: datetime | None,
        values: Mapping[str, str],
        node_rank: int | None = None,
    ) -> NoticeDraft:
        return NoticeDraft(user_id, topic, key, at, expires, {**base, **values}, order_no, node_rank)

    if isinstance(event, ev.OrderPaid):
        at = event.paid_at
        values = {"progress": "支付成功", "occurred_at": format_time(at, zone)}
        return [draft(Topic.ORDER_PAID, f"order:{order_no}:{Topic.ORDER_PAID}", at, at + PAID_TTL, values)]

    if isinstance(event, ev.OrderNode):
        at = event.occurred_at
        title = NODE_TITLES[event.node]
        values = {
            "node_phrase": node_phrase(event.node),
            "node_title": title,
            "occurred_at": format_time(at, zone),
            "note": event.note.strip() or title,
            "location": event.location,
            "carrier": event.carrier or order.carrier or MISSING_CARRIER,
            "tracking_no": event.tracking_no or order.tracking_no or MISSING_TRACKING_NO,
        }
        eta = event.estimated_arrival or order.estimated_arrival
        if eta is not None:
            values["eta"] = format_time(eta, zone)
        rank = NODE_ORDER.index(event.node)
        drafts = [
            draft(
                node_topic(event.node), policy.node_key(order_no, event.node), at, at + NODE_TTL, values, rank
            )
        ]
        if event.node == "DELIVERED":
            drafts.append(
                draft(Topic.RECEIPT_CONFIRM, policy.receipt_key(order_no), at, at + RECEIPT_TTL, values)
            )
        return drafts

    if isinstance(event, ev.PresaleProgress):
        at = event.occurred_at
        values = {
            "stage": event.stage,
            "progress": f"{event.stage} 已完成{event.progress_percent}%",
            "occurred_at": format_time(at, zone),
        }
        key = f"presale:{order_no}:{event.stage}"
        return [draft(Topic.PRESALE_PROGRESS, key, at, at + PRESALE_TTL, values)]

    if isinstance(event, ev.DeliverySlots):
        default = next((s for s in event.slots if s.id == event.default_slot_id), event.slots[0])
        values = {
            "slot_label": default.label,
            "deadline": format_time(event.deadline, zone),
            "occurred_at": format_time(event.occurred_at, zone),
        }
        key = f"slot:{order_no}:{event.deadline.astimezone(UTC).isoformat()}"
        return [draft(Topic.DELIVERY_SLOT, key, event.occurred_at, event.deadline, values)]

    return []


async def _plan_exception(
    event: ev.OrderException,
    ctx: NoticeContext,
    report: PlanReport,
    now: datetime,
    order_id: int | None,
    after_link: int,
    budget_s: float,
) -> PlanReport:
    """One ORDER_EXCEPTION notice per undecided affected order, walked by keyset in chunks."""
    exception = await OrderException.get_or_none(exception_id=event.exception_id)
    if exception is None:
        log.warning("plan: exception %s is not stored", event.exception_id)
        return report
    default = next((o["label"] for o in exception.options if o.get("code") == exception.default_option), None)
    values = {
        "exception_reason": exception.reason,
        "option_summary": default or exception.default_option,
        "deadline": format_time(exception.deadline, ctx.zone),
        "occurred_at": format_time(exception.occurred_at, ctx.zone),
    }
    template = ctx.templates.for_topic(Topic.ORDER_EXCEPTION)
    fanout = _ExceptionFanout(exception.id, exception.exception_id, order_id)
    started = monotonic_time.monotonic()
    after = after_link
    while True:
        page = await fanout.page(after, ctx.chunk)
        if not page:
            return report
        last = page[-1]
        if template is not None:  # else no template carries the topic: it can never be sent
            report.created += await fanout.insert(
                after, last, template.template_id, exception, values, ctx.zone, now
            )
            if timed_topic(Topic.ORDER_EXCEPTION):  # order topics never are; kept exact if that changes
                planned = await Notice.filter(id__in=await fanout.planned_ids(after, last))
                await decide_notices(planned, ctx, now=now, report=report)
            else:
                await _decide_fanout_chunk(await fanout.planned(after, last), page, ctx, now, report)
        after = last
        if len(page) < ctx.chunk:
            return report
        if monotonic_time.monotonic() - started > budget_s:
            report.resume_after = after
            return report


async def _decide_fanout_chunk(
    rows: Sequence[tuple[Any, ...]],
    page: Sequence[int],
    ctx: NoticeContext,
    now: datetime,
    report: PlanReport,
) -> None:
    """Decide the PLANNED notices of one page of a scoped exception, read as plain rows (no models)."""
    if not rows:
        return
    topics: dict[tuple[str, str], frozenset[Topic]] = {}
    pending: list[_Pending] = []
    for row in rows:
        notice_id, user_id, status, priority, occurred, expires, key, template_id, order_no, rank, name = row
        topic = Topic(name)
        shared = topics.get((template_id, topic))
        if shared is None:
            shared = topics[(template_id, topic)] = template_topics(ctx.templates, template_id, topic)
        occurred_at = db_datetime(occurred)
        facts = NoticeFacts(
            key=key,
            topic=topic,
            template_id=template_id,
            template_topics=shared,
            occurred_at=occurred_at,
            expires_at=db_datetime(expires) if expires is not None else None,
            order_no=order_no,
            node_rank=rank,
            priority=int(priority),
        )
        pending.append(
            _Pending(int(notice_id), int(user_id), NoticeStatus(status), int(priority), occurred_at, facts)
        )
    facts_by_user = await load_user_facts(
        {p.user_id for p in pending},
        now=now,
        zone=ctx.zone,
        order_nos={p.facts.order_no for p in pending if p.facts.order_no is not None},
        weekly=any(topic_info(p.facts.topic).weekly_limited for p in pending),
    )
    await _decide_and_apply(pending, facts_by_user, ctx, now=now, report=report, enqueue=True)


@dataclass(frozen=True)
class _ExceptionFanout:
    """The set-based statements of a scoped exception's planning, one page of links at a time.

    A page is the undecided links after a link id (keyset), ``chunk`` of them; the notices of a
    page are written with one INSERT … SELECT … ON CONFLICT (dedupe_key) DO NOTHING and read back
    (the PLANNED ones) with one SELECT. The dedupe key ``exception:<exceptionId>:<order no>`` is at
    most 10 + 64 + 1 + 64 characters, within the column, so ``bounded_key`` never changes it.
    """

    exception_pk: int
    exception_id: str
    order_id: int | None

    @property
    def key_prefix(self) -> str:
        return policy.exception_key(self.exception_id, "")

    def _links(self, after: int, last: int | None) -> tuple[str, list[Any]]:
        """The WHERE clause of the page's undecided links (``last``: the page's last link id)."""
        sql = "l.exception_id = ? AND l.id > ? AND l.chosen_option IS NULL"
        values: list[Any] = [self.exception_pk, after]
        if last is not None:
            sql += " AND l.id <= ?"
            values.append(last)
        if self.order_id is not None:
            sql += " AND l.order_id = ?"
            values.append(self.order_id)
        return sql, values

    async def page(self, after: int, chunk: int) -> list[int]:
        """The link ids of the next page."""
        conn = Tortoise.get_connection("default")
        where, values = self._links(after, None)
        _, rows = await conn.execute_query(
            render(conn, f"SELECT l.id FROM order_exception_links l WHERE {where} ORDER BY l.id LIMIT ?"),
            [*values, chunk],
        )
        return [int(row[0]) for row in rows]

    async def insert(
        self,
        after: int,
        last: int,
        template_id: str,
        exception: OrderException,
        values: Mapping[str, str],
        zone: ZoneInfo,
        now: datetime,
    ) -> int:
        """One notice per undecided order of the page (none twice, ever); returns how many are new."""
        conn = Tortoise.get_connection("default")
        pg = is_postgres(conn)

        def typed(pg_type: str) -> str:
            return f"CAST(? AS {pg_type})" if pg else "?"

        payload = (
            f"{typed('jsonb')} || jsonb_build_object('order_no', o.order_no)"
            if pg
            else "json_set(?, '$.order_no', o.order_no)"
        )
        where, link_values = self._links(after, last)
        sql = (
            "INSERT INTO notices (user_id, order_no, topic, template_id, dedupe_key, priority, status, "
            '"values", occurred_at, expires_at, unit_reserved, attempts, created_at, updated_at) '
            f"SELECT o.user_id, o.order_no, {typed('text')}, {typed('text')}, "
            f"{typed('text')} || o.order_no, {typed('integer')}, {typed('text')}, {payload}, "
            f"{typed('timestamptz')}, {typed('timestamptz')}, {typed('boolean')}, 0, "
            f"{typed('timestamptz')}, {typed('timestamptz')} "
            "FROM order_exception_links l JOIN orders o ON o.id = l.order_id "
            f"WHERE {where} ORDER BY l.id "
            "ON CONFLICT (dedupe_key) DO NOTHING"
        )
        params: list[Any] = [
            str(Topic.ORDER_EXCEPTION),
            template_id,
            self.key_prefix,
            topic_info(Topic.ORDER_EXCEPTION).priority,
            str(NoticeStatus.PLANNED),
            json.dumps(dict(values), ensure_ascii=False),
            db_time(exception.occurred_at),
            db_time(exception.deadline),
            False,
            db_time(now),
            db_time(now),
            *link_values,
        ]
        if pg:
            # asyncpg's status line "INSERT 0 <n>" is misread by tortoise as 0 rows; count the RETURNING.
            rows = await conn.execute_query_dict(
                render(conn, f"WITH added AS ({sql} RETURNING 1) SELECT count(*) AS n FROM added"), params
            )
            return int(rows[0]["n"])
        added, _ = await conn.execute_query(sql, params)
        return int(added)

    def _planned_sql(self, columns: str, after: int, last: int) -> tuple[str, list[Any]]:
        where, values = self._links(after, last)
        sql = (
            f"SELECT {columns} FROM order_exception_links l JOIN orders o ON o.id = l.order_id "
            "JOIN notices n ON n.dedupe_key = CAST(? AS text) || o.order_no "
            f"WHERE {where} AND n.status = ? ORDER BY n.id"
        )
        return sql, [self.key_prefix, *values, str(NoticeStatus.PLANNED)]

    async def planned(self, after: int, last: int) -> list[tuple[Any, ...]]:
        """The page's PLANNED notices (new ones, and any a failed run left), as plain rows."""
        conn = Tortoise.get_connection("default")
        sql, values = self._planned_sql(
            "n.id, n.user_id, n.status, n.priority, n.occurred_at, n.expires_at, n.dedupe_key, "
            "n.template_id, n.order_no, n.node_rank, n.topic",
            after,
            last,
        )
        _, rows = await conn.execute_query(render(conn, sql), values)
        return [tuple(row) for row in rows]

    async def planned_ids(self, after: int, last: int) -> list[int]:
        conn = Tortoise.get_connection("default")
        sql, values = self._planned_sql("n.id", after, last)
        _, rows = await conn.execute_query(render(conn, sql), values)
        return [int(row[0]) for row in rows]
