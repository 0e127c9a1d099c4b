"""recordNoticeOpen costs a fixed number of SQL statements, the same for a user with two notices
as for a user with twenty (tests/querycount.py counts them, SQLite and PostgreSQL alike)."""

from __future__ import annotations

from bff.models import Notice, NoticeOpen, User
from bff.notices.open_tokens import issue_open_token
from bff.runtime.resources import Resources
from tests.operations import OPERATIONS
from tests.schema.orders.conftest import Ask
from tests.schema.sizes import assert_statements, counted, two_users

RECORD_NOTICE_OPEN = OPERATIONS["RecordNoticeOpen"]


async def token_of_unopened_notice(resources: Resources, user: User) -> str:
    opened = await NoticeOpen.filter(user_id=user.id).values_list("notice_id", flat=True)
    notice = await Notice.filter(user_id=user.id).exclude(id__in=list(opened)).order_by("id").first()
    assert notice is not None
    return issue_open_token(resources.settings.session_secret, notice.id)


async def test_recording_an_open_costs_four_statements(ask: Ask, resources: Resources) -> None:
    # given
    small, large = await two_users()
    tokens = [await token_of_unopened_notice(resources, user) for user in (small, large)]

    # when each opens a notice for the first time
    one, few = await counted(ask, RECORD_NOTICE_OPEN, {"token": tokens[0], "scene": 1014}, small)
    many, more = await counted(ask, RECORD_NOTICE_OPEN, {"token": tokens[1], "scene": 1014}, large)

    # then session, the notice is theirs, an open already?, the open's INSERT
    assert one["recordNoticeOpen"] == many["recordNoticeOpen"] == {"ok": True, "userErrors": []}
    assert_statements("RecordNoticeOpen", few, more, 4)
