"""Given data for the insight tests: orders through the real ingestion path, notices and opens as
the planner and recordNoticeOpen leave them (their real paths would need WeChat)."""

from __future__ import annotations

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from bff.catalog.templates_file import load_templates_file
from bff.catalog.topics import Topic, topic_info
from bff.inbound.supply_chain import ingest_body
from bff.models import Notice, NoticeOpen, NoticeStatus, User
from bff.supply_chain import builders as b

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEMPLATES = load_templates_file()
_keys = itertools.count(1)


def local(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


async def user(openid: str, region: str = "") -> User:
    return await User.create(openid=openid, region=region)


async def events(*batch: b.Event, now: datetime | None = None) -> None:
    await ingest_body(b.body(*batch), now=now)


async def notice(
    owner: User,
    topic: Topic,
    created: datetime,
    status: NoticeStatus = NoticeStatus.SENT,
    *,
    order_no: str | None = None,
    reason: str | None = None,
    errcode: int | None = None,
    opened: datetime | None = None,
) -> Notice:
    template = TEMPLATES.for_topic(topic)
    assert template is not None
    row = await Notice.create(
        user_id=owner.id,
        order_no=order_no,
        topic=str(topic),
        template_id=template.template_id,
        dedupe_key=f"test:{next(_keys)}",
        priority=topic_info(topic).priority,
        status=status,
        reason=reason,
        errcode=errcode,
        occurred_at=created,
        sent_at=created if status is NoticeStatus.SENT else None,
        created_at=created,
    )
    if opened is not None:
        await NoticeOpen.create(
            notice_id=row.id, user_id=owner.id, opened_at=opened, local_hour=opened.astimezone(SHANGHAI).hour
        )
    return row
