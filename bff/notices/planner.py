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
hour, bff/engagement) with the send job deferred until then; SUPPRESS → SUPPRESSED with the reason.
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

from bff import constants
from bff.catalog.templates_file import TemplatesFile, cached_templates_file
from bff.catalog.topics import NODE_ORDER, NODE_TITLES, Topic, node_phrase, node_topic, topic_info
from bff.engagement.planning import prepare_timing
from bff.engagement.send_time import SendTimeConfig
from bff.experiments.definitions import NO_EXPERIMENTS, ExperimentsFile, load_experiments_file
from bff.models.notices import Notice, NoticeStatus
from bff.models.orders import Order, OrderException, OrderExceptionLink, SupplyChainEvent
from bff.notices import policy
from bff.notices.facts import DEFAULT_CHUNK, UNSENT_STATUSES, load_user_facts, notice_facts
from bff.notices.policy import Decision, DecisionKind
from bff.runtime.settings import Settings, get_settings
from bff.supply_chain import events as ev
from bff.supply_chain.parsing import reparse

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
    Best send time and experiments (bff/engagement, bff/experiments): ``send_time`` and
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
    by_user: dict[int, list[Notice]] = defaultdict(list)
    for notice in notices:
        by_user[notice.user_id].append(notice)
    # Best hour and experiment holdout of lifecycle and member notices (bff/engagement/planning.py).
    timing = await prepare_timing(
        notices, facts, experiments=ctx.experiments, config=ctx.send_time, zone=ctx.zone, now=now
    )

    decided: dict[int, tuple[Notice, Decision]] = {}
    for user_id, own in by_user.items():
        user = facts[user_id]
        # Most important first: a unit goes to the notice that matters most among those decided now.
        for notice in sorted(own, key=lambda n: (-n.priority, n.occurred_at, n.id)):
            n = timing.apply(notice, notice_facts(notice, ctx.templates))
            decision = policy.decide(n, user, now)
            if notice.status is NoticeStatus.QUEUED and decision.kind is not DecisionKind.SUPPRESS:
                continue  # stays queued
            user = user.after(n, decision)
            decided[notice.id] = (notice, decision)

    changed = await _apply(decided.values(), now)
    for notice_id in changed:
        notice, decision = decided[notice_id]
        report.count(_status_of(decision), decision.reason)
    if enqueue and ctx.arq is not None:
        for notice_id in changed:
            _, decision = decided[notice_id]
            if decision.kind is not DecisionKind.SUPPRESS:
                await enqueue_send(ctx.arq, notice_id, defer_until=decision.until)
    return {notice_id: decided[notice_id][1] for notice_id in changed}


async def reconsider(notice: Notice, now: datetime) -> None:
    """Put a due SCHEDULED notice to the policy again, without enqueueing (the send job that
    calls this goes on by itself): QUEUED, SCHEDULED later, or SUPPRESSED with the reason."""
    await decide_notices([notice], NoticeContext.from_settings(get_settings()), now=now, enqueue=False)


async def withdrawal_before_send(notice: Notice, now: datetime) -> str | None:
    """Asked by the sender right before it reserves a unit: why the notice is no longer wanted
    (``policy.withdrawal`` on facts loaded now), or None to go on. A decision may be hours old
    (quiet hours, a retry's backoff); the facts it was taken on may not hold any more."""
    templates = NoticeContext.from_settings(get_settings()).templates
    facts = await load_user_facts(
        [notice.user_id],
        now=now,
        zone=get_settings().zone,
        order_nos=[notice.order_no] if notice.order_no is not None else [],
        withdrawal_only=True,
    )
    reason = policy.withdrawal(notice_facts(notice, templates), facts[notice.user_id], now)
    return str(reason) if reason is not None else None


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


async def enqueue_send(arq: ArqRedis, notice_id: int, *, defer_until: datetime | None = None) -> bool:
    """Queue the send job ``send:<id>`` (bff.notices.sender.enqueue_send); False if it exists already.

    A ``defer_until`` already past (planning caught up late) queues the job for now.
    """
    from bff.notices import sender  # sender looks the planner up lazily too; no import cycle

    if defer_until is not None and defer_until <= datetime.now(UTC):
        defer_until = None
    return await sender.enqueue_send(arq, notice_id, defer_until=defer_until)


# ---------------------------------------------------------------------------------- writing


def _status_of(decision: Decision) -> NoticeStatus:
    return {
        DecisionKind.SEND: NoticeStatus.QUEUED,
        DecisionKind.DEFER: NoticeStatus.SCHEDULED,
        DecisionKind.SUPPRESS: NoticeStatus.SUPPRESSED,
    }[decision.kind]


async def _apply(decided: Iterable[tuple[Notice, Decision]], now: datetime) -> list[int]:
    """Write the decisions: one conditional UPDATE per (from status, decision) group.

    Returns the ids whose row this call changed (a row another worker moved meanwhile is left).
    """
    groups: dict[tuple[NoticeStatus, Decision], list[int]] = defaultdict(list)
    for notice, decision in decided:
        groups[(notice.status, decision)].append(notice.id)
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
    started = monotonic_time.monotonic()
    after = after_link
    while True:
        query = OrderExceptionLink.filter(exception_id=exception.id, id__gt=after, chosen_option__isnull=True)
        if order_id is not None:
            query = query.filter(order_id=order_id)
        links = (
            await query.order_by("id").limit(ctx.chunk).values_list("id", "order__order_no", "order__user_id")
        )
        if not links:
            return report
        drafts = [
            NoticeDraft(
                user_id=int(user_id),
                topic=Topic.ORDER_EXCEPTION,
                dedupe_key=policy.exception_key(exception.exception_id, str(order_no)),
                occurred_at=exception.occurred_at,
                expires_at=exception.deadline,
                values={"order_no": str(order_no), **values},
                order_no=str(order_no),
            )
            for _, order_no, user_id in links
        ]
        await plan_drafts(drafts, ctx, now=now, report=report)
        after = int(links[-1][0])
        if len(links) < ctx.chunk:
            return report
        if monotonic_time.monotonic() - started > budget_s:
            report.resume_after = after
            return report
