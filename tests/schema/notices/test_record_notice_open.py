"""recordNoticeOpen as the mini-program sends it: the open of a tapped notice, recorded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bff.models import NoticeOpen, User
from bff.notices.engagement import open_hour_histogram, record_notice_open
from bff.notices.open_tokens import issue_open_token
from bff.runtime.resources import Resources
from bff.sessions import issue_session_token
from tests.conftest import graphql
from tests.notices.send_fixtures import make_notice, make_user

# schema/operations/miniprogram.graphql, as written there
RECORD_NOTICE_OPEN = """
mutation RecordNoticeOpen($token: String!, $scene: Int) {
  recordNoticeOpen(token: $token, scene: $scene) {
    ok
    userErrors { code field message }
  }
}
"""


def session(resources: Resources, user: User) -> str:
    token, _ = issue_session_token(resources.settings.session_secret, user.id, timedelta(hours=1))
    return token


async def record(client: httpx.AsyncClient, token: str, scene: int | None, session_token: str | None) -> dict:  # type: ignore[type-arg]
    answer = await graphql(client, RECORD_NOTICE_OPEN, {"token": token, "scene": scene}, session_token)
    assert "errors" not in answer, answer
    return answer["data"]["recordNoticeOpen"]  # type: ignore[no-any-return]


async def test_opening_a_notice_records_it_once_with_the_local_hour(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    # given a user and a notice sent to them
    user = await make_user()
    notice = await make_notice(user)
    token = issue_open_token(resources.settings.session_secret, notice.id)

    # when the mini-program reports the open twice (a reload)
    first = await record(client, token, 1014, session(resources, user))
    second = await record(client, token, 1107, session(resources, user))

    # then both answer ok and one open is kept, with the first scene
    assert first == second == {"ok": True, "userErrors": []}
    [opened] = await NoticeOpen.filter(notice_id=notice.id)
    assert (opened.user_id, opened.scene) == (user.id, 1014)
    assert opened.local_hour == opened.opened_at.astimezone(resources.settings.zone).hour


async def test_a_forged_token_changes_nothing(client: httpx.AsyncClient, resources: Resources) -> None:
    user = await make_user()
    await make_notice(user)

    answer = await record(client, "AQAAAAAAAAABAAAAAAAAAAAAAAAA", 1014, session(resources, user))

    assert answer["ok"] is False
    assert [(e["code"], e["field"]) for e in answer["userErrors"]] == [("INVALID_TOKEN", "token")]
    assert await NoticeOpen.all().count() == 0


async def test_someone_elses_notice_is_answered_like_a_missing_one(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    # given a notice of Alice, and Bob who got the forwarded card
    alice = await make_user()
    bob = await make_user()
    notice = await make_notice(alice)
    token = issue_open_token(resources.settings.session_secret, notice.id)

    # when Bob opens it
    answer = await record(client, token, 1014, session(resources, bob))

    # then nothing is recorded for anyone
    assert [e["code"] for e in answer["userErrors"]] == ["NOTICE_NOT_FOUND"]
    assert await NoticeOpen.all().count() == 0


async def test_without_a_session_the_open_is_refused(client: httpx.AsyncClient, resources: Resources) -> None:
    user = await make_user()
    notice = await make_notice(user)

    answer = await record(client, issue_open_token(resources.settings.session_secret, notice.id), None, None)

    assert [e["code"] for e in answer["userErrors"]] == ["UNAUTHENTICATED"]
    assert await NoticeOpen.all().count() == 0


async def test_a_negative_scene_is_refused(client: httpx.AsyncClient, resources: Resources) -> None:
    user = await make_user()
    notice = await make_notice(user)

    answer = await record(
        client, issue_open_token(resources.settings.session_secret, notice.id), -5, session(resources, user)
    )

    assert [(e["code"], e["field"]) for e in answer["userErrors"]] == [("INVALID_SCENE", "scene")]


@pytest.mark.usefixtures("db")
async def test_the_open_hour_histogram_counts_opens_per_business_hour(resources: Resources) -> None:
    # given opens at 09:xx and 21:xx Beijing time (01:xx and 13:xx UTC)
    settings = resources.settings
    user = await make_user()
    times = [datetime(2026, 11, 20, 1, 5, tzinfo=UTC), datetime(2026, 11, 21, 1, 40, tzinfo=UTC)]
    times.append(datetime(2026, 11, 21, 13, 0, tzinfo=UTC))
    for at in times:
        notice = await make_notice(user)
        await record_notice_open(
            secret=settings.session_secret,
            token=issue_open_token(settings.session_secret, notice.id),
            user_id=user.id,
            scene=1014,
            zone=settings.zone,
            now=at,
        )

    # when the history is read
    histogram = await open_hour_histogram(user.id)

    # then two opens fall at 9 and one at 21
    assert len(histogram) == 24
    assert (histogram[9], histogram[21], sum(histogram)) == (2, 1, 3)
