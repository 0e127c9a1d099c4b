"""Send one notice: the only code that calls subscribeMessage.send (design.md, "Never twice").

One run of ``NoticeSender.send(notice_id)`` (the arq job ``send:<notice id>``):

1. A SCHEDULED notice whose time has come is put to the policy again (``reconsider``, the planner's
   re-decision); anything but QUEUED afterwards ends the run.
2. The per-openid lock (bff/notices/locks.py) is taken; when another send to the same user holds
   it, the run ends with ``retry_in`` a short jittered wait and the notice untouched (QUEUED).
3. Claim: ONE conditional UPDATE ``QUEUED → SENDING`` (``attempts + 1``). Zero rows: another
   worker has it, or it is settled; the run ends. Only the claimer goes on.
4. Expired → SUPPRESSED (EXPIRED). A stopped template or a user whose openid WeChat called
   invalid → SUPPRESSED (TEMPLATE_STOPPED / OPENID_INVALID, bff/notices/stops.py). Then the
   ``checks`` of other domains (a lifecycle reminder the user answered meanwhile, an offer the
   user no longer has …) → SUPPRESSED with their reason (STALE_*, OFFER_ENDED …). Keywords
   rendered from the templates file, the page with the notice's open token; shortened and
   validated (``prepare_data``) → FAILED (DATA_BUG) if refused.
5. The policy is asked again on fresh facts (``withdrawal``, bff/notices/withdrawal.py): a notice
   no longer wanted (receipt confirmed, switch turned off …) → SUPPRESSED with the policy's reason.
   One consent unit is reserved and the notice marked as holding it, in one transaction; none
   left → SUPPRESSED (NO_UNITS).
6. WeChat is called. ``call_started_at`` is committed by the client's ``before_send`` hook, once
   the access token is at hand and right before the send request is written: a failed token fetch
   or a job cancelled while waiting for another process's token refresh sent nothing, so the
   notice is retried with its unit given back, never treated as outcome-unknown. The answer
   decides (by the client error's ``action``, wechat-platform.md §11):

   ========================== =======================================================================
   OK                         SENT, msgid, sent_at; the unit stays spent
   RETRY / TRANSPORT / UNKNOWN unit given back, QUEUED, ``retry_in`` = backoff with jitter (floor
                              from the errcode); after ``max_attempts`` calls FAILED (RETRIES_EXHAUSTED)
   QUOTA_EXHAUSTED (43101)    units of (user, template) voided, FAILED (QUOTA_EXHAUSTED)
   DEFER_TOMORROW (45009)     unit given back, SCHEDULED for the next day 00:10 (business time)
   OUTCOME_UNKNOWN            stays SENDING with ``outcome_unknown_at``; the unit stays reserved; never
                              resent (bff/notices/delivery.py settles it)
   anything else              unit given back, FAILED with the action as reason, errcode and errmsg
   ========================== =======================================================================

   Then the §11 side action (bff/notices/stops.py ``after_refusal``): a TEMPLATE_BUG stops the
   template and alerts operators, 40003 flags the user, 45009 and credential failures alert.

Every state change is a conditional UPDATE on the notice row (bff/notices/settlement.py), so a
sweeper and a late worker can never both give a unit back or both settle a notice. The claimer's
updates also require ``attempts`` to be the value its claim set: ``attempts`` is a fencing token,
so a worker that lost its claim (the sweeper re-queued the notice and another worker claimed it)
can change nothing, least of all start a second call.

The hooks that belong to the planner or to other domains (``SendHooks``: the re-decision, the
withdrawal, other domains' checks, what happens after a send, an experiment variant's wording)
are given by whoever builds the sender (tasks/notices.py for the worker), so this module imports
neither the planner nor the domains above the notices.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import httpx
from redis.asyncio import Redis
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from bff import constants
from bff.catalog.templates_file import TemplateConfig, TemplatesFile, cached_templates_file
from bff.catalog.templates_render import render_data, render_page
from bff.consent import ledger as consent_ledger
from bff.models.notices import Notice, NoticeStatus
from bff.models.users import User
from bff.notices import send_rows, stops
from bff.notices.locks import LockWait, OpenidLock, RedisOpenidLock
from bff.notices.open_tokens import issue_open_token
from bff.notices.settlement import ASSUMED_SENT, OUTCOME_UNKNOWN, RECONCILED, UnitLedger, settle_sending
from bff.runtime.backoff import RetryPolicy
from bff.runtime.logsafe import mask
from bff.runtime.settings import Settings
from bff.wechat.client import wechat_client_for
from bff.wechat.errors import Action, WeChatAPIError, WeChatTransportError
from bff.wechat.keywords import KeywordError, prepare_data

__all__ = [
    "SEND_RETRY",
    "AfterSent",
    "NoticeSender",
    "PreSendCheck",
    "Reconsider",
    "SendClient",
    "SendHooks",
    "SendOutcome",
    "VariantOf",
    "Withdrawal",
    "next_day_at",
    "sender_for",
]

log = logging.getLogger("lvyue.notices.sender")

# Reasons kept on the notice (stable UPPER_SNAKE strings).
EXPIRED = "EXPIRED"
NO_UNITS = "NO_UNITS"
DATA_BUG = "DATA_BUG"
TEMPLATE_NOT_CONFIGURED = "TEMPLATE_NOT_CONFIGURED"
RETRIES_EXHAUSTED = "RETRIES_EXHAUSTED"
QUOTA_EXHAUSTED = "QUOTA_EXHAUSTED"
DEFERRED_DAILY_LIMIT = "DEFERRED_DAILY_LIMIT"

_RETRYABLE = frozenset({Action.RETRY, Action.TRANSPORT, Action.UNKNOWN})
_DETAIL_MAX = 1000


def utcnow() -> datetime:
    return datetime.now(UTC)


def next_day_at(now: datetime, zone: ZoneInfo, at: str = constants.SEND_DEFER_TOMORROW_AT) -> datetime:
    """``at`` (HH:MM) on the day after ``now`` in ``zone``, as a UTC datetime."""
    hour, minute = (int(part) for part in at.split(":"))
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(hour, minute), tzinfo=zone).astimezone(UTC)


# --- the two collaborators, behind small interfaces ---------------------------------------------


class SendResultLike(Protocol):
    @property
    def msgid(self) -> str | None: ...


class SendClient(Protocol):
    """What the sender needs of bff.wechat.client.WeChatClient."""

    async def send_subscribe_message(
        self,
        *,
        openid: str,
        template_id: str,
        data: Mapping[str, str],
        page: str | None,
        miniprogram_state: str,
        lang: str = "zh_CN",
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> SendResultLike: ...


# Puts a due SCHEDULED notice to the policy again; leaves it QUEUED, SCHEDULED (later) or SUPPRESSED.
Reconsider = Callable[[Notice, datetime], Awaitable[None]]


# Asks the policy, on fresh facts, whether a claimed notice is still wanted: its reason if not.
Withdrawal = Callable[[Notice, datetime], Awaitable[str | None]]

# Another domain's check of a claimed notice at ``now`` (a lifecycle reminder answered meanwhile, an
# offer ended …): the reason to suppress it, or None to go on.
PreSendCheck = Callable[[Notice, datetime], Awaitable[str | None]]

# What another domain records once a notice went out (a replenishment reminder is REMINDED …).
AfterSent = Callable[[Notice, datetime], Awaitable[None]]

# The template as the notice's experiment variant words it (the template itself without one).
VariantOf = Callable[[TemplateConfig, Mapping[str, str]], TemplateConfig]


def _as_configured(template: TemplateConfig, values: Mapping[str, str]) -> TemplateConfig:
    return template


@dataclass(frozen=True)
class SendHooks:
    """What the sender asks of the planner and of the domains above the notices, in send order:
    ``reconsider`` a due SCHEDULED notice, run the ``checks`` after the stop list, word the
    template with ``variant_of``, ask ``withdrawal`` before a unit is reserved, tell ``after_sent``."""

    reconsider: Reconsider
    withdrawal: Withdrawal
    checks: Sequence[PreSendCheck] = ()
    after_sent: Sequence[AfterSent] = ()
    variant_of: VariantOf = _as_configured


# --- results ------------------------------------------------------------------------------------


SEND_RETRY = RetryPolicy(
    max_attempts=constants.SEND_MAX_ATTEMPTS,
    base_s=constants.SEND_BACKOFF_BASE_S,
    cap_s=constants.SEND_BACKOFF_CAP_S,
)


@dataclass(frozen=True)
class SendOutcome:
    """What one run did. ``status`` is the notice's status after the run (None: the notice is not
    this run's — missing, or claimed by another worker); ``retry_in`` asks the job to run again."""

    status: NoticeStatus | None
    reason: str | None = None
    retry_in: float | None = None
    msgid: str | None = None
    claimed: bool = False  # this run claimed the notice: ``status`` is its doing (metrics count it)

    def describe(self) -> str:
        parts = [self.status.value if self.status else "-"]
        if self.reason:
            parts.append(self.reason)
        if self.retry_in is not None:
            parts.append(f"retry in {self.retry_in:.1f}s")
        return " ".join(parts)


class _ClaimLost(Exception):
    """The notice left SENDING under us (a sweeper settled it); stop without touching it."""


@dataclass
class _Claim:
    id: int
    user_id: int
    template_id: str
    attempts: int
    reserved_at: datetime | None = None
    call_started_at: datetime | None = None
    pg: BaseDBAsyncClient | None = None  # PostgreSQL: the row changes of bff/notices/send_rows.py


# --- the sender ---------------------------------------------------------------------------------


class NoticeSender:
    def __init__(
        self,
        *,
        redis: Redis,
        client: SendClient,
        templates: TemplatesFile,
        secret: str,
        miniprogram_state: str,
        zone: ZoneInfo,
        ledger: UnitLedger = consent_ledger,
        hooks: SendHooks,
        retry: RetryPolicy = SEND_RETRY,
        lock_wait: LockWait | None = None,
        lock: OpenidLock | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.redis = redis
        self.client = client
        self.templates = templates
        self.secret = secret
        self.miniprogram_state = miniprogram_state
        self.zone = zone
        self.ledger = ledger
        self.retry = retry
        self.lock_wait = lock_wait or LockWait()
        self.hooks = hooks
        self.lock = lock or RedisOpenidLock(redis)
        self.clock = clock
        # The ledger's reservation is folded into one statement with the notice's mark on
        # PostgreSQL (bff/notices/send_rows.py) only when it is the ledger itself.
        self._ledger_is_ours = ledger is consent_ledger

    async def send(self, notice_id: int) -> SendOutcome:
        conn = send_rows.connection()
        pg = send_rows.on_postgres(conn)
        openid: str | None
        if pg:
            loaded = await send_rows.load(conn, notice_id)
            if loaded is None:
                return SendOutcome(None, "MISSING")
            notice, openid = loaded
        else:
            found = await Notice.get_or_none(id=notice_id)
            if found is None:
                return SendOutcome(None, "MISSING")
            notice, openid = found, None
        if notice.status is NoticeStatus.SCHEDULED:
            ready = await self._ready_after_schedule(notice)
            if ready is not None:
                return ready
        elif notice.status is not NoticeStatus.QUEUED:
            return SendOutcome(notice.status, notice.reason)

        if not pg:
            found_openid = await User.filter(id=notice.user_id).first().values_list("openid", flat=True)
            openid = str(found_openid) if found_openid else None
        if not openid:
            return SendOutcome(notice.status, "NO_USER")
        openid = str(openid)
        lock = await self.lock.acquire(openid, self.lock_wait.ttl_s)
        if lock is None:
            return SendOutcome(NoticeStatus.QUEUED, "OPENID_BUSY", retry_in=self.lock_wait.retry_in())
        try:
            return await self._send_locked(notice_id, openid, conn if pg else None)
        finally:
            await asyncio.shield(self.lock.release(openid, lock))

    async def _ready_after_schedule(self, notice: Notice) -> SendOutcome | None:
        """None when the SCHEDULED notice is now QUEUED; otherwise the outcome of this run."""
        now = self.clock()
        if notice.scheduled_for is not None and notice.scheduled_for > now:
            return SendOutcome(
                NoticeStatus.SCHEDULED, notice.reason, retry_in=(notice.scheduled_for - now).total_seconds()
            )
        await self.hooks.reconsider(notice, now)
        await notice.refresh_from_db()
        if notice.status is NoticeStatus.QUEUED:
            return None
        if notice.status is NoticeStatus.SCHEDULED and notice.scheduled_for is not None:
            wait = max(0.0, (notice.scheduled_for - self.clock()).total_seconds())
            return SendOutcome(NoticeStatus.SCHEDULED, notice.reason, retry_in=wait)
        return SendOutcome(notice.status, notice.reason)

    async def _send_locked(self, notice_id: int, openid: str, pg: BaseDBAsyncClient | None) -> SendOutcome:
        now = self.clock()
        stop_list: send_rows.Claimed | None = None
        if pg is not None:
            stop_list = await send_rows.claim(pg, notice_id, now)
            if stop_list is None:
                return SendOutcome(None, "NOT_CLAIMED")
            notice = stop_list.notice
        else:
            claimed = await Notice.filter(id=notice_id, status=NoticeStatus.QUEUED).update(
                status=NoticeStatus.SENDING,
                sending_since=now,
                attempts=F("attempts") + 1,
                call_started_at=None,
                outcome_unknown_at=None,
                updated_at=now,
            )
            if not claimed:
                return SendOutcome(None, "NOT_CLAIMED")
            notice = await Notice.get(id=notice_id)
        claim = _Claim(notice.id, notice.user_id, notice.template_id, notice.attempts, pg=pg)
        try:
            return replace(await self._send_claimed(notice, claim, openid, stop_list), claimed=True)
        except _ClaimLost:
            log.warning("notice %d was settled by someone else while this worker sent it", notice_id)
            return SendOutcome(None, "CLAIM_LOST")
        except asyncio.CancelledError:
            # Job timeout or worker shutdown: leave the row as the sweeper expects it, then stop.
            await asyncio.shield(self._after_cancel(claim))
            raise

    async def _after_cancel(self, claim: _Claim) -> None:
        try:
            if claim.call_started_at is None:
                await self._settle(
                    claim, NoticeStatus.QUEUED, give_back=True, reason=None, call_started_at=None
                )
            else:
                await self._settle(
                    claim,
                    NoticeStatus.SENDING,
                    give_back=False,
                    reason=OUTCOME_UNKNOWN,
                    outcome_unknown_at=self.clock(),
                )
        except Exception:  # the sweeper settles it later
            log.exception("could not settle notice %d after cancellation", claim.id)

    async def _send_claimed(
        self, notice: Notice, claim: _Claim, openid: str, stop_list: send_rows.Claimed | None
    ) -> SendOutcome:
        now = self.clock()
        if notice.expires_at is not None and notice.expires_at <= now:
            return await self._settle(claim, NoticeStatus.SUPPRESSED, give_back=True, reason=EXPIRED)
        if stop_list is not None:  # read by the claim itself
            blocked = await stops.blocker_of(claim.template_id, stop_list.stopped_id, stop_list.flagged_at)
        else:
            blocked = await stops.send_blocker(claim.user_id, claim.template_id)
        if blocked is not None:
            reason, why = blocked
            return await self._settle(
                claim, NoticeStatus.SUPPRESSED, give_back=True, reason=reason, detail=why
            )
        for check in self.hooks.checks:
            stale = await check(notice, now)
            if stale is not None:
                return await self._settle(claim, NoticeStatus.SUPPRESSED, give_back=True, reason=str(stale))

        template = self.templates.by_id(notice.template_id)
        if template is None:
            return await self._settle(
                claim,
                NoticeStatus.FAILED,
                give_back=True,
                reason=TEMPLATE_NOT_CONFIGURED,
                detail=f"template {notice.template_id} is not in the templates file",
            )
        template = self.hooks.variant_of(template, notice.values)  # an experiment variant's wording and page
        values = {**notice.values, "open_token": issue_open_token(self.secret, notice.id)}
        try:
            data = prepare_data(template.rules(), render_data(template, values))
            page = render_page(template, values)
        except (KeyError, KeywordError) as exc:
            detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return await self._settle(
                claim, NoticeStatus.FAILED, give_back=True, reason=DATA_BUG, detail=detail
            )

        withdrawn = await self.hooks.withdrawal(notice, now)
        if withdrawn is not None:
            return await self._settle(claim, NoticeStatus.SUPPRESSED, give_back=True, reason=withdrawn)
        if not await self._reserve(claim):
            return await self._settle(claim, NoticeStatus.SUPPRESSED, give_back=False, reason=NO_UNITS)

        async def call_starts() -> None:
            # Committed before the send request is written, and only then (not before the token
            # fetch): from here on WeChat may have sent the card.
            if claim.call_started_at is not None:
                return  # the one retry after a token refresh
            claim.call_started_at = self.clock()
            if claim.pg is not None:
                started = await send_rows.call_started(
                    claim.pg, claim.id, claim.attempts, claim.call_started_at
                )
            else:
                moved = await Notice.filter(
                    id=claim.id, status=NoticeStatus.SENDING, attempts=claim.attempts, call_started_at=None
                ).update(call_started_at=claim.call_started_at, updated_at=claim.call_started_at)
                started = moved == 1
            if not started:
                raise _ClaimLost

        try:
            result = await self.client.send_subscribe_message(
                openid=openid,
                template_id=notice.template_id,
                data=data,
                page=page,
                miniprogram_state=self.miniprogram_state,
                before_send=call_starts,
            )
        except (WeChatAPIError, WeChatTransportError) as exc:
            return await self._call_failed(claim, exc, openid)
        except ValueError as exc:
            # Raised by the client before any request (a bad openid or state): nothing reached WeChat.
            return await self._settle(
                claim, NoticeStatus.FAILED, give_back=True, reason=DATA_BUG, detail=str(exc)
            )
        outcome = await self._sent(claim, result.msgid)
        for after_sent in self.hooks.after_sent:
            await after_sent(notice, self.clock())
        return outcome

    async def _reserve(self, claim: _Claim) -> bool:
        reserved_at = self.clock()
        if claim.pg is not None and self._ledger_is_ours:
            fenced, reserved = await send_rows.reserve(
                claim.pg, claim.id, claim.attempts, claim.user_id, claim.template_id, reserved_at
            )
            if not fenced:
                raise _ClaimLost
            if reserved:
                claim.reserved_at = reserved_at
            return reserved
        async with in_transaction():
            if not await self.ledger.reserve_unit(claim.user_id, claim.template_id):
                return False
            marked = await Notice.filter(
                id=claim.id, status=NoticeStatus.SENDING, attempts=claim.attempts
            ).update(unit_reserved=True, unit_reserved_at=reserved_at, updated_at=reserved_at)
            if not marked:
                raise _ClaimLost  # rolls the reservation back
        claim.reserved_at = reserved_at
        return True

    async def _settle(
        self, claim: _Claim, status: NoticeStatus, *, give_back: bool, reason: str | None, **changes: Any
    ) -> SendOutcome:
        now = self.clock()
        fields: dict[str, Any] = {"status": status, "reason": reason, "updated_at": now, **changes}
        if "detail" in fields and isinstance(fields["detail"], str):
            fields["detail"] = fields["detail"][:_DETAIL_MAX]
        fence = {"attempts": claim.attempts}
        if not await settle_sending(
            claim.id, fields, give_back=give_back, ledger=self.ledger, extra_filters=fence
        ):
            raise _ClaimLost
        return SendOutcome(status, reason)

    async def _sent(self, claim: _Claim, msgid: str | None) -> SendOutcome:
        now = self.clock()
        if claim.pg is not None:
            # One statement: SENT, and the wrong guess below undone when this run moved it.
            if await send_rows.sent(
                claim.pg,
                claim.id,
                claim.attempts,
                claim.user_id,
                msgid,
                now,
                wrong_guess=ASSUMED_SENT,
                guessed=RECONCILED,
            ):
                return SendOutcome(NoticeStatus.SENT, None, msgid=msgid)
            moved = 0
        else:
            moved = await Notice.filter(
                id=claim.id, status=NoticeStatus.SENDING, attempts=claim.attempts
            ).update(
                status=NoticeStatus.SENT,
                msgid=msgid,
                sent_at=now,
                reason=None,
                detail=None,
                errcode=None,
                outcome_unknown_at=None,
                updated_at=now,
            )
        if not moved:
            # A subscribe_msg_sent_event got here first (bff/notices/delivery.py) and settled it;
            # the send's own answer is authoritative for the msgid.
            current = await Notice.get(id=claim.id)
            if current.status is not NoticeStatus.SENT:
                log.error("notice %d was sent (msgid %s) but is %s", claim.id, msgid, current.status)
                raise _ClaimLost
            if msgid and current.msgid != msgid:
                log.warning(
                    "notice %d: sent event matched msgid %s, WeChat answered %s",
                    claim.id,
                    current.msgid,
                    msgid,
                )
            await Notice.filter(id=claim.id).update(msgid=msgid or current.msgid, reason=None, updated_at=now)
        if msgid:
            # A sent event of this msgid matched another notice by guess: that guess was wrong.
            await (
                Notice.filter(user_id=claim.user_id, msgid=msgid, reason=RECONCILED)
                .exclude(id=claim.id)
                .update(msgid=None, reason=ASSUMED_SENT, updated_at=now)
            )
        return SendOutcome(NoticeStatus.SENT, None, msgid=msgid)

    async def _call_failed(
        self, claim: _Claim, exc: WeChatAPIError | WeChatTransportError, openid: str
    ) -> SendOutcome:
        action = exc.action
        if action is Action.OUTCOME_UNKNOWN and claim.call_started_at is None:
            action = Action.TRANSPORT  # failed before the send request was written: nothing went out
        errcode = exc.errcode if isinstance(exc, WeChatAPIError) else None
        detail = exc.errmsg if isinstance(exc, WeChatAPIError) else exc.detail
        log.info(
            "notice %d to %s: %s (%s)",
            claim.id,
            mask(openid),
            action,
            errcode if errcode is not None else detail,
        )

        if action is Action.OUTCOME_UNKNOWN:
            return await self._settle(
                claim,
                NoticeStatus.SENDING,
                give_back=False,
                reason=OUTCOME_UNKNOWN,
                outcome_unknown_at=self.clock(),
                detail=detail,
            )
        if action is Action.QUOTA_EXHAUSTED:
            # The unit is not spent on WeChat's side, but nothing is left there: void the rest.
            outcome = await self._settle(
                claim,
                NoticeStatus.FAILED,
                give_back=False,
                reason=QUOTA_EXHAUSTED,
                errcode=errcode,
                detail=detail,
                unit_reserved=False,
                unit_reserved_at=None,
            )
            await self.ledger.zero_units(claim.user_id, claim.template_id, as_of=claim.call_started_at)
            return outcome
        if action in _RETRYABLE:
            if claim.attempts >= self.retry.max_attempts:
                return await self._settle(
                    claim,
                    NoticeStatus.FAILED,
                    give_back=True,
                    reason=RETRIES_EXHAUSTED,
                    errcode=errcode,
                    detail=detail,
                )
            floor = exc.delay_floor if isinstance(exc, WeChatAPIError) else 0.0
            wait = self.retry.delay(claim.attempts, floor)
            await self._settle(
                claim,
                NoticeStatus.QUEUED,
                give_back=True,
                reason=None,
                errcode=errcode,
                detail=detail,
                call_started_at=None,
            )
            return SendOutcome(NoticeStatus.QUEUED, action.value.upper(), retry_in=wait)
        if action is Action.DEFER_TOMORROW:
            when = next_day_at(self.clock(), self.zone)
            await self._settle(
                claim,
                NoticeStatus.SCHEDULED,
                give_back=True,
                reason=DEFERRED_DAILY_LIMIT,
                errcode=errcode,
                detail=detail,
                scheduled_for=when,
                call_started_at=None,
            )
            await self._side_action(claim, exc)
            return SendOutcome(
                NoticeStatus.SCHEDULED, DEFERRED_DAILY_LIMIT, retry_in=(when - self.clock()).total_seconds()
            )
        # TEMPLATE_BUG, DATA_BUG, DROP_RECIPIENT, CREDENTIALS, REFRESH_TOKEN (the client already
        # refreshed once), RELOGIN: sending again as-is cannot work.
        outcome = await self._settle(
            claim,
            NoticeStatus.FAILED,
            give_back=True,
            reason=action.value.upper(),
            errcode=errcode,
            detail=detail,
        )
        await self._side_action(claim, exc)
        return outcome

    async def _side_action(self, claim: _Claim, exc: WeChatAPIError | WeChatTransportError) -> None:
        """§11's action beyond this notice (stop the template, flag the user, alert), once settled."""
        await stops.after_refusal(
            exc, user_id=claim.user_id, template_id=claim.template_id, notice_id=claim.id, now=self.clock()
        )


def sender_for(
    settings: Settings,
    http: httpx.AsyncClient,
    redis: Redis,
    *,
    hooks: SendHooks,
    retry: RetryPolicy = SEND_RETRY,
    lock_wait: LockWait | None = None,
    client: Callable[[SendClient], SendClient] | None = None,
) -> NoticeSender:
    """The sender of a worker (``ctx["settings"], ctx["http"], ctx["redis"]``) or a test; ``client``
    may wrap the WeChat client (tasks/notices.py times the calls for /metrics)."""
    wechat: SendClient = wechat_client_for(settings, http, redis, token_memo_s=constants.WECHAT_TOKEN_MEMO_S)
    return NoticeSender(
        hooks=hooks,
        redis=redis,
        client=client(wechat) if client else wechat,
        templates=cached_templates_file(settings.templates_file),
        secret=settings.session_secret,
        miniprogram_state=settings.miniprogram_state,
        zone=settings.zone,
        retry=retry,
        lock_wait=lock_wait,
    )
