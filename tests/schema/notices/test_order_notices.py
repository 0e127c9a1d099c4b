"""An order's `notices`: each notice of that order with its state, for its owner only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from bff.catalog.topics import Topic
from bff.inbound.supply_chain import ingest_body
from bff.models import Notice, NoticeStatus
from bff.runtime.resources import Resources
from bff.supply_chain import builders as b
from tests.conftest import graphql
from tests.notices.send_fixtures import make_notice, make_user
from tests.schema.notices.test_record_notice_open import session

ORDER_NOTICES = """
query OrderDetail($orderNo: String!) {
  order(orderNo: $orderNo) {
    orderNo
    notices { topic templateTitle status sentAt }
  }
}
"""


async def test_the_order_lists_its_notices_with_their_states(
    client: httpx.AsyncClient, resources: Resources
) -> None:
    # given Alice's order with a sent and a suppressed notice, and a notice of another order
    alice = await make_user()
    placed_at = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    await ingest_body(b.body(b.placed("SO20261120009001", alice.openid, placed_at)))
    sent = await make_notice(alice, order_no="SO20261120009001", status=NoticeStatus.SENT)
    await Notice.filter(id=sent.id).update(sent_at=placed_at + timedelta(hours=2))
    await make_notice(
        alice, order_no="SO20261120009001", topic=Topic.NODE_QC_PASSED, status=NoticeStatus.SUPPRESSED
    )
    await make_notice(alice, order_no="SO20261120009002")

    # when she opens the order
    answer = await graphql(client, ORDER_NOTICES, {"orderNo": "SO20261120009001"}, session(resources, alice))

    # then both of its notices are there, oldest first, with the template's title and state
    assert "errors" not in answer, answer
    assert answer["data"]["order"]["notices"] == [
        {
            "topic": "NODE_PRODUCTION_STARTED",
            "templateTitle": "订单状态通知",
            "status": "SENT",
            "sentAt": "2026-11-20T11:00:00+08:00",
        },
        {"topic": "NODE_QC_PASSED", "templateTitle": "订单状态通知", "status": "SUPPRESSED", "sentAt": None},
    ]
