from __future__ import annotations

from typing import Any

from bff.inbound.wechat_push import route_push_event
from bff.models import OpsAlert, User
from bff.wechat.events import PushFormat, build_event_body, parse_events
from tests.schema.subscriptions.documents import CENTER, REPORT, SUBSCRIBE_REQUEST, Run, by_key

DELIVERY = "tmpl-order-delivery-0001"
SHIPPING = "tmpl-order-shipping-0001"
EXCEPTION = "tmpl-order-exception-0001"


async def request(run: Run, user: User, moment: str = "AFTER_PAYMENT") -> dict[str, Any]:
    data = await run(SUBSCRIBE_REQUEST, {"moment": moment, "orderNo": "SO1"}, viewer=user)
    return data["subscribeRequest"]  # type: ignore[no-any-return]


async def report(run: Run, user: User | None, **input: Any) -> dict[str, Any]:
    data = await run(REPORT, {"input": input}, viewer=user)
    return data["reportSubscribeResult"]  # type: ignore[no-any-return]


async def units(run: Run, user: User, topic: str) -> tuple[int, str]:
    topics = by_key((await run(CENTER, viewer=user))["subscriptionCenter"]["topics"])
    return topics[topic]["remainingQuota"], topics[topic]["wechatStatus"]


async def test_an_accept_buys_one_send_shown_in_the_answer(run: Run, user: User) -> None:
    # given
    asked = await request(run, user)
    assert DELIVERY in asked["templateIds"]

    # when
    payload = await report(
        run, user, requestId=asked["requestId"], results=[{"templateId": DELIVERY, "status": "ACCEPT"}]
    )

    # then
    assert payload["userErrors"] == []
    topics = by_key(payload["center"]["topics"])
    assert (topics["NODE_DELIVERED"]["remainingQuota"], topics["NODE_DELIVERED"]["wechatStatus"]) == (
        1,
        "ACCEPT",
    )
    assert topics["NODE_OUTBOUND"]["wechatStatus"] == "NOT_ASKED"


async def test_reporting_the_same_request_twice_counts_once(run: Run, user: User) -> None:
    # given
    asked = await request(run, user)
    input = {"requestId": asked["requestId"], "results": [{"templateId": DELIVERY, "status": "accept"}]}

    # when the mini-program retries
    await report(run, user, **input)
    second = await report(run, user, **input)

    # then
    assert second["userErrors"] == []
    assert await units(run, user, "NODE_DELIVERED") == (1, "ACCEPT")


async def test_a_report_and_wechats_push_of_one_accept_count_once(run: Run, user: User) -> None:
    # given the client reported
    asked = await request(run, user)
    await report(
        run, user, requestId=asked["requestId"], results=[{"templateId": DELIVERY, "status": "ACCEPT"}]
    )

    # when WeChat's popup push for the same accept is handled
    import time

    body = build_event_body(
        PushFormat.JSON,
        to_user="gh_0a1b2c3d4e5f",
        openid=user.openid,
        event="subscribe_msg_popup_event",
        items=[{"TemplateId": DELIVERY, "SubscribeStatusString": "accept", "PopupScene": "0"}],
        create_time=int(time.time()),
    )
    for event in parse_events(body):
        await route_push_event(event, user)

    # then
    assert await units(run, user, "NODE_DELIVERED") == (1, "ACCEPT")


async def test_two_requests_accepted_give_two_units(run: Run, user: User) -> None:
    # when two exception popups are accepted
    for _ in range(2):
        asked = await request(run, user, moment="EXCEPTION")
        payload = await report(
            run, user, requestId=asked["requestId"], results=[{"templateId": EXCEPTION, "status": "ACCEPT"}]
        )
        assert payload["userErrors"] == []

    # then
    assert await units(run, user, "ORDER_EXCEPTION") == (2, "ACCEPT")


async def test_reject_with_always_keep_is_never_asked_again(run: Run, user: User) -> None:
    # given
    asked = await request(run, user)

    # when
    payload = await report(
        run,
        user,
        requestId=asked["requestId"],
        results=[{"templateId": DELIVERY, "status": "REJECT"}],
        alwaysKeep=[DELIVERY],
    )

    # then
    assert payload["userErrors"] == []
    assert await units(run, user, "NODE_DELIVERED") == (0, "REJECT")
    assert DELIVERY not in (await request(run, user, moment="SUBSCRIPTION_CENTER"))["templateIds"]


async def test_ban_and_filter_are_reported_to_operators(run: Run, user: User) -> None:
    # given
    asked = await request(run, user)
    assert {DELIVERY, EXCEPTION} <= set(asked["templateIds"])

    # when
    payload = await report(
        run,
        user,
        requestId=asked["requestId"],
        results=[{"templateId": DELIVERY, "status": "BAN"}, {"templateId": EXCEPTION, "status": "FILTER"}],
    )

    # then
    assert payload["userErrors"] == []
    assert await units(run, user, "NODE_DELIVERED") == (0, "BAN")
    kinds = {(alert.kind, alert.template_id) for alert in await OpsAlert.all()}
    assert kinds == {("BAN", DELIVERY), ("FILTER", EXCEPTION)}


async def test_the_main_switch_is_kept(run: Run, user: User) -> None:
    # given
    asked = await request(run, user)

    # when WeChat refused the popup because the main switch is off
    payload = await report(run, user, requestId=asked["requestId"], results=[], mainSwitch=False)

    # then
    assert payload["center"]["mainSwitch"] is False


async def test_an_unknown_request_is_refused(run: Run, user: User) -> None:
    # when
    payload = await report(
        run, user, requestId="sr_nope", results=[{"templateId": DELIVERY, "status": "ACCEPT"}]
    )

    # then
    assert payload["center"] is None
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("UNKNOWN_REQUEST", "requestId")]
    assert await units(run, user, "NODE_DELIVERED") == (0, "NOT_ASKED")


async def test_another_users_request_is_unknown(run: Run, user: User, other_user: User) -> None:
    # given
    asked = await request(run, other_user)

    # when
    payload = await report(
        run, user, requestId=asked["requestId"], results=[{"templateId": DELIVERY, "status": "ACCEPT"}]
    )

    # then
    assert [e["code"] for e in payload["userErrors"]] == ["UNKNOWN_REQUEST"]
    assert await units(run, user, "NODE_DELIVERED") == (0, "NOT_ASKED")
    assert await units(run, other_user, "NODE_DELIVERED") == (0, "NOT_ASKED")


async def test_a_bad_item_refuses_the_whole_report(run: Run, user: User) -> None:
    # given
    asked = await request(run, user)

    # when one item is fine and the others are not
    payload = await report(
        run,
        user,
        requestId=asked["requestId"],
        results=[
            {"templateId": DELIVERY, "status": "ACCEPT"},
            {"templateId": "tmpl-never-asked", "status": "ACCEPT"},
            {"templateId": EXCEPTION, "status": "MAYBE"},
        ],
        alwaysKeep=["tmpl-other"],
    )

    # then every problem is named and nothing was counted
    assert {(e["code"], e["field"]) for e in payload["userErrors"]} == {
        ("TEMPLATE_NOT_REQUESTED", "results[1].templateId"),
        ("UNKNOWN_STATUS", "results[2].status"),
        ("TEMPLATE_NOT_REQUESTED", "alwaysKeep[0]"),
    }
    assert await units(run, user, "NODE_DELIVERED") == (0, "NOT_ASKED")


async def test_a_popup_answer_cannot_change_afterwards(run: Run, user: User) -> None:
    # given
    asked = await request(run, user)
    await report(
        run, user, requestId=asked["requestId"], results=[{"templateId": DELIVERY, "status": "ACCEPT"}]
    )

    # when the same request is reported again with another answer
    payload = await report(
        run, user, requestId=asked["requestId"], results=[{"templateId": DELIVERY, "status": "REJECT"}]
    )

    # then
    assert [e["code"] for e in payload["userErrors"]] == ["ALREADY_REPORTED"]
    assert await units(run, user, "NODE_DELIVERED") == (1, "ACCEPT")


async def test_anonymous_callers_get_unauthenticated(run: Run) -> None:
    # when
    payload = await report(run, None, requestId="sr_x", results=[])

    # then
    assert payload["center"] is None
    assert [e["code"] for e in payload["userErrors"]] == ["UNAUTHENTICATED"]


async def test_an_oversized_report_is_refused_without_being_read(run: Run, user: User) -> None:
    # given
    asked = await request(run, user)

    # when a report carries far more items than a popup can show
    results = [{"templateId": DELIVERY, "status": "ACCEPT"}] * 1000
    payload = await report(run, user, requestId=asked["requestId"], results=results)

    # then one error, nothing counted
    assert [(e["code"], e["field"]) for e in payload["userErrors"]] == [("TOO_MANY_ITEMS", "results")]
    assert await units(run, user, "NODE_DELIVERED") == (0, "NOT_ASKED")
