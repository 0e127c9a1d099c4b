"""End to end on the WeChat sandbox: log in, accept, supply-chain events in, notices out — once each.

The user logs in through GraphQL, accepts the order-progress template twice in WeChat's popup
(the mini-program reports it, WeChat pushes it), switches "quality check passed" off, and the
supply chain reports the order's nodes one after the other. Exactly the notices the user
switched on and has units for arrive in the sandbox inbox, once each; the ledger, the
subscription tab and WeChat's own quota agree with the inbox. Replaying every event twice, in a
shuffled order, sends nothing more.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import pytest
from arq.connections import ArqRedis

from bff.consent import ledger
from bff.models import ConsentLedger, Notice, NoticeStatus, User
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from tests.conftest import WorkerFactory
from tests.e2e.world import World, open_world, t, unique

PROGRESS = "tmpl-order-progress-0001"
OPENID = "oE2E_sandbox_user_000000001"

ORDER_NOTICES = """
query OrderDetail($orderNo: String!) {
  order(orderNo: $orderNo) { orderNo notices { topic templateTitle status sentAt } }
}
"""

pytestmark = pytest.mark.slow


@dataclass
class Run:
    token: str
    order_no: str
    events: list[b.Event] = field(default_factory=list)


async def run_scenario(world: World) -> Run:
    order_no = unique("SO")
    # given a signed-in user who accepts the order-progress template twice after paying
    token = await world.login(OPENID)
    # (who wants no delivery-stage notices: the order page's popup, three templates at most and
    # decisions first, then has room for the production template next to the exception one)
    for topic in ("DELIVERY_SLOT", "NODE_OUT_FOR_DELIVERY", "NODE_DELIVERED", "RECEIPT_CONFIRM"):
        await world.switch(token, topic, False)
    await world.accept(token, OPENID, [PROGRESS], order_no)
    await world.accept(token, OPENID, [PROGRESS], order_no)
    # and does not want to hear about the quality check, and has no quiet hours (the test runs at any hour)
    await world.switch(token, "NODE_QC_PASSED", False)
    await world.no_quiet_hours(token)
    await world.settle()  # WeChat's popup pushes reach the ledger
    run = Run(token=token, order_no=order_no)

    # when the supply chain reports the order, then its nodes one after the other
    steps: list[list[b.Event]] = [
        [b.placed(order_no, OPENID, t(-30)), b.paid(order_no, t(-29))],
        [b.node(order_no, "MATERIAL_IN", t(-20), note="面料已到厂")],
        [b.node(order_no, "PRODUCTION_STARTED", t(-15))],
        [b.node(order_no, "QC_PASSED", t(-10))],
        [b.node(order_no, "OUTBOUND", t(-5), carrier="顺丰速运", tracking_no="SF1234567890")],
    ]
    for events in steps:
        answer = await world.supply_chain(*events)
        assert answer == {"accepted": len(events), "duplicates": 0}
        run.events.extend(events)
        await world.settle()
    return run


async def snapshot(world: World) -> tuple[list[tuple[int, str]], list[tuple[int, str, str | None]], int]:
    inbox = sorted((world.notice_of(m), str(m["msgid"])) for m in await world.inbox())
    notices = [(n.id, n.status.value, n.msgid) for n in await Notice.all().order_by("id")]
    spent = sum(row.spent for row in await ConsentLedger.all())
    return inbox, notices, spent


async def test_exactly_the_switched_on_funded_notices_arrive_once_and_every_count_agrees(
    settings: Settings, arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    async with open_world(settings, arq_pool, worker) as world:
        run = await run_scenario(world)

        # then the two production nodes the user wanted, and had units for, arrived once each
        inbox = await world.inbox(OPENID)
        user = await User.get(openid=OPENID)
        notices = {n.topic: n for n in await Notice.filter(user_id=user.id)}
        assert sorted(world.notice_of(m) for m in inbox) == sorted(
            [notices["NODE_MATERIAL_IN"].id, notices["NODE_PRODUCTION_STARTED"].id]
        )
        assert {m["template_id"] for m in inbox} == {PROGRESS}
        assert [
            m["data"]["thing4"] for m in inbox if world.notice_of(m) == notices["NODE_MATERIAL_IN"].id
        ] == ["面料已到厂"]
        # and every other notice says why it was not sent
        assert {topic: (n.status.value, n.reason) for topic, n in notices.items()} == {
            "ORDER_PAID": ("SUPPRESSED", "NO_UNITS"),
            "NODE_MATERIAL_IN": ("SENT", None),
            "NODE_PRODUCTION_STARTED": ("SENT", None),
            "NODE_QC_PASSED": ("SUPPRESSED", "TOPIC_OFF"),
            "NODE_OUTBOUND": ("SUPPRESSED", "NO_UNITS"),
        }
        # and each sent notice carries WeChat's msgid and the delivery WeChat pushed back
        by_msgid = {str(m["msgid"]): world.notice_of(m) for m in inbox}
        for notice in notices.values():
            if notice.status is NoticeStatus.SENT:
                assert by_msgid[str(notice.msgid)] == notice.id
                assert notice.delivery_status == "success"

        # and the ledger, the subscription tab and WeChat's quota agree: 2 accepted, 2 spent
        entry = await ledger.entry(user.id, PROGRESS)
        assert (entry.granted, entry.spent) == (2, 2)
        center = await world.center(run.token)
        for topic in ("NODE_MATERIAL_IN", "NODE_PRODUCTION_STARTED", "NODE_QC_PASSED"):
            assert (center[topic]["remainingQuota"], center[topic]["wechatStatus"]) == (0, "ACCEPT")
        quota = await world.sandbox._json(
            "GET", "/sandbox/quota", params={"openid": OPENID, "template_id": PROGRESS}
        )
        assert quota["remaining"] == 0
        # and the order shows its notices
        order = (await world.graphql(ORDER_NOTICES, {"orderNo": run.order_no}, run.token))["order"]
        assert Counter(n["status"] for n in order["notices"]) == {"SENT": 2, "SUPPRESSED": 3}


async def test_replaying_every_event_twice_in_a_shuffled_order_sends_nothing_more(
    settings: Settings, arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    async with open_world(settings, arq_pool, worker) as world:
        # given a run in which WeChat also delivered every push twice
        await world.sandbox.faults(duplicate_pushes=True)
        run = await run_scenario(world)
        before = await snapshot(world)
        assert len(before[0]) == 2

        # when every supply-chain event of the run arrives twice more, shuffled, in small batches
        replay = run.events * 2
        random.Random(20261120).shuffle(replay)
        duplicates = 0
        for start in range(0, len(replay), 3):
            duplicates += (await world.supply_chain(*replay[start : start + 3]))["duplicates"]
            await world.settle()

        # then each was recognised as a duplicate, and the inbox, the notices and the ledger are as they were
        assert duplicates == len(replay)
        assert await snapshot(world) == before
