"""Operators' searches (bff/ops/search.py): keyset pages newest first, filters, masked openids."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic
from bff.models import Notice, NoticeOpen, NoticeStatus
from bff.ops.search import NoticeFilter, OpsRequestError, list_audit, list_commands, list_notices
from tests.notices.send_fixtures import ORDER_PROGRESS, make_notice, make_user
from tests.ops.fixtures import failed_notice
from tests.querycount import count_queries

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def all_pages(spec: NoticeFilter, first: int) -> list[list[int]]:
    pages: list[list[int]] = []
    after = None
    while True:
        page = await list_notices(spec, zone=SHANGHAI, first=first, after=after)
        pages.append([view.id for view in page.nodes])
        if not page.has_next_page:
            return pages
        after = page.end_cursor


async def test_pages_walk_every_notice_once_newest_first(db: TortoiseContext) -> None:
    # given 23 notices, some created in the same instant
    user = await make_user()
    moment = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    ids = []
    for index in range(23):
        notice = await make_notice(user)
        await Notice.filter(id=notice.id).update(created_at=moment + timedelta(minutes=index // 3))
        ids.append(notice.id)

    # when they are read ten at a time
    pages = await all_pages(NoticeFilter(), first=10)

    # then three pages hold every notice once, newest first (ties by id)
    assert [len(page) for page in pages] == [10, 10, 3]
    assert [i for page in pages for i in page] == sorted(
        ids, key=lambda i: ((ids.index(i)) // 3, i), reverse=True
    )


async def test_a_notice_shows_a_masked_openid_its_open_and_whether_it_may_be_resent(
    db: TortoiseContext,
) -> None:
    # given a sent notice the user opened and a failed one whose user has no unit left
    user = await make_user(openid="oSEARCH_user_000000000000001")
    sent = await make_notice(user, status=NoticeStatus.SENT)
    opened_at = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)
    await NoticeOpen.create(notice_id=sent.id, user_id=user.id, opened_at=opened_at, local_hour=9)
    failed = await failed_notice(user)

    # when they are listed
    page = await list_notices(NoticeFilter(), zone=SHANGHAI, first=10, after=None)
    views = {view.id: view for view in page.nodes}

    # then
    assert views[sent.id].openid_masked == "oSEA…(28)"
    assert views[sent.id].opened_at == opened_at
    assert views[sent.id].resend_refusal is not None and views[sent.id].resend_refusal.code == "ALREADY_SENT"
    assert views[failed.id].opened_at is None
    assert not views[failed.id].can_resend
    assert views[failed.id].resend_refusal is not None and views[failed.id].resend_refusal.code == "NO_UNIT"


async def test_filters_narrow_by_user_openid_order_topic_status_reason_and_local_day(
    db: TortoiseContext,
) -> None:
    # given two users' notices
    alice = await make_user(openid="oALICE_search_00000000000001", units={ORDER_PROGRESS: 1})
    bob = await make_user(openid="oBOB_search_000000000000001")
    a1 = await make_notice(alice, order_no="SO-A-1")
    a2 = await failed_notice(alice, reason="CREDENTIALS", errcode=40013)
    b1 = await make_notice(bob, topic=Topic.NODE_OUTBOUND, order_no="SO-B-1")
    # b1 created at 23:30 on 19 Nov in Shanghai (15:30 UTC), the others on 20 Nov local
    await Notice.filter(id=b1.id).update(created_at=datetime(2026, 11, 19, 15, 30, tzinfo=UTC))
    await Notice.filter(id__in=[a1.id, a2.id]).update(created_at=datetime(2026, 11, 19, 16, 30, tzinfo=UTC))

    async def ids(**spec: object) -> set[int]:
        page = await list_notices(NoticeFilter(**spec), zone=SHANGHAI, first=100, after=None)  # type: ignore[arg-type]
        return {view.id for view in page.nodes}

    assert await ids(user_id=str(alice.id)) == {a1.id, a2.id}
    assert await ids(openid="oBOB_search_000000000000001") == {b1.id}
    assert await ids(order_no="SO-A-1") == {a1.id}
    assert await ids(topic="NODE_OUTBOUND") == {b1.id}
    assert await ids(status="FAILED") == {a2.id}
    assert await ids(reason="CREDENTIALS", user_id=str(alice.id)) == {a2.id}
    assert await ids(from_day=date(2026, 11, 20)) == {a1.id, a2.id}
    assert await ids(to_day=date(2026, 11, 19)) == {b1.id}
    assert await ids(from_day=date(2026, 11, 19), to_day=date(2026, 11, 19)) == {b1.id}
    # ids and values no row can have match nothing
    assert await ids(user_id="x") == set()
    assert await ids(openid="o" * 300) == set()


@pytest.mark.parametrize(
    ("spec", "first", "after", "words"),
    [
        (NoticeFilter(), 0, None, "first: must be between 1 and 100, got 0"),
        (NoticeFilter(), 101, None, "first: must be between 1 and 100, got 101"),
        (NoticeFilter(status="LOST"), 10, None, "filter.status: must be one of PLANNED"),
        (NoticeFilter(from_day=date(2026, 2, 1), to_day=date(2026, 1, 1)), 10, None, "is after filter.to"),
        (NoticeFilter(from_day=date(2025, 1, 1), to_day=date(2026, 1, 2)), 10, None, "at most 366"),
        (NoticeFilter(), 10, "bm9wZQ", "is not a cursor of this list"),
        (NoticeFilter(user_id="x"), 10, "bm9wZQ", "is not a cursor of this list"),
    ],
)
async def test_a_bad_request_is_a_clear_error(
    db: TortoiseContext, spec: NoticeFilter, first: int, after: str | None, words: str
) -> None:
    with pytest.raises(OpsRequestError) as raised:
        await list_notices(spec, zone=SHANGHAI, first=first, after=after)
    assert words in str(raised.value)


async def test_a_cursor_of_one_list_is_refused_by_another(db: TortoiseContext) -> None:
    # given a cursor of the notices list
    user = await make_user()
    for _ in range(2):
        await make_notice(user)
    cursor = (await list_notices(NoticeFilter(), zone=SHANGHAI, first=1, after=None)).end_cursor
    assert cursor is not None

    # when it is given to the commands list and the audit log, then it is refused
    with pytest.raises(OpsRequestError, match="not a cursor of this list"):
        await list_commands(status=None, first=5, after=cursor)
    with pytest.raises(OpsRequestError, match="not a cursor of this list"):
        await list_audit(first=5, after=cursor)
    with pytest.raises(OpsRequestError, match="status: must be one of PENDING"):
        await list_commands(status="LOST", first=5, after=None)


async def test_a_page_of_notices_costs_the_same_queries_whatever_it_holds(db: TortoiseContext) -> None:
    # given failed and sent notices of many users (facts for canResend, openids, opens to read)
    for index in range(30):
        user = await make_user(units={ORDER_PROGRESS: index % 2})
        await failed_notice(user)
        await make_notice(user, status=NoticeStatus.SENT)

    # when a page of two and a page of sixty are read
    with count_queries() as two:
        small = await list_notices(NoticeFilter(), zone=SHANGHAI, first=2, after=None)
    with count_queries() as sixty:
        large = await list_notices(NoticeFilter(), zone=SHANGHAI, first=60, after=None)

    # then both cost six statements: the page, openids, opens, units, stopped templates, flags
    assert (len(small.nodes), len(large.nodes)) == (2, 60)
    assert len(two) == len(sixty) == 6
