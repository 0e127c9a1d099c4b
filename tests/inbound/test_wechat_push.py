"""WeChat's subscription pushes routed to their domain: consent for popups and changes, the notice
engine for sent events, nobody for the rest."""

from __future__ import annotations

import pytest
from tortoise.context import TortoiseContext

from bff.consent import ledger
from bff.inbound.wechat_push import route_push_event
from bff.models import ConsentCredit, Notice, NoticeStatus, User, WeChatStatus
from bff.wechat.events import PushEvent, PushFormat, build_event_body, parse_events
from tests.notices.send_fixtures import ORDER_PROGRESS, make_notice, make_user

pytestmark = pytest.mark.usefixtures("db")

CREATE_TIME = 1_795_600_000  # 2026-11-26


def pushed(user: User, event: str, items: list[dict[str, str | int]]) -> list[PushEvent]:
    body = build_event_body(
        PushFormat.XML,
        to_user="gh_0a1b2c3d4e5f",
        openid=user.openid,
        event=event,
        items=items,
        create_time=CREATE_TIME,
    )
    return parse_events(body)


async def route(user: User, parsed: list[PushEvent]) -> None:
    for event in parsed:
        await route_push_event(event, user)


async def test_a_popup_accept_reaches_the_consent_ledger(db: TortoiseContext) -> None:
    # given a user
    user = await make_user()

    # when WeChat pushes the user's accept
    item: dict[str, str | int] = {
        "TemplateId": ORDER_PROGRESS,
        "SubscribeStatusString": "accept",
        "PopupScene": 0,
    }
    await route(user, pushed(user, "subscribe_msg_popup_event", [item]))

    # then the user holds one unit of the template
    assert await ledger.remaining(user.id, ORDER_PROGRESS) == 1
    assert await ledger.status(user.id, ORDER_PROGRESS) is WeChatStatus.ACCEPT


async def test_a_sent_event_records_the_delivery_on_the_notice_it_names(db: TortoiseContext) -> None:
    # given a notice WeChat accepted with a msgid
    user = await make_user()
    notice = await make_notice(user, status=NoticeStatus.SENT)
    await Notice.filter(id=notice.id).update(msgid="2088001234567890123")

    # when WeChat pushes the delivery result of that msgid
    item: dict[str, str | int] = {
        "TemplateId": ORDER_PROGRESS,
        "MsgID": "2088001234567890123",
        "ErrorCode": 0,
        "ErrorStatus": "success",
    }
    await route(user, pushed(user, "subscribe_msg_sent_event", [item]))

    # then the notice says it was delivered, and the ledger is untouched
    delivered = await Notice.get(id=notice.id)
    assert delivered.delivery_status == "success"
    assert delivered.delivered_at is not None
    assert await ConsentCredit.all().count() == 0


async def test_other_pushes_change_nothing(db: TortoiseContext) -> None:
    # given a user
    user = await make_user()

    # when a shipping event arrives
    await route(user, pushed(user, "trade_manage_order_settlement", [{"transaction_id": "4200001234"}]))

    # then neither the ledger nor any notice moved
    assert await ConsentCredit.all().count() == 0
    assert await ledger.status(user.id, ORDER_PROGRESS) is WeChatStatus.NOT_ASKED
    assert await Notice.all().count() == 0
