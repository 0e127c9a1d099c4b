"""Open-hour histograms for many users at once and for the population (bff/notices/engagement.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic
from bff.models import Notice, NoticeOpen, NoticeStatus, User
from bff.notices.engagement import open_hour_histogram, open_hour_histograms, population_open_hour_histogram
from tests.querycount import count_queries

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


async def opened(user: User, hour: int, days_ago: int, serial: int) -> None:
    notice = await Notice.create(
        user_id=user.id,
        topic=Topic.REPLENISHMENT,
        template_id="tmpl-replenishment-0001",
        dedupe_key=f"eng:{user.id}:{serial}",
        priority=20,
        status=NoticeStatus.SENT,
        occurred_at=NOW,
    )
    await NoticeOpen.create(
        notice=notice, user_id=user.id, opened_at=NOW - timedelta(days=days_ago), local_hour=hour
    )


async def test_histograms_of_many_users_match_the_one_user_histogram_in_one_query(
    db: TortoiseContext,
) -> None:
    # given three users: two with opens, one without
    a, b, c = [await User.create(openid=f"oENG{n:024d}") for n in range(3)]
    await opened(a, 20, 1, 1)
    await opened(a, 20, 2, 2)
    await opened(a, 9, 3, 3)
    await opened(b, 12, 200, 4)

    # when they are read together
    with count_queries() as statements:
        histograms = await open_hour_histograms([a.id, b.id, c.id])

    # then one query, and each matches the single-user histogram (c: all zeros)
    assert len(statements) == 1
    for user in (a, b, c):
        assert histograms[user.id] == await open_hour_histogram(user.id)
    assert (histograms[a.id][20], histograms[a.id][9], sum(histograms[c.id])) == (2, 1, 0)


async def test_the_population_histogram_counts_every_users_opens_since_a_time(db: TortoiseContext) -> None:
    # given opens of two users, one of them 200 days old
    a, b = [await User.create(openid=f"oENP{n:024d}") for n in range(2)]
    await opened(a, 20, 1, 1)
    await opened(b, 20, 5, 2)
    await opened(b, 12, 200, 3)

    # then all of them, or only the recent ones
    everything = await population_open_hour_histogram()
    recent = await population_open_hour_histogram(since=NOW - timedelta(days=90))
    assert (everything[20], everything[12], sum(everything)) == (2, 1, 3)
    assert (recent[20], recent[12], sum(recent)) == (2, 0, 2)
