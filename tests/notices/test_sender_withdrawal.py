"""The sender asks the policy again, on fresh facts, right before it reserves a unit: a decision
taken hours ago (deferred by quiet hours, waiting in a retry's backoff) is not sent once the user
answered, or switched the notice off, meanwhile.

Orders are built the way the supply chain builds them (webhook bodies fed to ingestion), notices
by the planner; WeChat is a scripted client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from arq.connections import ArqRedis

from bff.catalog.templates_file import load_templates_file
from bff.catalog.topics import Topic
from bff.consent import ledger
from bff.consent.preferences import PreferencesUpdate, TopicSwitch, set_main_switch, update_preferences
from bff.inbound.supply_chain import ingest_body
from bff.models import Notice, NoticeStatus, User
from bff.notices.facts import load_user_facts
from bff.notices.planner import NoticeContext, plan_event
from bff.notices.reasons import Reason
from bff.notices.sender import NoticeSender
from bff.notices.withdrawal import withdrawal_facts
from bff.orders.decisions import choose_delivery_slot, confirm_receipt, resolve_exception
from bff.runtime.settings import Settings
from bff.supply_chain import builders as b
from bff.wechat.errors import WeChatTransportError
from tests.notices.send_fixtures import FakeClient, make_sender

pytestmark = pytest.mark.usefixtures("db")

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)  # outside the default quiet hours 22:00–08:00
NIGHT = datetime(2026, 11, 20, 23, 30, tzinfo=SHANGHAI)
MORNING = datetime(2026, 11, 21, 8, 0, 5, tzinfo=SHANGHAI)
SHIPPING = "tmpl-order-shipping-0001"
DELIVERY = "tmpl-order-delivery-0001"
RECEIPT = "tmpl-receipt-confirm-0001"
EXCEPTION = "tmpl-order-exception-0001"
SLOT = "tmpl-delivery-slot-0001"
OPENID = "oWITHDRAW00000000000000001"


async def feed(arq: ArqRedis, *events: dict[str, object], now: datetime) -> None:
    """Ingest a webhook body and run the planning jobs it hands over (as the worker would)."""
    ctx = NoticeContext(templates=load_templates_file(), zone=SHANGHAI, arq=arq)
    for plan in (await ingest_body(b.body(*events))).plans:
        await plan_event(plan.event_row_id, ctx, order_id=plan.order_id, now=now.astimezone(UTC))


async def paid_order(arq: ArqRedis, units: dict[str, int]) -> User:
    placed_at = DAY - timedelta(hours=6)
    await feed(
        arq, b.placed("SO1", OPENID, placed_at), b.paid("SO1", placed_at + timedelta(minutes=5)), now=DAY
    )
    user = await User.get(openid=OPENID)
    for template_id, count in units.items():
        await ledger.credit(user.id, template_id, count)
    return user


def sender_at(settings: Settings, arq: ArqRedis, client: FakeClient, at: datetime) -> NoticeSender:
    return make_sender(settings, arq, client, clock=lambda: at.astimezone(UTC))


def connect_failure() -> WeChatTransportError:
    return WeChatTransportError(api="subscribe_send", detail="ConnectError", outcome_unknown=False)


async def test_a_receipt_reminder_deferred_overnight_is_not_sent_after_the_user_confirmed_receipt(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given an order delivered at 23:30: its receipt reminder waits for the end of quiet hours
    user = await paid_order(arq_pool, {DELIVERY: 1, RECEIPT: 1})
    await feed(arq_pool, b.node("SO1", "DELIVERED", NIGHT), now=NIGHT)
    reminder = await Notice.get(topic=Topic.RECEIPT_CONFIRM)
    assert reminder.status is NoticeStatus.SCHEDULED

    # when the user confirms receipt before the morning, and the deferred send job then runs
    await confirm_receipt(user.id, "SO1", now=NIGHT + timedelta(minutes=10))
    client = FakeClient()
    outcome = await sender_at(settings, arq_pool, client, MORNING).send(reminder.id)

    # then the reminder is withdrawn, WeChat is not called and the unit is still the user's
    await reminder.refresh_from_db()
    assert (reminder.status, reminder.reason) == (NoticeStatus.SUPPRESSED, Reason.ANSWERED)
    assert outcome.status is NoticeStatus.SUPPRESSED
    assert client.calls == []
    assert await ledger.remaining(user.id, RECEIPT) == 1


async def switch_topic_off(user: User) -> None:
    await update_preferences(
        user.id, PreferencesUpdate(topics=[TopicSwitch(str(Topic.NODE_OUTBOUND), enabled=False)])
    )


async def switch_main_off(user: User) -> None:
    await set_main_switch(user.id, False)


@pytest.mark.parametrize(
    ("switch_off", "reason"),
    [(switch_topic_off, Reason.TOPIC_OFF), (switch_main_off, Reason.MAIN_SWITCH_OFF)],
    ids=["topic", "main switch"],
)
async def test_a_notice_in_retry_is_not_sent_once_its_switch_is_off(
    settings: Settings,
    arq_pool: ArqRedis,
    switch_off: Callable[[User], Awaitable[None]],
    reason: Reason,
) -> None:
    # given a queued OUTBOUND notice whose first send failed in a way worth retrying
    user = await paid_order(arq_pool, {SHIPPING: 1})
    await feed(arq_pool, b.node("SO1", "OUTBOUND", DAY), now=DAY)
    outbound = await Notice.get(topic=Topic.NODE_OUTBOUND)
    client = FakeClient(script=[connect_failure()])
    first = await sender_at(settings, arq_pool, client, DAY).send(outbound.id)
    assert first.status is NoticeStatus.QUEUED and first.retry_in is not None

    # when the user switches it off during the backoff, and the retry runs
    await switch_off(user)
    await sender_at(settings, arq_pool, client, DAY + timedelta(minutes=1)).send(outbound.id)

    # then it is withdrawn with the switch as reason: no second call, the unit kept
    await outbound.refresh_from_db()
    assert (outbound.status, outbound.reason) == (NoticeStatus.SUPPRESSED, reason)
    assert len(client.calls) == 1
    assert await ledger.remaining(user.id, SHIPPING) == 1


async def exception_resolved(user: User, at: datetime) -> None:
    await resolve_exception(user.id, "SO1", "EX1", "COUPON", now=at)


async def slot_chosen(user: User, at: datetime) -> None:
    await choose_delivery_slot(user.id, "SO1", "S2", now=at)


@pytest.mark.parametrize(
    ("event", "topic", "template_id", "answer"),
    [
        (
            b.exception("EX1", DAY, DAY + timedelta(days=1), order_nos=["SO1"]),
            Topic.ORDER_EXCEPTION,
            EXCEPTION,
            exception_resolved,
        ),
        (
            b.delivery_slots(
                "SO1",
                DAY,
                DAY + timedelta(days=1),
                [
                    ("S1", "上午", DAY + timedelta(days=2), DAY + timedelta(days=2, hours=4)),
                    ("S2", "下午", DAY + timedelta(days=2, hours=5), DAY + timedelta(days=2, hours=9)),
                ],
            ),
            Topic.DELIVERY_SLOT,
            SLOT,
            slot_chosen,
        ),
    ],
    ids=["exception resolved", "slot chosen"],
)
async def test_a_question_answered_while_its_notice_waits_in_a_retry_is_not_sent(
    settings: Settings,
    arq_pool: ArqRedis,
    event: dict[str, object],
    topic: Topic,
    template_id: str,
    answer: Callable[[User, datetime], Awaitable[None]],
) -> None:
    # given a queued notice asking the user to decide, whose first send failed (retry pending)
    user = await paid_order(arq_pool, {template_id: 1})
    await feed(arq_pool, event, now=DAY)
    asking = await Notice.get(topic=topic)
    client = FakeClient(script=[connect_failure()])
    first = await sender_at(settings, arq_pool, client, DAY).send(asking.id)
    assert first.status is NoticeStatus.QUEUED

    # when the user answers in the mini-program during the backoff, and the retry runs
    await answer(user, DAY + timedelta(seconds=30))
    await sender_at(settings, arq_pool, client, DAY + timedelta(minutes=1)).send(asking.id)

    # then the notice is withdrawn as answered: one call only, the unit kept
    await asking.refresh_from_db()
    assert (asking.status, asking.reason) == (NoticeStatus.SUPPRESSED, Reason.ANSWERED)
    assert len(client.calls) == 1
    assert await ledger.remaining(user.id, template_id) == 1


async def test_a_notice_still_wanted_is_sent_after_its_retry(settings: Settings, arq_pool: ArqRedis) -> None:
    # given the same retry, and a user who changed nothing meanwhile
    user = await paid_order(arq_pool, {SHIPPING: 1})
    await feed(arq_pool, b.node("SO1", "OUTBOUND", DAY), now=DAY)
    outbound = await Notice.get(topic=Topic.NODE_OUTBOUND)
    client = FakeClient(script=[connect_failure()])
    await sender_at(settings, arq_pool, client, DAY).send(outbound.id)

    # when the retry runs
    outcome = await sender_at(settings, arq_pool, client, DAY + timedelta(minutes=1)).send(outbound.id)

    # then it is sent, spending the unit
    assert outcome.status is NoticeStatus.SENT
    assert len(client.calls) == 2
    assert await ledger.remaining(user.id, SHIPPING) == 0


@pytest.mark.postgres_only
async def test_the_one_statement_facts_on_postgresql_are_those_the_orm_loads(arq_pool: ArqRedis) -> None:
    # given an order with nodes, a slot offer chosen, an exception decided and the receipt
    # confirmed; a user with a topic switched off, a banned template, units and quiet hours
    user = await paid_order(arq_pool, {SHIPPING: 2, SLOT: 1, EXCEPTION: 1})
    await feed(
        arq_pool,
        b.node("SO1", "OUTBOUND", DAY),
        b.exception("EX1", DAY, DAY + timedelta(days=1), order_nos=["SO1"]),
        b.delivery_slots(
            "SO1",
            DAY,
            DAY + timedelta(days=1),
            [("S2", "下午", DAY + timedelta(days=2, hours=5), DAY + timedelta(days=2, hours=9))],
        ),
        now=DAY,
    )
    await exception_resolved(user, DAY + timedelta(minutes=1))
    await slot_chosen(user, DAY + timedelta(minutes=2))
    await update_preferences(user.id, PreferencesUpdate(topics=[TopicSwitch(Topic.NODE_OUTBOUND, False)]))
    await ledger.ban(user.id, EXCEPTION)
    notices = list(await Notice.filter(user_id=user.id))
    assert notices
    # and a user without preferences or ledger rows, whose notice names no order or an unknown one
    bare = await User.create(openid="oWITHDRAW00000000000000002")
    for order_no in (None, "SO-UNKNOWN"):
        notices.append(
            Notice(user_id=bare.id, order_no=order_no, topic=Topic.NODE_OUTBOUND, template_id=SHIPPING)
        )

    for notice in notices:
        # when the sender's facts are read in one statement
        fast = await withdrawal_facts(notice, zone=SHANGHAI)

        # then they are what load_user_facts(..., withdrawal_only=True) answers
        slow = await load_user_facts(
            [notice.user_id],
            now=DAY,
            zone=SHANGHAI,
            order_nos=[notice.order_no] if notice.order_no is not None else [],
            withdrawal_only=True,
        )
        assert fast == slow[notice.user_id], notice.dedupe_key
    await feed(arq_pool, b.node("SO1", "DELIVERED", DAY + timedelta(hours=1)), now=DAY + timedelta(hours=1))
    await confirm_receipt(user.id, "SO1", now=DAY + timedelta(hours=2))
    confirmed = notices[0]
    fast = await withdrawal_facts(confirmed, zone=SHANGHAI)
    slow = await load_user_facts([user.id], now=DAY, zone=SHANGHAI, order_nos=["SO1"], withdrawal_only=True)
    assert fast == slow[user.id]
    assert fast.orders["SO1"].receipt_confirmed and fast.orders["SO1"].slot_chosen
    assert fast.orders["SO1"].exceptions_decided == {"EX1"} and fast.banned_templates == {EXCEPTION}
