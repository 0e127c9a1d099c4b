"""WeChat API failures and what to do about each (wechat-platform.md §11, §1.3, §1.4, §7).

``classify`` turns an ``errcode`` into an Action; callers decide by the Action only, so the
errcode knowledge stays here. Choices the doc leaves open:

* 41001 (access_token missing) is CREDENTIALS: the client sent no token at all, which a refresh
  cannot fix (the client refuses to send without one); it needs a human, like a bad AppSecret.
* 10060004 (payment not in a shippable state, §10.1) is DATA_BUG: permanent for that payload.
* Unlisted codes are UNKNOWN: retry with backoff a few times (floor 1 s), then fail and alert.
* errcode 0 is success and has no action; classifying it is a caller bug (ValueError).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Action",
    "WeChatAPIError",
    "WeChatTransportError",
    "classify",
    "parse_request_id",
    "retry_delay_floor",
]


class Action(StrEnum):
    RETRY = "retry"  # transient on WeChat's side: back off (see retry_delay_floor) and retry
    REFRESH_TOKEN = "refresh_token"  # drop the cached token, refresh, retry once
    QUOTA_EXHAUSTED = "quota_exhausted"  # no subscription left for (openid, template): stop
    DEFER_TOMORROW = "defer_tomorrow"  # daily API quota used up: retry after the daily reset, alert
    TEMPLATE_BUG = "template_bug"  # template/config wrong or banned: disable template, alert
    DATA_BUG = "data_bug"  # payload refused: fix the data, never resend as-is
    DROP_RECIPIENT = "drop_recipient"  # openid invalid for this app: flag the user, stop
    CREDENTIALS = "credentials"  # appid/secret/IP whitelist/token wiring wrong: alert ops
    RELOGIN = "relogin"  # login code unusable: ask the mini program to wx.login again
    OUTCOME_UNKNOWN = "outcome_unknown"  # request sent, no answer: may have happened, reconcile
    TRANSPORT = "transport"  # nothing was sent (connect failure): safe to retry
    UNKNOWN = "unknown"  # unclassified errcode: a few backed-off retries, then fail


_ACTIONS: dict[int, Action] = {}


def _register(action: Action, *codes: int) -> None:
    for code in codes:
        _ACTIONS[code] = action


_register(Action.RETRY, -1, 43108, 45011, 10060001)
_register(Action.REFRESH_TOKEN, 40001, 40014, 42001)
_register(Action.QUOTA_EXHAUSTED, 43101)
_register(Action.DEFER_TOMORROW, 45009)
_register(Action.TEMPLATE_BUG, 40037, 41030, 43107, 48001, *range(200011, 200023))
_register(Action.DATA_BUG, 47003, 45168, 44002, 47001, 10060004, 10060006, 268485228)
_register(Action.DROP_RECIPIENT, 40003)
_register(Action.CREDENTIALS, 41001, 40002, 40013, 40125, 40164, 40243, 89501, 89503, 89506, 89507)
_register(Action.RELOGIN, 40029, 40163, 40226)

# Minimum wait before retrying, in seconds (§1.3, §7, §10.1).
_DELAY_FLOORS: dict[int, float] = {
    -1: 1.0,  # system busy
    43108: 1.0,  # concurrent send to the same openid: a short pause once the other send is done
    45011: 60.0,  # per-minute quota: "retry next minute"
    10060001: 10.0,  # payment not yet ingested by the shipping service: 10-60 s
}
_UNKNOWN_DELAY_FLOOR = 1.0

_RID = re.compile(r"\brid:\s*([0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8})", re.IGNORECASE)
_HINT = re.compile(r"\bhint:\s*\[([^\]\s]+)\]")


def classify(errcode: int) -> Action:
    """The action for a non-zero ``errcode`` (§11); UNKNOWN for codes the doc does not list."""
    if errcode == 0:
        raise ValueError("errcode 0 means success; there is nothing to classify")
    return _ACTIONS.get(errcode, Action.UNKNOWN)


def retry_delay_floor(errcode: int) -> float:
    """Minimum seconds to wait before retrying ``errcode``: set for RETRY codes, 1 s for UNKNOWN, else 0."""
    if errcode in _DELAY_FLOORS:
        return _DELAY_FLOORS[errcode]
    if errcode != 0 and classify(errcode) is Action.UNKNOWN:
        return _UNKNOWN_DELAY_FLOOR
    return 0.0


def parse_request_id(errmsg: str) -> str | None:
    """The request id WeChat appends to ``errmsg``: ``rid: xxxxxxxx-xxxxxxxx-xxxxxxxx`` or ``hint: [..]``."""
    match = _RID.search(errmsg) or _HINT.search(errmsg)
    return match.group(1) if match else None


@dataclass(eq=False)
class WeChatAPIError(Exception):
    """WeChat answered with a non-zero ``errcode``."""

    errcode: int
    errmsg: str
    request_id: str | None
    api: str

    def __post_init__(self) -> None:
        # Exception.args in field order keeps the error picklable (arq stores job exceptions).
        super().__init__(self.errcode, self.errmsg, self.request_id, self.api)

    @classmethod
    def from_response(cls, api: str, errcode: int, errmsg: str) -> WeChatAPIError:
        return cls(errcode=errcode, errmsg=errmsg, request_id=parse_request_id(errmsg), api=api)

    @property
    def action(self) -> Action:
        return classify(self.errcode)

    @property
    def delay_floor(self) -> float:
        return retry_delay_floor(self.errcode)

    def __str__(self) -> str:
        return f"{self.api} failed with errcode {self.errcode}: {self.errmsg}"


@dataclass(eq=False)
class WeChatTransportError(Exception):
    """No usable answer from WeChat (connect error, timeout, non-2xx, undecodable body).

    ``outcome_unknown`` is True when the request may have reached WeChat (read timeout, connection
    dropped after the request was written): a send may have gone out and used a quota. It is False
    when nothing was sent (DNS or connect failure, connect timeout, pool timeout).
    """

    api: str
    detail: str
    outcome_unknown: bool

    def __post_init__(self) -> None:
        super().__init__(self.api, self.detail, self.outcome_unknown)

    @property
    def action(self) -> Action:
        return Action.OUTCOME_UNKNOWN if self.outcome_unknown else Action.TRANSPORT

    def __str__(self) -> str:
        outcome = "request may have been processed" if self.outcome_unknown else "request not sent"
        return f"{self.api} transport failure ({outcome}): {self.detail}"
