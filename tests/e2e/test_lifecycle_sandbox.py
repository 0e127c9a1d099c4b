"""End to end on the WeChat sandbox: a consumable delivered, the clock advanced to its reminder
day, exactly one replenishment reminder in the inbox; snooze, dismiss and buying again each
prevent it; running the scan again sends nothing more.

Five users sign in and accept the replenishment template in WeChat's popup (asked at the
LIFECYCLE moment). The supply chain describes a tea (30 days per unit) and delivers one to each.
Before the reminder day one user snoozes, one dismisses, one orders the tea again; the scan
then runs as of the reminder day (the cron job with ``lifecycle_as_of``), and a fifth user
snoozes after the reminder was planned but before the worker sends it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from arq.connections import ArqRedis

from bff.consent import ledger
from bff.models import Notice, NoticeStatus, Replenishment, ReplenishmentStatus, User
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from tasks.lifecycle import scan_replenishment
from tests.conftest import WorkerFactory
from tests.e2e.world import World, open_world, unique
from tests.schema.lifecycle.conftest import DISMISS, LIFECYCLE, SNOOZE
from tests.schema.subscriptions.documents import REPORT, SUBSCRIBE_REQUEST

pytestmark = pytest.mark.slow

TEMPLATE = "tmpl-replenishment-0001"
TEA = "SKU-E2E-TEA"
NAMES = ("keeps", "snoozes", "dismisses", "buys_again", "snoozes_late")


async def accept_lifecycle(world: World, token: str, openid: str) -> None:
    """The lifecycle tab's popup: the user accepts the replenishment template once."""
    asked = (await world.graphql(SUBSCRIBE_REQUEST, {"moment": "LIFECYCLE", "orderNo": None}, token))[
        "subscribeRequest"
    ]
    assert TEMPLATE in asked["templateIds"], asked
    await world.sandbox.subscribe(openid, {TEMPLATE: "accept"})
    results = [{"templateId": TEMPLATE, "status": "ACCEPT"}]
    reported = await world.graphql(
        REPORT, {"input": {"requestId": asked["requestId"], "results": results}}, token
    )
    assert reported["reportSubscribeResult"]["userErrors"] == [], reported


async def scan_as_of(world: World, as_of: datetime) -> str:
    return await scan_replenishment(
        {"settings": world.settings, "redis": world.arq, "lifecycle_as_of": as_of}
    )


async def test_exactly_one_reminder_reaches_the_user_who_needs_it(
    settings: Settings, arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    async with open_world(settings, arq_pool, worker) as world:
        now = datetime.now(UTC)
        await world.supply_chain(
            b.sku_upsert(TEA, now - timedelta(days=1), name="龙井茶", usage_days_per_unit=30)
        )
        tokens: dict[str, str] = {}
        openids = {name: unique(f"oE2E_{name}_")[:28] for name in NAMES}
        for name, openid in openids.items():
            # given a signed-in user with no quiet hours who got one tea today
            tokens[name] = await world.login(openid)
            await world.no_quiet_hours(tokens[name])
            order_no = unique("SO")
            await world.supply_chain(
                b.placed(order_no, openid, now - timedelta(hours=3), items=[(TEA, "龙井茶", 1, "59.00")]),
                b.paid(order_no, now - timedelta(hours=3)),
                b.node(order_no, "DELIVERED", now - timedelta(hours=1)),
            )
        await world.settle()
        for name, openid in openids.items():
            # and who, in the lifecycle tab, was asked for the reminder now due within the month
            await accept_lifecycle(world, tokens[name], openid)

        # and, before the reminder day, three of them answer
        tab = (await world.graphql(LIFECYCLE, None, tokens["keeps"]))["lifecycle"]
        (repl,) = tab["replenishments"]
        remind_at = datetime.fromisoformat(repl["remindAt"])
        assert repl["status"] == "ACTIVE" and remind_at == now - timedelta(hours=1) + timedelta(days=26)
        snoozed = await world.graphql(SNOOZE, {"skuCode": TEA, "days": 30}, tokens["snoozes"])
        assert snoozed["snoozeReplenishment"]["userErrors"] == []
        dismissed = await world.graphql(DISMISS, {"skuCode": TEA}, tokens["dismisses"])
        assert dismissed["dismissReplenishment"]["userErrors"] == []
        await world.supply_chain(
            b.placed(unique("SO"), openids["buys_again"], now, items=[(TEA, "龙井茶", 2, "59.00")])
        )

        # when the clock reaches the reminder day and the scan runs
        reminder_day = remind_at + timedelta(minutes=5)
        await scan_as_of(world, reminder_day)
        # and the last user snoozes after the reminder was planned, before the worker sends it
        late = await world.graphql(SNOOZE, {"skuCode": TEA, "days": 30}, tokens["snoozes_late"])
        assert late["snoozeReplenishment"]["userErrors"] == []
        await world.settle()

        # then exactly one replenishment message is in the inbox, for the user who kept the reminder
        inbox = [m for m in await world.inbox() if m["template_id"] == TEMPLATE]
        assert [m["openid"] for m in inbox] == [openids["keeps"]]
        assert inbox[0]["data"]["thing1"] == "龙井茶"
        keeper = await User.get(openid=openids["keeps"])
        (sent,) = await Notice.filter(user_id=keeper.id, topic="REPLENISHMENT")
        assert sent.status is NoticeStatus.SENT and world.notice_of(inbox[0]) == sent.id
        assert (await Replenishment.get(user_id=keeper.id)).status is ReplenishmentStatus.REMINDED
        # and the late snoozer's reminder was stopped at send time without spending the unit
        late_user = await User.get(openid=openids["snoozes_late"])
        (stopped,) = await Notice.filter(user_id=late_user.id, topic="REPLENISHMENT")
        assert (stopped.status, stopped.reason) == (NoticeStatus.SUPPRESSED, "SNOOZED")
        assert await ledger.remaining(late_user.id, TEMPLATE) == 1
        # and the others got no reminder at all
        for name in ("snoozes", "dismisses", "buys_again"):
            user = await User.get(openid=openids[name])
            assert await Notice.filter(user_id=user.id, topic="REPLENISHMENT").count() == 0, name
        # and the keeper's tab shows it was reminded
        tab = (await world.graphql(LIFECYCLE, None, tokens["keeps"]))["lifecycle"]
        assert tab["replenishments"][0]["status"] == "REMINDED"

        # when the scan runs twice more that day
        await scan_as_of(world, reminder_day + timedelta(hours=1))
        await scan_as_of(world, reminder_day + timedelta(hours=2))
        await world.settle()

        # then nothing more arrives
        assert len([m for m in await world.inbox() if m["template_id"] == TEMPLATE]) == 1
