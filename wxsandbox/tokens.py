"""access_token issuance and checking, as wechat-platform.md §6.3 describes WeChat's behaviour.

* ``/cgi-bin/token`` mints a new token on every call; the one it replaces keeps working for
  300 s, anything older stops at once (40001). Tokens expire after ``ttl_s`` (42001).
* ``/cgi-bin/stable_token`` keeps its own token, isolated from the plain ones: normal mode
  returns the same token until fewer than 300 s are left, then a new one (the old one lives out
  its time). ``force_refresh`` revokes every earlier stable token at once; it is allowed 20 times a
  day and at most once per 30 s (inside 30 s it answers the current token without refreshing).
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from wxsandbox import defaults
from wxsandbox.errors import WxError

TokenKind = Literal["plain", "stable"]


@dataclass
class IssuedToken:
    value: str
    kind: TokenKind
    issued_at: float
    expires_at: float
    # From this moment on the token answers 40001 (superseded or force-revoked).
    revoked_at: float | None = None

    def expires_in(self, now: float) -> int:
        return max(0, int(self.expires_at - now))


class TokenBook:
    def __init__(
        self,
        *,
        ttl_s: int = defaults.TOKEN_TTL_S,
        grace_s: int = defaults.TOKEN_GRACE_S,
        plain_daily_limit: int = defaults.TOKEN_DAILY_LIMIT,
        stable_daily_limit: int = defaults.STABLE_TOKEN_DAILY_LIMIT,
        force_daily_limit: int = defaults.STABLE_FORCE_DAILY_LIMIT,
        force_min_interval_s: float = defaults.STABLE_FORCE_MIN_INTERVAL_S,
    ) -> None:
        if ttl_s <= grace_s:
            raise ValueError(f"token ttl ({ttl_s} s) must be longer than the {grace_s} s hand-over")
        self.ttl_s = ttl_s
        self.grace_s = grace_s
        self.plain_daily_limit = plain_daily_limit
        self.stable_daily_limit = stable_daily_limit
        self.force_daily_limit = force_daily_limit
        self.force_min_interval_s = force_min_interval_s
        self._tokens: dict[str, IssuedToken] = {}
        self._plain_current: IssuedToken | None = None
        self._stable_current: IssuedToken | None = None
        self._last_force_at: float | None = None
        self._daily: Counter[tuple[int, str]] = Counter()
        # Observability: plain / stable / stable_force / stable_force_skipped / rejected_<code>.
        self.counters: Counter[str] = Counter()

    # -- issuing ----------------------------------------------------------------------------

    def issue_plain(self, now: float, day: int) -> IssuedToken:
        if self._daily[(day, "plain")] >= self.plain_daily_limit:
            raise WxError(45009)
        self._daily[(day, "plain")] += 1
        previous = self._plain_current
        for token in self._tokens.values():
            if token.kind == "plain" and token is not previous and _alive(token, now):
                token.revoked_at = now
        if previous is not None and _alive(previous, now):
            previous.revoked_at = now + self.grace_s
        token = self._mint("plain", now)
        self._plain_current = token
        self.counters["plain"] += 1
        return token

    def stable(self, now: float, day: int, *, force_refresh: bool) -> IssuedToken:
        if self._daily[(day, "stable")] >= self.stable_daily_limit:
            raise WxError(45009)
        self._daily[(day, "stable")] += 1
        current = self._stable_current
        usable = current is not None and current.revoked_at is None and current.expires_at - now > 0
        if force_refresh:
            recent = self._last_force_at is not None and now - self._last_force_at < self.force_min_interval_s
            if recent and usable and current is not None:
                self.counters["stable_force_skipped"] += 1
                return current
            if self._daily[(day, "force")] >= self.force_daily_limit:
                raise WxError(45009)
            self._daily[(day, "force")] += 1
            self._last_force_at = now
            for token in self._tokens.values():
                if token.kind == "stable" and _alive(token, now):
                    token.revoked_at = now
            self.counters["stable_force"] += 1
            self._stable_current = self._mint("stable", now)
            return self._stable_current
        self.counters["stable"] += 1
        if usable and current is not None and current.expires_at - now >= self.grace_s:
            return current
        # Renewal in the last minutes: the old token simply lives out its remaining time.
        self._stable_current = self._mint("stable", now)
        return self._stable_current

    def _mint(self, kind: TokenKind, now: float) -> IssuedToken:
        tag = "P" if kind == "plain" else "S"
        value = f"{len(self._tokens) + 1}_{tag}{secrets.token_urlsafe(96)}"
        token = IssuedToken(value=value, kind=kind, issued_at=now, expires_at=now + self.ttl_s)
        self._tokens[value] = token
        return token

    # -- checking ---------------------------------------------------------------------------

    def check(self, value: str | None, now: float) -> IssuedToken:
        """The token behind ``value``, or the WxError a protected endpoint answers."""
        code = self._problem(value, now)
        if code is not None:
            self.counters[f"rejected_{code}"] += 1
            raise WxError(code)
        assert value is not None
        return self._tokens[value]

    def _problem(self, value: str | None, now: float) -> int | None:
        if not value:
            return 41001
        token = self._tokens.get(value)
        if token is None:
            return 40014
        if now >= token.expires_at:
            return 42001
        if token.revoked_at is not None and now >= token.revoked_at:
            return 40001
        return None

    def current_plain(self) -> IssuedToken | None:
        return self._plain_current

    def current_stable(self) -> IssuedToken | None:
        return self._stable_current


def _alive(token: IssuedToken, now: float) -> bool:
    return now < token.expires_at and (token.revoked_at is None or now < token.revoked_at)
