"""The WeChat client against the sandbox: every row of the §11 table, sends, login, templates.

Rows the sandbox can produce are tested through it (its fault injection, configuration and
control paths). The codes it cannot produce — because the client never sends such a request
(44002 empty body, 47001 malformed body, 41001 missing token, 40002 wrong grant_type) or
because they depend on WeChat's account administration (48001, 40164, 40243, 895xx,
200011-200022) — are answered by a stub ``httpx.MockTransport``; so are connection failures.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis

from bff.catalog.templates_file import load_templates_file
from bff.wechat.client import SendResult, WeChatClient
from bff.wechat.errors import Action, WeChatAPIError, WeChatTransportError
from bff.wechat.keywords import ELLIPSIS, prepare_data
from tests.wechat.client_harness import (
    PROGRESS,
    PROGRESS_VALUES,
    DeadlineASGITransport,
    SandboxHarness,
    running_sandbox,
)
from wxsandbox import defaults

OPENID = "oUSER_openid_example_000001"


async def send_progress(client: WeChatClient, openid: str = OPENID, **overrides: Any) -> SendResult:
    options: dict[str, Any] = {
        "openid": openid,
        "template_id": PROGRESS,
        "data": PROGRESS_VALUES,
        "page": "pages/order/detail?orderNo=SO20261120000001",
        "miniprogram_state": "formal",
    }
    options.update(overrides)
    return await client.send_subscribe_message(**options)


async def subscribed_user(sb: SandboxHarness, openid: str = OPENID, units: int = 1) -> None:
    for _ in range(units):
        await sb.subscribe(openid, {PROGRESS: "accept"}, push=False)


# --- sends that succeed -----------------------------------------------------------------------


async def test_send_delivers_and_keeps_the_64_bit_msgid_exact(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a user with one unit of the template
        await subscribed_user(sb)
        client = sb.client(arq_pool)

        # when
        result = await send_progress(client, miniprogram_state="trial", lang="en_US")

        # then the user got the card, and the msgid is the sandbox's integer, digit for digit
        [message] = await sb.inbox(OPENID)
        assert result.msgid == str(message["msgid"])
        assert int(result.msgid) > 2**53
        assert message["data"] == PROGRESS_VALUES
        assert message["miniprogram_state"] == "trial"
        assert message["lang"] == "en_US"
        assert message["page"] == "pages/order/detail?orderNo=SO20261120000001"


async def test_send_body_is_utf8_json_without_escapes(arq_pool: ArqRedis) -> None:
    # given a stub WeChat that records the send body
    seen: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "T1", "expires_in": 7200})
        seen.append(request.content)
        return httpx.Response(200, content=b'{"errcode":0,"errmsg":"ok","msgid":9223372036854775807}')

    client = stub_client(handler, arq_pool)

    # when
    result = await send_progress(client)

    # then Chinese travels as UTF-8, not \u escapes, and the msgid survives as an exact string
    body = json.loads(seen[0])
    assert "已出库".encode() in seen[0]
    assert b"\\u" not in seen[0]
    assert body["data"]["phrase2"] == {"value": "已出库"}
    assert body["miniprogram_state"] == "formal"
    assert body["lang"] == "zh_CN"
    assert result.msgid == "9223372036854775807"


async def test_prepared_data_is_accepted_and_shown_as_prepared(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a note longer than a thing allows, prepared for sending by the one policy
        await subscribed_user(sb)
        note = "包裹已从杭州仓发出，预计明天下午送达您填写的收货地址"
        template = load_templates_file().by_id(PROGRESS)
        assert template is not None
        data = prepare_data(template.rules(), {**PROGRESS_VALUES, "thing4": note})

        # when
        result = await send_progress(sb.client(arq_pool), data=data)

        # then WeChat accepted it, and the user sees 19 characters and an ellipsis
        [message] = await sb.inbox(OPENID)
        assert message["data"]["thing4"] == note[:19] + ELLIPSIS
        assert result.data["thing4"] == note[:19] + ELLIPSIS


async def test_data_goes_out_as_given_and_wechat_judges_it(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a user with a unit, and data nobody prepared (a thing too long for WeChat)
        await subscribed_user(sb)
        note = "包裹已从杭州仓发出，预计明天下午送达您填写的收货地址"

        # when the client sends it
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(sb.client(arq_pool), data={**PROGRESS_VALUES, "thing4": note})

        # then it went out unchanged (the client validates nothing) and WeChat refused it as data
        assert caught.value.action is Action.DATA_BUG
        assert (await sb.stats())["sends_by_errcode"] == {str(caught.value.errcode): 1}
        assert await sb.inbox() == []


@pytest.mark.parametrize(("field", "value"), [("miniprogram_state", "release"), ("lang", "fr_FR")])
async def test_unknown_state_or_lang_is_refused(arq_pool: ArqRedis, field: str, value: str) -> None:
    async with running_sandbox() as sb:
        with pytest.raises(ValueError, match=field):
            await send_progress(sb.client(arq_pool), **{field: value})


# --- §11: RETRY -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "errcode", "floor"),
    [("system_error_share", -1, 1.0), ("concurrent_share", 43108, 1.0), ("minute_limit_share", 45011, 60.0)],
)
async def test_transient_errors_are_retry(arq_pool: ArqRedis, fault: str, errcode: int, floor: float) -> None:
    async with running_sandbox() as sb:
        # given WeChat failing every send this way
        await subscribed_user(sb)
        await sb.faults(**{fault: 1.0})

        # when
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(sb.client(arq_pool))

        # then the outcome is "retry with backoff", with WeChat's words and request id kept
        error = caught.value
        assert (error.errcode, error.action, error.api) == (errcode, Action.RETRY, "subscribe_send")
        assert error.delay_floor == floor
        assert error.request_id is not None and error.request_id in error.errmsg


async def test_a_failed_send_consumes_no_unit(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        await subscribed_user(sb)
        await sb.faults(system_error_share=1.0)
        with pytest.raises(WeChatAPIError):
            await send_progress(sb.client(arq_pool))
        await sb.faults(system_error_share=0.0)
        # the unit is still there: the next send goes through
        assert (await send_progress(sb.client(arq_pool))).msgid


async def test_shipping_for_a_payment_not_yet_known_is_retry(arq_pool: ArqRedis) -> None:
    async with running_sandbox(shipping_known_payments_only=True) as sb:
        with pytest.raises(WeChatAPIError) as caught:
            await sb.client(arq_pool).upload_shipping_info(shipping_payload("4200000000202601010000000009"))
        assert (caught.value.errcode, caught.value.action) == (10060001, Action.RETRY)
        assert caught.value.delay_floor == 10.0


# --- §11: transport ---------------------------------------------------------------------------


async def test_connection_failure_is_transport_and_nothing_was_sent(arq_pool: ArqRedis) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(WeChatTransportError) as caught:
        await stub_client(handler, arq_pool).code_to_session("any")
    assert caught.value.outcome_unknown is False
    assert caught.value.action is Action.TRANSPORT


async def test_read_timeout_after_the_send_is_outcome_unknown(arq_pool: ArqRedis) -> None:
    # given a WeChat that delivers the message but answers only after the client's read timeout
    async with running_sandbox(
        transport=DeadlineASGITransport, http_timeout=httpx.Timeout(5.0, read=0.3)
    ) as sb:
        await subscribed_user(sb)
        await sb.client(arq_pool).access_token()
        await sb.faults(timeout_share=1.0, timeout_after_send=True, timeout_hold_ms=3000)

        # when
        with pytest.raises(WeChatTransportError) as caught:
            await send_progress(sb.client(arq_pool))

        # then the outcome is unknown, and indeed the user did get the card
        assert caught.value.outcome_unknown is True
        assert caught.value.action is Action.OUTCOME_UNKNOWN
        await sb.faults(timeout_share=0.0)
        assert len(await sb.inbox(OPENID)) == 1


async def test_a_gateway_error_page_is_a_transport_error(arq_pool: ArqRedis) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    with pytest.raises(WeChatTransportError) as caught:
        await stub_client(handler, arq_pool).code_to_session("any")
    assert caught.value.outcome_unknown is True
    assert "502" in caught.value.detail


TOKEN_FAULTS = {
    "token endpoint times out": {"token_timeout_share": 1.0, "timeout_hold_ms": 3000},
    "token endpoint answers 502": {"token_server_error_share": 1.0},
    "token endpoint answers no JSON": {"token_not_json_share": 1.0},
}


@pytest.mark.parametrize("faults", TOKEN_FAULTS.values(), ids=TOKEN_FAULTS.keys())
async def test_a_failed_token_fetch_is_transport_and_the_send_never_went_out(
    arq_pool: ArqRedis, faults: dict[str, Any]
) -> None:
    async with running_sandbox(
        transport=DeadlineASGITransport, http_timeout=httpx.Timeout(5.0, read=0.3)
    ) as sb:
        # given no cached token and a token endpoint that fails this way
        await subscribed_user(sb)
        await sb.faults(**faults)
        before_send: list[str] = []

        async def note_send() -> None:
            before_send.append("send")

        # when a send needs a token
        with pytest.raises(WeChatTransportError) as caught:
            await send_progress(sb.client(arq_pool), before_send=note_send)

        # then it failed on the token, as "nothing was sent", and the send endpoint saw nothing
        assert (caught.value.api, caught.value.outcome_unknown) == ("stable_token", False)
        assert caught.value.action is Action.TRANSPORT
        assert before_send == []
        assert (await sb.stats())["sends_by_errcode"] == {}
        assert await sb.inbox() == []


async def test_before_send_runs_once_the_token_is_at_hand_and_before_each_send_request(
    arq_pool: ArqRedis,
) -> None:
    async with running_sandbox() as sb:
        # given a cached token WeChat no longer accepts (the send is retried once after a refresh)
        await subscribed_user(sb)
        client = sb.client(arq_pool)
        await arq_pool.set(client.tokens.key, "not-a-token", ex=600)
        seen: list[int] = []

        async def count_sends() -> None:
            seen.append(sum((await sb.stats())["sends_by_errcode"].values()))

        # when
        await send_progress(client, before_send=count_sends)

        # then the hook ran right before each send request: before the refused one (no request
        # made yet) and before its retry (one made, refused with 40014)
        assert seen == [0, 1]
        assert len(await sb.inbox(OPENID)) == 1


# --- §11: REFRESH TOKEN (the full story is in test_tokens.py) ----------------------------------


async def test_expired_token_is_refreshed_and_the_call_succeeds(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a cached token that WeChat has since expired (42001)
        await subscribed_user(sb)
        client = sb.client(arq_pool)
        old = await client.access_token()
        await sb.advance_clock(7200)

        # when
        result = await send_progress(client)

        # then the call went through with a new token, after exactly one more fetch
        assert result.msgid
        assert await client.tokens.peek() not in (None, old)
        stats = await sb.stats()
        assert stats["tokens"]["rejected_42001"] == 1
        assert stats["tokens"]["stable"] == 2


async def test_unknown_token_is_refreshed_and_the_call_succeeds(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a cache holding a token WeChat never issued (40014)
        await subscribed_user(sb)
        client = sb.client(arq_pool)
        await arq_pool.set(client.tokens.key, "not-a-token", ex=600)

        # when
        result = await send_progress(client)

        # then
        assert result.msgid
        assert (await sb.stats())["tokens"]["rejected_40014"] == 1


# --- §11: the permanent outcomes the sandbox produces ------------------------------------------


async def test_no_subscription_left_is_quota_exhausted(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        await sb.login_code(OPENID)  # a known user who never accepted the template
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(sb.client(arq_pool))
        assert (caught.value.errcode, caught.value.action) == (43101, Action.QUOTA_EXHAUSTED)


async def test_daily_api_quota_is_defer_to_tomorrow(arq_pool: ArqRedis) -> None:
    async with running_sandbox(daily_send_limit=0) as sb:
        await subscribed_user(sb)
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(sb.client(arq_pool))
        assert (caught.value.errcode, caught.value.action) == (45009, Action.DEFER_TOMORROW)


async def test_unknown_openid_is_drop_recipient(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(sb.client(arq_pool), openid="oSOMEONE_of_another_app_000001")
        assert (caught.value.errcode, caught.value.action) == (40003, Action.DROP_RECIPIENT)


async def test_template_wechat_does_not_have_is_a_template_bug(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a template in our file that was deleted on WeChat
        await subscribed_user(sb)
        client = sb.client(arq_pool)
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(client, template_id="TPL_DELETED", data={"thing1": "你好"})
        assert (caught.value.errcode, caught.value.action) == (40037, Action.TEMPLATE_BUG)


async def test_banned_template_is_a_template_bug(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        await subscribed_user(sb)
        await sb.ban(PROGRESS)
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(sb.client(arq_pool))
        assert (caught.value.errcode, caught.value.action) == (43107, Action.TEMPLATE_BUG)


async def test_page_not_in_the_released_version_is_a_template_bug(arq_pool: ArqRedis) -> None:
    async with running_sandbox(pages=frozenset({"pages/index/index"})) as sb:
        await subscribed_user(sb)
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(sb.client(arq_pool))
        assert (caught.value.errcode, caught.value.action) == (41030, Action.TEMPLATE_BUG)


async def test_template_drift_is_caught_by_wechat_as_a_data_bug(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given our file thinks the template's fourth keyword is thing5 while WeChat has thing4
        await subscribed_user(sb)
        client = sb.client(arq_pool)
        values = {**{k: v for k, v in PROGRESS_VALUES.items() if k != "thing4"}, "thing5": "备注"}

        # when
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(client, data=values)

        # then WeChat names the missing keyword (47003): fix the data, do not resend as is
        assert (caught.value.errcode, caught.value.action) == (47003, Action.DATA_BUG)
        assert "thing4" in caught.value.errmsg


async def test_sensitive_word_is_a_data_bug(arq_pool: ArqRedis) -> None:
    async with running_sandbox(sensitive_words=("杭州仓",)) as sb:
        await subscribed_user(sb)
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(sb.client(arq_pool))
        assert (caught.value.errcode, caught.value.action) == (45168, Action.DATA_BUG)


@pytest.mark.parametrize(
    ("changes", "errcode"),
    [
        ({"logistics_type": 2, "delivery_mode": 2, "is_all_delivered": True}, 10060006),
        ({"packages": 2}, 268485228),
    ],
)
async def test_bad_shipping_payloads_are_data_bugs(
    arq_pool: ArqRedis, changes: dict[str, Any], errcode: int
) -> None:
    async with running_sandbox() as sb:
        payload = shipping_payload("4200000000202601010000000001")
        packages = changes.pop("packages", 1)
        payload["shipping_list"] = payload["shipping_list"] * packages
        payload.update(changes)
        with pytest.raises(WeChatAPIError) as caught:
            await sb.client(arq_pool).upload_shipping_info(payload)
        assert (caught.value.errcode, caught.value.action) == (errcode, Action.DATA_BUG)


async def test_shipping_after_receipt_was_confirmed_is_a_data_bug(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        # given a payment whose buyer already confirmed receipt
        transaction_id = "4200000000202601010000000003"
        await sb.register_payment(transaction_id=transaction_id, openid=OPENID)
        await sb.http.post("/sandbox/orders/state", json={"transaction_id": transaction_id, "order_state": 3})
        # when / then
        with pytest.raises(WeChatAPIError) as caught:
            await sb.client(arq_pool).upload_shipping_info(shipping_payload(transaction_id))
        assert (caught.value.errcode, caught.value.action) == (10060004, Action.DATA_BUG)


async def test_shipping_upload_succeeds(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        await sb.client(arq_pool).upload_shipping_info(shipping_payload("4200000000202601010000000002"))
        assert (await sb.stats())["counters"]["upload_shipping_info"] == 1


@pytest.mark.parametrize(
    ("client_options", "errcode"),
    [({"appid": "wx_other_app_000001"}, 40013), ({"secret": "wrong-secret"}, 40125)],
)
async def test_wrong_credentials_are_a_credentials_problem(
    arq_pool: ArqRedis, client_options: dict[str, Any], errcode: int
) -> None:
    async with running_sandbox() as sb:
        await subscribed_user(sb)
        with pytest.raises(WeChatAPIError) as caught:
            await send_progress(sb.client(arq_pool, **client_options))
        assert (caught.value.errcode, caught.value.action) == (errcode, Action.CREDENTIALS)
        assert caught.value.api == "stable_token"


# --- §11: rows only a stub can produce ----------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "action"),
    [
        (44002, Action.DATA_BUG),
        (47001, Action.DATA_BUG),
        (48001, Action.TEMPLATE_BUG),
        *((code, Action.TEMPLATE_BUG) for code in range(200011, 200023)),
        (41001, Action.CREDENTIALS),
        (40002, Action.CREDENTIALS),
        (40164, Action.CREDENTIALS),
        (40243, Action.CREDENTIALS),
        (89501, Action.CREDENTIALS),
        (89503, Action.CREDENTIALS),
        (89506, Action.CREDENTIALS),
        (89507, Action.CREDENTIALS),
        (99999, Action.UNKNOWN),
    ],
)
async def test_codes_the_sandbox_cannot_produce(arq_pool: ArqRedis, errcode: int, action: Action) -> None:
    # given a stub WeChat that answers the send with errcode
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "T1", "expires_in": 7200})
        return httpx.Response(
            200, json={"errcode": errcode, "errmsg": "stub rid: 0a1b2c3d-11112222-33334444"}
        )

    # when
    with pytest.raises(WeChatAPIError) as caught:
        await send_progress(stub_client(handler, arq_pool))

    # then
    assert (caught.value.errcode, caught.value.action) == (errcode, action)
    assert caught.value.request_id == "0a1b2c3d-11112222-33334444"


# --- login ------------------------------------------------------------------------------------


async def test_code_to_session_answers_the_user_and_hides_the_session_key(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        code = await sb.login_code(OPENID, unionid="oUNION_0001")
        session = await sb.client(arq_pool).code_to_session(code)
        assert (session.openid, session.unionid) == (OPENID, "oUNION_0001")
        assert session.session_key
        assert session.session_key not in repr(session)


@pytest.mark.parametrize(("case", "errcode"), [("unknown", 40029), ("used", 40163), ("blocked", 40226)])
async def test_bad_login_codes_are_relogin(arq_pool: ArqRedis, case: str, errcode: int) -> None:
    async with running_sandbox() as sb:
        client = sb.client(arq_pool)
        if case == "unknown":
            code = "no-such-code"
        elif case == "used":
            code = await sb.login_code(OPENID)
            await client.code_to_session(code)
        else:
            code = await sb.login_code(OPENID, blocked=True)
        with pytest.raises(WeChatAPIError) as caught:
            await client.code_to_session(code)
        assert (caught.value.errcode, caught.value.action) == (errcode, Action.RELOGIN)


# --- templates ------------------------------------------------------------------------------------


async def test_get_templates_lists_the_accounts_templates(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        templates = await sb.client(arq_pool).get_templates()
        ids = {t["priTmplId"] for t in templates}
        assert PROGRESS in ids
        assert ids == {template.template_id for template in load_templates_file().templates}


# --- log hygiene ------------------------------------------------------------------------------


async def test_secrets_tokens_and_openids_never_reach_the_logs(
    arq_pool: ArqRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_sandbox() as sb:
        # given a login, a send and a token refresh, with every logger at DEBUG
        await subscribed_user(sb)
        client = sb.client(arq_pool)
        code = await sb.login_code(OPENID)
        session = await client.code_to_session(code)
        await send_progress(client)
        token = await client.tokens.peek()
        await sb.force_refresh_elsewhere()
        await subscribed_user(sb)
        await send_progress(client)

    # then none of the secrets appears in any log line
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "HTTP Request" in text  # httpx did log its requests
    assert token and token not in text
    for secret in (defaults.SECRET, session.session_key, OPENID, code):
        assert secret not in text


# --- helpers ----------------------------------------------------------------------------------


def stub_client(handler: Callable[[httpx.Request], httpx.Response], redis: ArqRedis) -> WeChatClient:
    """A client whose WeChat is ``handler`` (a MockTransport)."""
    return WeChatClient(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        redis,
        appid=defaults.APPID,
        secret=defaults.SECRET,
        api_base="http://wechat.test",
    )


def shipping_payload(transaction_id: str) -> dict[str, Any]:
    return {
        "order_key": {"order_number_type": 2, "transaction_id": transaction_id},
        "logistics_type": 1,
        "delivery_mode": 1,
        "shipping_list": [
            {
                "tracking_no": "SF1234567890",
                "express_company": "SF",
                "item_desc": "有机燕麦片*2",
                "contact": {"receiver_contact": "138****1234"},
            }
        ],
        "upload_time": "2026-01-01T10:00:00.000+08:00",
        "payer": {"openid": OPENID},
    }
