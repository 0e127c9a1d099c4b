"""errcode → action classification and the error types (§11, §1.3, §1.4, §7)."""

from __future__ import annotations

import pickle

import pytest

from bff.wechat.errors import (
    Action,
    WeChatAPIError,
    WeChatTransportError,
    classify,
    parse_request_id,
    retry_delay_floor,
)

# Every row of the §11 table, plus the choices documented in bff/wechat/errors.py.
TABLE: dict[Action, list[int]] = {
    Action.RETRY: [-1, 43108, 45011, 10060001],
    Action.REFRESH_TOKEN: [40001, 40014, 42001],
    Action.QUOTA_EXHAUSTED: [43101],
    Action.DEFER_TOMORROW: [45009],
    Action.TEMPLATE_BUG: [40037, 41030, 43107, 48001, *range(200011, 200023)],
    Action.DATA_BUG: [47003, 45168, 44002, 47001, 10060006, 268485228, 10060004],
    Action.DROP_RECIPIENT: [40003],
    Action.CREDENTIALS: [40002, 40013, 40125, 40164, 40243, 89501, 89503, 89506, 89507, 41001],
    Action.RELOGIN: [40029, 40163, 40226],
}


@pytest.mark.parametrize(
    ("errcode", "action"), [(code, action) for action, codes in TABLE.items() for code in codes]
)
def test_every_documented_errcode_maps_to_its_action(errcode: int, action: Action) -> None:
    assert classify(errcode) is action


@pytest.mark.parametrize("errcode", [12345, 40000, 200010, 200023, 200100, 48006, 99999999])
def test_unlisted_errcodes_are_unknown(errcode: int) -> None:
    assert classify(errcode) is Action.UNKNOWN


def test_success_is_not_classified() -> None:
    with pytest.raises(ValueError, match="success"):
        classify(0)


@pytest.mark.parametrize(
    ("errcode", "floor"),
    [
        (45011, 60.0),
        (43108, 1.0),
        (-1, 1.0),
        (10060001, 10.0),
        (12345, 1.0),
        (40001, 0.0),
        (43101, 0.0),
        (0, 0.0),
    ],
)
def test_retry_delay_floor(errcode: int, floor: float) -> None:
    assert retry_delay_floor(errcode) == floor


def test_every_retry_code_has_a_positive_floor() -> None:
    for code in TABLE[Action.RETRY]:
        assert retry_delay_floor(code) > 0, code


@pytest.mark.parametrize(
    ("errmsg", "request_id"),
    [
        ("user refuse to accept the msg rid: 6083e5cc-50cbdcb3-53499677", "6083e5cc-50cbdcb3-53499677"),
        (
            "argument invalid! data.thing3.value is emtpy rid: 60d1A7bc-0f1e2d3c-4b5a6978",
            "60d1A7bc-0f1e2d3c-4b5a6978",
        ),
        (
            "access_token is invalid or not latest rid:6083e5cc-50cbdcb3-53499677",
            "6083e5cc-50cbdcb3-53499677",
        ),
        ("invalid openid hint: [Mq4Ab05892963]", "Mq4Ab05892963"),
        ("system error", None),
        ("", None),
        ("rid: 6083e5cc-50cbdcb3", None),  # incomplete id
    ],
)
def test_parse_request_id(errmsg: str, request_id: str | None) -> None:
    assert parse_request_id(errmsg) == request_id


def test_api_error_from_response_carries_everything_a_log_needs() -> None:
    # given a refused send
    error = WeChatAPIError.from_response(
        "subscribeMessage.send", 43101, "user refuse to accept the msg rid: 6083e5cc-50cbdcb3-53499677"
    )
    # then
    assert error.request_id == "6083e5cc-50cbdcb3-53499677"
    assert error.action is Action.QUOTA_EXHAUSTED
    assert str(error) == (
        "subscribeMessage.send failed with errcode 43101: "
        "user refuse to accept the msg rid: 6083e5cc-50cbdcb3-53499677"
    )


def test_api_error_delay_floor_follows_its_errcode() -> None:
    error = WeChatAPIError(errcode=45011, errmsg="api minute-quota reach limit", request_id=None, api="send")
    assert error.action is Action.RETRY
    assert error.delay_floor == 60.0


def test_errors_survive_pickling_as_arq_stores_them() -> None:
    # given
    api_error = WeChatAPIError(errcode=40037, errmsg="invalid template_id", request_id="r", api="send")
    transport = WeChatTransportError(api="send", detail="ReadTimeout", outcome_unknown=True)
    # when
    api_copy = pickle.loads(pickle.dumps(api_error))
    transport_copy = pickle.loads(pickle.dumps(transport))
    # then
    assert (api_copy.errcode, api_copy.errmsg, api_copy.request_id, api_copy.api) == (
        40037,
        "invalid template_id",
        "r",
        "send",
    )
    assert api_copy.action is Action.TEMPLATE_BUG
    assert (transport_copy.api, transport_copy.detail, transport_copy.outcome_unknown) == (
        "send",
        "ReadTimeout",
        True,
    )


def test_errors_are_raisable_and_hashable() -> None:
    error = WeChatAPIError(errcode=-1, errmsg="system error", request_id=None, api="send")
    with pytest.raises(WeChatAPIError) as caught:
        raise error
    assert caught.value is error
    assert {error} == {error}


@pytest.mark.parametrize(
    ("outcome_unknown", "action"), [(True, Action.OUTCOME_UNKNOWN), (False, Action.TRANSPORT)]
)
def test_transport_error_action(outcome_unknown: bool, action: Action) -> None:
    error = WeChatTransportError(
        api="subscribeMessage.send", detail="timed out", outcome_unknown=outcome_unknown
    )
    assert error.action is action
    assert "subscribeMessage.send" in str(error) and "timed out" in str(error)
    assert ("may have been processed" in str(error)) is outcome_unknown
