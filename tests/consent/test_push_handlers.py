"""WeChat's subscription pushes, parsed from real bodies, applied to the consent ledger."""

from __future__ import annotations

from datetime import UTC, datetime

from bff.consent import ledger
from bff.consent.matching import record_accept, report_key
from bff.consent.push_handlers import handle
from bff.models import ConsentCredit, CreditSource, OpsAlert, User, WeChatStatus
from bff.wechat.events import ChangeEvent, PopupEvent, PushEvent, PushFormat, build_event_body, parse_events

T = "tmpl-order-shipping-0001"
CREATE_TIME = 1_795_600_000  # 2026-11-26


def events(
    event: str, items: list[dict[str, str | int]], user: User, create_time: int = CREATE_TIME
) -> list[PushEvent]:
    body = build_event_body(
        PushFormat.XML,
        to_user="gh_0a1b2c3d4e5f",
        openid=user.openid,
        event=event,
        items=items,
        create_time=create_time,
    )
    return parse_events(body)


def popup(user: User, status: str, template_id: str = T, create_time: int = CREATE_TIME) -> list[PushEvent]:
    item: dict[str, str | int] = {"TemplateId": template_id, "SubscribeStatusString": status, "PopupScene": 0}
    return events("subscribe_msg_popup_event", [item], user, create_time)


def change(user: User, status: str, template_id: str = T, create_time: int = CREATE_TIME) -> list[PushEvent]:
    item: dict[str, str | int] = {"TemplateId": template_id, "SubscribeStatusString": status}
    return events("subscribe_msg_change_event", [item], user, create_time)


async def apply(user: User, parsed: list[PushEvent]) -> None:
    for event in parsed:
        assert isinstance(event, PopupEvent | ChangeEvent)
        await handle(event, user)


async def test_a_popup_accept_grants_one_unit(user: User) -> None:
    # when
    await apply(user, popup(user, "accept"))

    # then
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.status(user.id, T) is WeChatStatus.ACCEPT


async def test_the_same_popup_push_handled_twice_grants_one_unit(user: User) -> None:
    # given WeChat retried the push and the job ran for both copies
    parsed = popup(user, "accept")

    # when
    await apply(user, parsed)
    await apply(user, popup(user, "accept"))

    # then
    assert await ledger.remaining(user.id, T) == 1


async def test_a_popup_push_after_the_clients_report_is_matched_not_added(user: User) -> None:
    # given the mini-program reported the accept a second after the popup
    await record_accept(
        user.id,
        T,
        source=CreditSource.REPORT,
        source_key=report_key("req-1", T),
        occurred_at=datetime.fromtimestamp(CREATE_TIME + 1, UTC),
    )

    # when WeChat's push arrives
    await apply(user, popup(user, "accept"))

    # then
    assert await ledger.remaining(user.id, T) == 1
    assert await ConsentCredit.filter(user_id=user.id, matched_id__isnull=False).count() == 2


async def test_accept_with_audio_is_an_accept(user: User) -> None:
    # when
    await apply(user, popup(user, "acceptWithAudio"))

    # then
    assert await ledger.remaining(user.id, T) == 1


async def test_a_popup_with_several_templates_applies_each(user: User) -> None:
    # given one popup with an accept and a reject
    items: list[dict[str, str | int]] = [
        {"TemplateId": T, "SubscribeStatusString": "accept", "PopupScene": 0},
        {"TemplateId": "tmpl-b", "SubscribeStatusString": "reject", "PopupScene": 0},
    ]

    # when
    await apply(user, events("subscribe_msg_popup_event", items, user))

    # then
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.status(user.id, "tmpl-b") is WeChatStatus.REJECT


async def test_a_popup_reject_keeps_units_from_earlier_accepts(user: User) -> None:
    # given an earlier accept
    await apply(user, popup(user, "accept", create_time=CREATE_TIME - 3600))

    # when the user refuses the next popup
    await apply(user, popup(user, "reject"))

    # then the earlier unit is still there; WeChat's status is REJECT
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.status(user.id, T) is WeChatStatus.REJECT


async def test_a_change_reject_zeroes_the_units(user: User) -> None:
    # given two units
    await apply(user, popup(user, "accept", create_time=CREATE_TIME - 3600))
    await apply(user, popup(user, "accept", create_time=CREATE_TIME - 1800))

    # when the user turns the template off in WeChat's settings
    await apply(user, change(user, "reject"))

    # then
    assert await ledger.remaining(user.id, T) == 0
    assert await ledger.status(user.id, T) is WeChatStatus.REJECT
    assert await ledger.reserve_unit(user.id, T) is False


async def test_a_late_change_reject_does_not_void_a_newer_accept(user: User) -> None:
    # given the user turned it off, then accepted a popup; the jobs ran in the other order
    await apply(user, popup(user, "accept", create_time=CREATE_TIME + 60))

    # when the older change event is handled
    await apply(user, change(user, "reject", create_time=CREATE_TIME))

    # then the newer accept stands
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.status(user.id, T) is WeChatStatus.ACCEPT


async def test_a_late_change_reject_voids_the_older_units_and_keeps_the_newer_accept(user: User) -> None:
    # given two units from accepts an hour before; the user turned the template off, then
    # accepted a popup a minute later; the popup's job ran first
    await apply(user, popup(user, "accept", create_time=CREATE_TIME - 3600))
    await apply(user, popup(user, "accept", create_time=CREATE_TIME - 3500))
    await apply(user, popup(user, "accept", create_time=CREATE_TIME + 60))

    # when the change event is handled
    await apply(user, change(user, "reject", create_time=CREATE_TIME))

    # then WeChat's own count: the older two are void, the newer one is left
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.status(user.id, T) is WeChatStatus.ACCEPT


async def test_a_change_reject_then_the_newer_accept_in_order_ends_the_same(user: User) -> None:
    # given the same pushes handled in the order they happened
    await apply(user, popup(user, "accept", create_time=CREATE_TIME - 3600))
    await apply(user, popup(user, "accept", create_time=CREATE_TIME - 3500))
    await apply(user, change(user, "reject", create_time=CREATE_TIME))
    await apply(user, popup(user, "accept", create_time=CREATE_TIME + 60))

    # then
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.status(user.id, T) is WeChatStatus.ACCEPT


async def test_a_ban_disables_the_template_and_alerts_operators(user: User) -> None:
    # given a unit
    await apply(user, popup(user, "accept", create_time=CREATE_TIME - 60))

    # when
    await apply(user, popup(user, "ban"))

    # then
    assert await ledger.status(user.id, T) is WeChatStatus.BAN
    assert await ledger.reserve_unit(user.id, T) is False
    alert = await OpsAlert.get(kind="BAN", user_id=user.id, template_id=T)
    assert alert.count == 1


async def test_a_filter_is_reported_to_operators_as_a_configuration_error(user: User) -> None:
    # when
    await apply(user, popup(user, "filter"))
    await apply(user, popup(user, "filter", create_time=CREATE_TIME + 5))

    # then one alert, counted twice; no units
    alert = await OpsAlert.get(kind="FILTER", template_id=T)
    assert alert.count == 2
    assert "same title" in alert.detail
    assert await ledger.remaining(user.id, T) == 0
