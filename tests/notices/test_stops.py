"""§11 side actions of a refused send: a broken template is stopped, an invalid openid flags its
user, the daily API quota and credential failures alert operators. WeChat is the sandbox where it
can refuse that way, the scripted client where it cannot."""

from __future__ import annotations

import pytest
from arq.connections import ArqRedis

from bff.consent.alerts import AlertKind
from bff.models import Notice, NoticeStatus, OpsAlert, User
from bff.notices import stops
from bff.runtime.settings import Settings
from bff.wechat.errors import WeChatAPIError
from tests.notices.send_fixtures import (
    ORDER_PROGRESS,
    ORDER_SHIPPING,
    FakeClient,
    SentCall,
    make_notice,
    make_sender,
    make_user,
    progress_values,
    remaining,
)
from tests.wechat.client_harness import SandboxHarness, running_sandbox

pytestmark = pytest.mark.usefixtures("db")


def refusal(errcode: int) -> WeChatAPIError:
    return WeChatAPIError.from_response(
        "subscribe_send", errcode, f"refused {errcode} rid: 1a2b3c4d-1a2b3c4d-1a2b3c4d"
    )


async def subscribed(sb: SandboxHarness, units: dict[str, int]) -> User:
    """A user of the app with ``units`` on our ledger and at WeChat."""
    user = await make_user(units=units)
    for template_id, count in units.items():
        for _ in range(count):
            await sb.subscribe(user.openid, {template_id: "accept"}, push=False)
    return user


async def wechat_calls(sb: SandboxHarness) -> int:
    return sum((await sb.stats())["sends_by_errcode"].values())


async def open_alert(kind: AlertKind) -> OpsAlert | None:
    return await OpsAlert.get_or_none(kind=str(kind), resolved_at__isnull=True)


# --- a template WeChat refuses is stopped ------------------------------------------------------


async def test_a_banned_template_is_stopped_and_its_other_notices_keep_their_units(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    async with running_sandbox() as sb:
        # given two users with units of the order-progress template, which WeChat has banned (43107)
        first = await subscribed(sb, {ORDER_PROGRESS: 1})
        second = await subscribed(sb, {ORDER_PROGRESS: 1, ORDER_SHIPPING: 1})
        await sb.ban(ORDER_PROGRESS)
        sender = make_sender(settings, arq_pool, sb.client(arq_pool))
        refused = await make_notice(first)

        # when the first notice is refused
        await sender.send(refused.id)

        # then it failed with WeChat's answer, the template is stopped and operators are told once
        await refused.refresh_from_db()
        assert (refused.status, refused.reason, refused.errcode) == (
            NoticeStatus.FAILED,
            "TEMPLATE_BUG",
            43107,
        )
        [stopped] = await stops.stopped_templates()
        assert (stopped.template_id, stopped.errcode, stopped.notice_id) == (
            ORDER_PROGRESS,
            43107,
            refused.id,
        )
        alert = await open_alert(AlertKind.TEMPLATE_STOPPED)
        assert alert is not None and alert.template_id == ORDER_PROGRESS and alert.count == 1

        # and the second user's notice of it is suppressed without calling WeChat, units kept
        calls = await wechat_calls(sb)
        held_back = await make_notice(second)
        outcome = await sender.send(held_back.id)
        assert (outcome.status, outcome.reason) == (NoticeStatus.SUPPRESSED, "TEMPLATE_STOPPED")
        await held_back.refresh_from_db()
        assert held_back.detail is not None and "43107" in held_back.detail
        assert await wechat_calls(sb) == calls
        assert await remaining(first) == 1 and await remaining(second) == 1

        # and other templates still go out
        shipping = await make_notice(second, template_id=ORDER_SHIPPING, values=shipping_values())
        assert (await sender.send(shipping.id)).status is NoticeStatus.SENT

        # when an operator has fixed it on WeChat's side and resumes the template
        await sb.http.post("/sandbox/ban", json={"template_id": ORDER_PROGRESS, "banned": False})
        assert await stops.resume_template(ORDER_PROGRESS)

        # then its notices are sent again and the alert is resolved
        again = await make_notice(second)
        assert (await sender.send(again.id)).status is NoticeStatus.SENT
        assert await stops.stopped_templates() == []
        assert await open_alert(AlertKind.TEMPLATE_STOPPED) is None


@pytest.mark.parametrize("errcode", [40037, 41030, 48001, 200014])
async def test_every_template_error_stops_the_template_and_alerts(
    settings: Settings, arq_pool: ArqRedis, errcode: int
) -> None:
    # given WeChat refuses the template as broken, and two notices to two users are in flight at once
    first, second = await make_user(units={ORDER_PROGRESS: 2}), await make_user(units={ORDER_PROGRESS: 1})
    in_flight = await make_notice(second)
    client = FakeClient()
    sender = make_sender(settings, arq_pool, client)

    async def refused_while_the_other_is_sent(call: SentCall) -> None:
        await sender.send(in_flight.id)  # refused first
        raise refusal(errcode)

    client.script = [refused_while_the_other_is_sent, refusal(errcode)]

    # when both are refused
    await sender.send((await make_notice(first)).id)

    # then the template is stopped once, one alert counts both refusals, and no unit was spent
    [stopped] = await stops.stopped_templates()
    assert (stopped.template_id, stopped.errcode) == (ORDER_PROGRESS, errcode)
    [alert] = await OpsAlert.all()
    assert (alert.kind, alert.template_id, alert.user_id, alert.count) == (
        "TEMPLATE_STOPPED",
        ORDER_PROGRESS,
        None,
        2,
    )
    assert await remaining(first) == 2 and await remaining(second) == 1

    # and the next notice of it is suppressed, not sent
    outcome = await sender.send((await make_notice(first)).id)
    assert outcome.reason == "TEMPLATE_STOPPED" and len(client.calls) == 2


# --- an openid WeChat calls invalid flags its user ---------------------------------------------


async def test_an_invalid_openid_flags_the_user_and_their_later_notices_are_suppressed(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    async with running_sandbox() as sb:
        # given a user whose openid WeChat does not know (40003), and a user it knows
        stranger = await make_user(units={ORDER_PROGRESS: 1, ORDER_SHIPPING: 1})
        known = await subscribed(sb, {ORDER_PROGRESS: 1})
        sender = make_sender(settings, arq_pool, sb.client(arq_pool))
        refused = await make_notice(stranger)

        # when a notice to the stranger is refused
        await sender.send(refused.id)

        # then it failed, and the user is flagged
        await refused.refresh_from_db()
        assert (refused.status, refused.reason, refused.errcode) == (
            NoticeStatus.FAILED,
            "DROP_RECIPIENT",
            40003,
        )
        await stranger.refresh_from_db()
        assert stranger.openid_invalid_at is not None

        # and their next notice, of any template, is suppressed without a call, units kept
        calls = await wechat_calls(sb)
        later = await make_notice(stranger, template_id=ORDER_SHIPPING, values=shipping_values())
        outcome = await sender.send(later.id)
        assert (outcome.status, outcome.reason) == (NoticeStatus.SUPPRESSED, "OPENID_INVALID")
        assert await wechat_calls(sb) == calls
        assert await remaining(stranger, ORDER_SHIPPING) == 1

        # and other users are not affected, nor is the template stopped
        assert (await sender.send((await make_notice(known)).id)).status is NoticeStatus.SENT
        assert await stops.stopped_templates() == []

        # and once the flag is cleared the user's notices are tried again
        assert await stops.clear_invalid_openid(stranger.id)
        retried = await make_notice(stranger)
        assert (await sender.send(retried.id)).reason == "DROP_RECIPIENT"


# --- the app's daily quota and its credentials alert operators ---------------------------------


async def test_the_daily_api_quota_raises_one_alert_that_counts_the_refusals(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    async with running_sandbox(daily_send_limit=0) as sb:
        # given WeChat answers 45009 (daily API quota of the app used up)
        users = [await subscribed(sb, {ORDER_PROGRESS: 1}) for _ in range(2)]
        sender = make_sender(settings, arq_pool, sb.client(arq_pool))

        # when two notices are refused
        for user in users:
            assert (await sender.send((await make_notice(user)).id)).status is NoticeStatus.SCHEDULED

        # then operators have one alert for the app, counting both, and nothing is stopped
        [alert] = await OpsAlert.all()
        assert (alert.kind, alert.user_id, alert.template_id, alert.count) == (
            "DAILY_API_LIMIT",
            None,
            None,
            2,
        )
        assert "45009" in alert.detail
        assert await stops.stopped_templates() == []
        assert await Notice.filter(status=NoticeStatus.SCHEDULED).count() == 2


@pytest.mark.parametrize("errcode", [40013, 40164, 40001], ids=["bad appid", "ip whitelist", "token refused"])
async def test_credential_failures_alert_operators(
    settings: Settings, arq_pool: ArqRedis, errcode: int
) -> None:
    # given WeChat refuses the app's credentials (or the refreshed token, once more)
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)

    # when the send is refused
    await make_sender(settings, arq_pool, FakeClient(script=[refusal(errcode)])).send(notice.id)

    # then the notice failed with its unit back, and operators have a credentials alert
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.FAILED and await remaining(user) == 1
    alert = await open_alert(AlertKind.CREDENTIALS)
    assert alert is not None and str(errcode) in alert.detail


async def test_a_transient_failure_has_no_side_action(settings: Settings, arq_pool: ArqRedis) -> None:
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)

    await make_sender(settings, arq_pool, FakeClient(script=[refusal(-1)])).send(notice.id)

    assert await OpsAlert.all().count() == 0 and await stops.stopped_templates() == []
    await user.refresh_from_db()
    assert user.openid_invalid_at is None


def shipping_values() -> dict[str, str]:
    return progress_values("SO20261120009999", node_phrase="运输中", location="杭州转运中心")
