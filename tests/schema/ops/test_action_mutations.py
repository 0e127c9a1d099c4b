"""The operators' mutations through POST /ops/graphql, and the audit log that records them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bff.consent.alerts import AlertKind, raise_alert
from bff.models import Notice, NoticeStatus, OpsAlert
from bff.runtime.resources import Resources
from bff.runtime.settings import Settings
from tests.notices.send_fixtures import ORDER_PROGRESS, make_user
from tests.ops.fixtures import BOB_KEY, app_client, failed_notice, ops, with_ops_keys

RESEND = """
mutation Resend($id: ID!) {
  resendNotice(id: $id) { notice { id status canResend resendBlockedBecause } userErrors { code message } }
}
"""
RETRY = "mutation Retry($id: ID!) { retryCommand(id: $id) { command { status } userErrors { code } } }"
ACK = """
mutation Ack($id: ID!) {
  acknowledgeAlert(id: $id) { alert { id acknowledgedBy acknowledgedAt } userErrors { code } }
}
"""
AUDIT = """
query Audit($first: Int, $after: String) {
  auditLog(first: $first, after: $after) {
    nodes { operator action targetKind targetId outcome detail at } endCursor hasNextPage
  }
}
"""


@pytest.fixture
async def client(settings: Settings, resources: Resources) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(resources, with_ops_keys(settings)) as client:
        yield client


async def test_resend_answers_the_notice_and_a_second_resend_is_refused(client: httpx.AsyncClient) -> None:
    # given a failed notice that may be resent
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await failed_notice(user, reason="CREDENTIALS", errcode=40013)

    # when alice resends it twice
    first = (await ops(client, RESEND, {"id": str(notice.id)}))["data"]["resendNotice"]
    second = (await ops(client, RESEND, {"id": str(notice.id)}))["data"]["resendNotice"]

    # then the first queued it, the second is told it is no longer FAILED
    assert first == {
        "notice": {
            "id": str(notice.id),
            "status": "QUEUED",
            "canResend": False,
            "resendBlockedBecause": "NOT_FAILED",
        },
        "userErrors": [],
    }
    assert second["userErrors"][0]["code"] == "NOT_FAILED"
    assert (await Notice.get(id=notice.id)).status is NoticeStatus.QUEUED


async def test_a_forbidden_resend_names_its_reason(client: httpx.AsyncClient) -> None:
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await failed_notice(user, reason="QUOTA_EXHAUSTED", errcode=43101)

    answer = (await ops(client, RESEND, {"id": str(notice.id)}))["data"]["resendNotice"]

    assert answer["notice"]["status"] == "FAILED"
    assert answer["notice"]["resendBlockedBecause"] == "REASON_FORBIDS"
    [error] = answer["userErrors"]
    assert error["code"] == "REASON_FORBIDS" and "43101" in error["message"]


async def test_every_mutation_lands_in_the_audit_log_with_its_operator(client: httpx.AsyncClient) -> None:
    # given an alert and a failed notice
    await raise_alert(AlertKind.FILTER, user_id=None, template_id=ORDER_PROGRESS, detail="filtered")
    alert = await OpsAlert.get()
    notice = await failed_notice(await make_user())

    # when alice acknowledges the alert, bob resends the notice (no unit: refused) and retries nothing
    ack = (await ops(client, ACK, {"id": str(alert.id)}))["data"]["acknowledgeAlert"]
    await ops(client, RESEND, {"id": str(notice.id)}, key=BOB_KEY)
    retry = (await ops(client, RETRY, {"id": "00000000-0000-0000-0000-000000000000"}, key=BOB_KEY))["data"]

    # then
    assert ack["alert"]["acknowledgedBy"] == "alice" and ack["userErrors"] == []
    assert ack["alert"]["acknowledgedAt"].endswith("+08:00")
    assert retry["retryCommand"] == {"command": None, "userErrors": [{"code": "NOT_FOUND"}]}
    page1 = (await ops(client, AUDIT, {"first": 2}))["data"]["auditLog"]
    page2 = (await ops(client, AUDIT, {"first": 2, "after": page1["endCursor"]}))["data"]["auditLog"]
    entries = page1["nodes"] + page2["nodes"]
    assert [(e["operator"], e["action"], e["targetKind"], e["outcome"]) for e in entries] == [
        ("bob", "retryCommand", "COMMAND", "NOT_FOUND"),
        ("bob", "resendNotice", "NOTICE", "NO_UNIT"),
        ("alice", "acknowledgeAlert", "ALERT", "OK"),
    ]
    assert entries[1]["targetId"] == str(notice.id)
    assert page1["hasNextPage"] is True and page2["hasNextPage"] is False
