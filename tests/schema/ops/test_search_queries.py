"""The operators' searches through POST /ops/graphql, as the console sends them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest

from bff.consent.alerts import AlertKind, raise_alert
from bff.models import CommandStatus, CommandType, Notice, NoticeOpen, NoticeStatus, OutboxCommand
from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from tests.notices.send_fixtures import ORDER_PROGRESS, make_notice, make_user
from tests.ops.fixtures import app_client, failed_notice, ops, with_ops_keys

NOTICES = """
query Notices($filter: NoticeFilter, $first: Int, $after: String) {
  notices(filter: $filter, first: $first, after: $after) {
    nodes { id userId openidMasked orderNo topic templateId status reason errcode attempts
            createdAt sentAt openedAt canResend resendBlockedBecause }
    endCursor hasNextPage
  }
}
"""
COMMANDS = """
query Commands($status: String, $first: Int, $after: String) {
  commands(status: $status, first: $first, after: $after) {
    nodes { id type orderNo status attempts lastStatusCode lastError nextAttemptAt createdAt failedAt }
    endCursor hasNextPage
  }
}
"""
ALERTS = """
query Alerts($all: Boolean) {
  alerts(includeAcknowledged: $all) {
    nodes { id kind templateId userMasked count firstSeenAt lastSeenAt acknowledgedAt acknowledgedBy }
    hasNextPage
  }
}
"""


@pytest.fixture
async def client(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(resources, with_ops_keys(settings)) as client:
        yield client


async def test_notices_are_searched_and_paged_with_openids_masked(client: httpx.AsyncClient) -> None:
    # given a user's sent-and-opened notice and failed notice, and another user's notice
    user = await make_user(openid="oOPS_schema_user_00000000001", units={ORDER_PROGRESS: 1})
    other = await make_user()
    sent = await make_notice(user, status=NoticeStatus.SENT, order_no="SO-OPS-9")
    sent_at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    await Notice.filter(id=sent.id).update(sent_at=sent_at, msgid="77")
    await NoticeOpen.create(
        notice_id=sent.id, user_id=user.id, opened_at=sent_at + timedelta(hours=1), local_hour=11
    )
    failed = await failed_notice(user, order_no="SO-OPS-9")
    await make_notice(other)

    # when the user's notices are asked for one at a time
    first = await ops(client, NOTICES, {"filter": {"openid": "oOPS_schema_user_00000000001"}, "first": 1})
    page1 = first["data"]["notices"]
    second = await ops(
        client,
        NOTICES,
        {"filter": {"openid": "oOPS_schema_user_00000000001"}, "first": 1, "after": page1["endCursor"]},
    )
    page2 = second["data"]["notices"]

    # then the failed one (newer) comes first, then the sent one, and nothing else
    assert page1["hasNextPage"] is True and page2["hasNextPage"] is False
    [newer], [older] = page1["nodes"], page2["nodes"]
    assert newer["id"] == str(failed.id)
    assert newer | {"createdAt": None} == {
        "id": str(failed.id),
        "userId": str(user.id),
        "openidMasked": "oOPS…(28)",
        "orderNo": "SO-OPS-9",
        "topic": "NODE_PRODUCTION_STARTED",
        "templateId": ORDER_PROGRESS,
        "status": "FAILED",
        "reason": "RETRIES_EXHAUSTED",
        "errcode": -1,
        "attempts": 6,
        "createdAt": None,
        "sentAt": None,
        "openedAt": None,
        "canResend": True,
        "resendBlockedBecause": None,
    }
    # times are given in the business time zone
    assert older["id"] == str(sent.id)
    assert older["sentAt"] == "2026-11-20T10:00:00+08:00"
    assert older["openedAt"] == "2026-11-20T11:00:00+08:00"
    assert (older["canResend"], older["resendBlockedBecause"]) == (False, "ALREADY_SENT")
    assert "oOPS_schema_user_00000000001" not in str(first) + str(second)


async def test_a_bad_filter_or_cursor_is_a_clear_error(client: httpx.AsyncClient) -> None:
    status = await ops(client, NOTICES, {"filter": {"status": "GONE"}})
    cursor = await ops(client, NOTICES, {"after": "garbage"})
    dates = await ops(client, NOTICES, {"filter": {"from": "2026-02-01", "to": "2026-01-01"}})
    assert status["data"] is None and "filter.status: must be one of" in status["errors"][0]["message"]
    assert cursor["errors"][0]["message"] == "after: 'garbage' is not a cursor of this list"
    assert "is after filter.to" in dates["errors"][0]["message"]


async def test_commands_by_state_newest_first(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)
    made = []
    for index, status in enumerate([CommandStatus.FAILED, CommandStatus.SENT, CommandStatus.FAILED]):
        made.append(
            await OutboxCommand.create(
                command_id=uuid4(),
                type=CommandType.DELIVERY_SLOT_CHOSEN,
                decision_key=f"slot:{index}",
                order_no=f"SO-CMD-{index}",
                payload={},
                status=status,
                attempts=3,
                last_status_code=409 if status is CommandStatus.FAILED else 200,
                last_error="conflict" if status is CommandStatus.FAILED else None,
                next_attempt_at=now,
                failed_at=now if status is CommandStatus.FAILED else None,
            )
        )

    answer = await ops(client, COMMANDS, {"status": "FAILED"})

    nodes = answer["data"]["commands"]["nodes"]
    assert [node["id"] for node in nodes] == [str(made[2].command_id), str(made[0].command_id)]
    assert nodes[0]["type"] == "delivery_slot.chosen"
    assert (nodes[0]["status"], nodes[0]["lastStatusCode"], nodes[0]["lastError"]) == (
        "FAILED",
        409,
        "conflict",
    )
    assert nodes[0]["failedAt"] is not None


async def test_alerts_show_the_user_masked(client: httpx.AsyncClient) -> None:
    user = await make_user(openid="oALERT_user_0000000000000001")
    await raise_alert(AlertKind.BAN, user_id=user.id, template_id=ORDER_PROGRESS, detail="ban")

    answer = await ops(client, ALERTS, {})

    [alert] = answer["data"]["alerts"]["nodes"]
    assert (alert["kind"], alert["templateId"], alert["userMasked"], alert["count"]) == (
        "BAN",
        ORDER_PROGRESS,
        "oALE…(28)",
        1,
    )
    assert alert["acknowledgedAt"] is None
