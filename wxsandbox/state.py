"""Everything the sandbox remembers, in memory, behind one asyncio lock.

Handlers take ``state.lock`` around each read-check-write of shared data; they never hold it
across a sleep (send latency, timeout faults), so a slow send does not stall other users.
"""

from __future__ import annotations

import asyncio
import base64
import random
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from wxsandbox import defaults
from wxsandbox.clock import BEIJING, SandboxClock
from wxsandbox.config import SandboxConfig
from wxsandbox.errors import WxError
from wxsandbox.faults import Faults
from wxsandbox.templates import SandboxTemplate, load_registry
from wxsandbox.tokens import TokenBook

# msgids are 64-bit and above 2^53, so a client that parses them as floats loses digits.
_MSGID_LOW = 1 << 60
_MSGID_HIGH = (1 << 63) - 1


@dataclass
class LoginCode:
    code: str
    openid: str
    issued_at: float
    blocked: bool = False
    used: bool = False


@dataclass
class Subscription:
    """The user's standing with one template: one-time units left, long-term switch, kept choice."""

    remaining: int = 0
    active: bool = False
    # The "always keep this choice" answer, replayed silently by later popups.
    kept: str | None = None


@dataclass
class InboxMessage:
    msgid: int
    openid: str
    template_id: str
    title: str
    data: dict[str, str]
    page: str | None
    lines: list[str]
    received_at: float
    miniprogram_state: str
    lang: str

    def as_json(self) -> dict[str, Any]:
        return {
            "msgid": self.msgid,
            "openid": self.openid,
            "template_id": self.template_id,
            "title": self.title,
            "data": dict(self.data),
            "page": self.page,
            "lines": list(self.lines),
            "received_at": datetime.fromtimestamp(self.received_at, BEIJING).isoformat(),
            "miniprogram_state": self.miniprogram_state,
            "lang": self.lang,
        }


@dataclass
class ShippingOrder:
    transaction_id: str | None
    mchid: str | None
    out_trade_no: str | None
    payer_openid: str | None = None
    # 1 awaiting shipment, 2 shipped, 3 receipt confirmed, 4 complete, 5 refunded, 6 awaiting settlement.
    order_state: int = 1
    uploads: list[dict[str, Any]] = field(default_factory=list)
    last_upload_time: datetime | None = None
    reshipped: bool = False
    # (logistics_type, delivery_mode) of the first upload; a change counts as a re-ship.
    modes: tuple[int, int] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "merchant_id": self.mchid,
            "merchant_trade_no": self.out_trade_no,
            "openid": self.payer_openid,
            "order_state": self.order_state,
            "shipping": self.uploads[-1] if self.uploads else None,
            "uploads": len(self.uploads),
        }


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.lock = asyncio.Lock()
        self.clock = SandboxClock()
        self.templates: dict[str, SandboxTemplate] = load_registry(config.templates)
        self.reset()

    def reset(self) -> None:
        """Forget everything that happened (tokens, users, quotas, inbox, faults, clock)."""
        config = self.config
        self.clock.reset()
        self.tokens = TokenBook(ttl_s=config.token_ttl_s, plain_daily_limit=config.token_daily_limit)
        self.login_codes: dict[str, LoginCode] = {}
        # openid → unionid (None when the user has none); membership makes an openid "known".
        self.users: dict[str, str | None] = {}
        self.subscriptions: dict[tuple[str, str], Subscription] = {}
        self.in_flight: set[str] = set()
        self.daily_sends: Counter[int] = Counter()
        self.banned_templates: set[str] = set()
        self.inbox: list[InboxMessage] = []
        self.faults = Faults()
        self.random = random.Random(config.seed)
        self.orders: dict[tuple[str, ...], ShippingOrder] = {}
        self.sends_by_errcode: Counter[int] = Counter()
        self.counters: Counter[str] = Counter()
        self._msgids: set[int] = set()

    def reseed(self, seed: int) -> None:
        self.random = random.Random(seed)

    # -- users and login codes --------------------------------------------------------------

    def know(self, openid: str, unionid: str | None = None) -> None:
        """Make ``openid`` a user of this mini program (sends to it no longer answer 40003)."""
        known = self.users.get(openid)
        self.users[openid] = unionid or known or self.config.unionids.get(openid)

    def issue_login_code(self, openid: str, *, unionid: str | None = None, blocked: bool = False) -> str:
        self.know(openid, unionid)
        code = secrets.token_urlsafe(24)[:32]
        self.login_codes[code] = LoginCode(
            code=code, openid=openid, issued_at=self.clock.now(), blocked=blocked
        )
        return code

    def redeem_login_code(self, code: str) -> dict[str, str]:
        """What jscode2session answers for ``code``; a code works once, for 5 minutes."""
        login = self.login_codes.get(code)
        if login is None or self.clock.now() - login.issued_at > defaults.LOGIN_CODE_TTL_S:
            raise WxError(40029)
        if login.blocked:
            raise WxError(40226)
        if login.used:
            raise WxError(40163)
        login.used = True
        answer = {
            "openid": login.openid,
            "session_key": base64.b64encode(secrets.token_bytes(16)).decode("ascii"),
        }
        unionid = self.users.get(login.openid)
        if unionid:
            answer["unionid"] = unionid
        return answer

    # -- subscriptions and sends ------------------------------------------------------------

    def subscription(self, openid: str, template_id: str) -> Subscription:
        key = (openid, template_id)
        if key not in self.subscriptions:
            self.subscriptions[key] = Subscription()
        return self.subscriptions[key]

    def next_msgid(self) -> int:
        while True:
            msgid = secrets.randbelow(_MSGID_HIGH - _MSGID_LOW) + _MSGID_LOW
            if msgid not in self._msgids:
                self._msgids.add(msgid)
                return msgid

    def roll(self, share: float) -> bool:
        """True with probability ``share``, from the seedable generator (no draw when 0)."""
        return share > 0 and self.random.random() < share


def new_openid() -> str:
    """A made-up openid shaped like WeChat's: 28 characters starting with 'o'."""
    return "o" + secrets.token_urlsafe(21)[:27]
