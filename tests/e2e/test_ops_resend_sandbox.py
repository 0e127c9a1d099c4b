"""End to end on the WeChat sandbox: a notice WeChat kept refusing is resent by an operator
through /ops/graphql and arrives exactly once, however many times it is resent.

The user accepts the order-progress template once; WeChat answers every send "system error" (-1)
until the sender gives up (RETRIES_EXHAUSTED, two calls here). WeChat recovers; two operators
press "resend" at the same moment, then once more after the card arrived. Real arq workers send
it through the normal path: one card in the inbox, the notice SENT, one unit spent.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from arq.connections import ArqRedis

from bff.models import ConsentLedger, Notice, NoticeStatus
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from tests.conftest import WorkerFactory
from tests.e2e.world import E2E_RETRY, open_world, t, unique
from tests.ops.fixtures import BOB_KEY, ops, with_ops_keys

PROGRESS = "tmpl-order-progress-0001"
OPENID = "oE2E_ops_resend_00000000001"

FAILED_NOTICES = """
query Failed {
  notices(filter: {status: "FAILED"}) { nodes { id reason errcode canResend resendBlockedBecause } }
}
"""
RESEND = "mutation Resend($id: ID!) { resendNotice(id: $id) { notice { status } userErrors { code } } }"

pytestmark = pytest.mark.slow


async def test_a_failed_notice_resent_by_operators_arrives_once(
    settings: Settings, arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    async with open_world(with_ops_keys(settings), arq_pool, worker) as world:
        world.retry = replace(E2E_RETRY, max_attempts=2)
        # given a user with one unit of the order-progress template
        order_no = unique("SOR")
        token = await world.login(OPENID)
        for topic in ("DELIVERY_SLOT", "NODE_OUT_FOR_DELIVERY", "NODE_DELIVERED", "RECEIPT_CONFIRM"):
            await world.switch(token, topic, False)
        await world.no_quiet_hours(token)
        await world.accept(token, OPENID, [PROGRESS], order_no)
        await world.settle()
        # and a WeChat that answers every send -1 until the sender gives up
        await world.sandbox.faults(system_error_share=1.0)
        await world.supply_chain(b.placed(order_no, OPENID, t(-30)), b.paid(order_no, t(-29)))
        await world.supply_chain(b.node(order_no, "MATERIAL_IN", t(-20)))
        await world.settle()
        await world.sandbox.faults(system_error_share=0.0)
        failed = (await ops(world.bff, FAILED_NOTICES))["data"]["notices"]["nodes"]
        assert [(n["reason"], n["errcode"], n["canResend"]) for n in failed] == [
            ("RETRIES_EXHAUSTED", -1, True)
        ]
        notice_id = int(failed[0]["id"])
        assert await world.inbox(OPENID) == []

        # when two operators resend it at the same moment, and the workers run
        answers = await asyncio.gather(
            ops(world.bff, RESEND, {"id": str(notice_id)}),
            ops(world.bff, RESEND, {"id": str(notice_id)}, key=BOB_KEY),
        )
        await world.settle()
        # and it is resent once more after it arrived
        again = (await ops(world.bff, RESEND, {"id": str(notice_id)}))["data"]["resendNotice"]
        await world.settle()

        # then one resend went through, the card arrived exactly once and the notice is SENT
        codes = sorted(code["code"] for a in answers for code in a["data"]["resendNotice"]["userErrors"])
        assert codes == ["NOT_FAILED"]
        assert again == {"notice": {"status": "SENT"}, "userErrors": [{"code": "ALREADY_SENT"}]}
        cards = await world.inbox(OPENID)
        assert [world.notice_of(card) for card in cards] == [notice_id]
        notice = await Notice.get(id=notice_id)
        assert notice.status is NoticeStatus.SENT and notice.msgid == str(cards[0]["msgid"])
        ledger_row = await ConsentLedger.get(template_id=PROGRESS)
        assert (ledger_row.granted, ledger_row.spent) == (1, 1)
