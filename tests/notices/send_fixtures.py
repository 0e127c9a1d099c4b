"""Builders shared by the sending tests: users with consent units, queued notices, a scripted client."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bff.catalog.templates_file import cached_templates_file
from bff.catalog.topics import Topic, topic_info
from bff.consent import ledger
from bff.models import Notice, NoticeStatus, User
from bff.notices.sender import NoticeSender, SendClient, SendPolicy
from bff.runtime.settings import Settings

ORDER_PROGRESS = "tmpl-order-progress-0001"
ORDER_SHIPPING = "tmpl-order-shipping-0001"

_serial = itertools.count(1)

# Retry waits that keep tests fast (WeChat's own floors, e.g. 1 s for -1, still apply).
FAST_POLICY = SendPolicy(backoff_base_s=0.05, backoff_cap_s=0.2, lock_retry_min_s=0.01, lock_retry_max_s=0.05)


def utcnow() -> datetime:
    return datetime.now(UTC)


async def make_user(*, units: Mapping[str, int] | None = None, openid: str | None = None) -> User:
    """A user with ``units`` one-time consent units per template."""
    user = await User.create(openid=openid or f"oTEST{next(_serial):023d}")
    for template_id, count in (units or {}).items():
        if count:
            await ledger.credit(user.id, template_id, count)
    return user


def progress_values(order_no: str, **overrides: str) -> dict[str, str]:
    return {
        "order_no": order_no,
        "node_phrase": "已投产",
        "occurred_at": "2026年11月20日 09:30",
        "note": "您的订单已开始生产",
        **overrides,
    }


async def make_notice(
    user: User,
    *,
    template_id: str = ORDER_PROGRESS,
    topic: Topic = Topic.NODE_PRODUCTION_STARTED,
    status: NoticeStatus = NoticeStatus.QUEUED,
    values: Mapping[str, str] | None = None,
    order_no: str | None = None,
    expires_at: datetime | None = None,
    scheduled_for: datetime | None = None,
    dedupe_key: str | None = None,
) -> Notice:
    serial = next(_serial)
    order_no = order_no or f"SO2026112000{serial:04d}"
    return await Notice.create(
        user_id=user.id,
        order_no=order_no,
        topic=topic,
        template_id=template_id,
        dedupe_key=dedupe_key or f"test:{serial}",
        priority=topic_info(topic).priority,
        status=status,
        values=dict(values) if values is not None else progress_values(order_no),
        occurred_at=utcnow(),
        expires_at=expires_at,
        scheduled_for=scheduled_for,
    )


@dataclass
class SentCall:
    openid: str
    template_id: str
    data: dict[str, str]
    page: str | None


@dataclass
class FakeResult:
    msgid: str | None


Step = BaseException | str | Callable[[SentCall], Awaitable[Any]]


@dataclass
class FakeClient:
    """Answers each send with the next scripted step: a msgid, an exception to raise, or a coroutine
    function (called with the request; its return value is the msgid, or it raises). Past the
    script every send succeeds with a fresh msgid. Like the real client it awaits ``before_send``
    first: every scripted step happens after the send request was written."""

    script: list[Step] = field(default_factory=list)
    calls: list[SentCall] = field(default_factory=list)
    _msgids: itertools.count[int] = field(default_factory=lambda: itertools.count(1 << 60))

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
    ) -> FakeResult:
        if before_send is not None:
            await before_send()
        call = SentCall(openid, template_id, dict(data), page)
        self.calls.append(call)
        await asyncio.sleep(0)
        step: Step = self.script.pop(0) if self.script else str(next(self._msgids))
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, str):
            return FakeResult(step)
        result = await step(call)
        return FakeResult(str(result) if result is not None else str(next(self._msgids)))


def make_sender(
    settings: Settings,
    redis: Redis,
    client: SendClient,
    *,
    policy: SendPolicy = FAST_POLICY,
    cls: type[NoticeSender] = NoticeSender,
    **kwargs: Any,
) -> NoticeSender:
    return cls(
        redis=redis,
        client=client,
        templates=cached_templates_file(settings.templates_file),
        secret=settings.session_secret,
        miniprogram_state=settings.miniprogram_state,
        zone=settings.zone,
        policy=policy,
        **kwargs,
    )


async def remaining(user: User, template_id: str = ORDER_PROGRESS) -> int:
    return await ledger.remaining(user.id, template_id)


def minutes_ago(minutes: float) -> datetime:
    return utcnow() - timedelta(minutes=minutes)
