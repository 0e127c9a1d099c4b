"""How one sandbox instance is set up: credentials, where and how it pushes, templates, limits.

``SandboxConfig.from_env()`` reads ``SANDBOX_*`` variables (see ``ENV_VARIABLES``); every one
has the dev default `make run` uses, so a bare ``python -m wxsandbox`` talks to a BFF started
with the sandbox credentials.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bff.wechat.events import PushFormat
from wxsandbox import defaults
from wxsandbox.templates import TemplatesSource

PushMode = Literal["plain", "secure"]
PUSH_MODES: tuple[PushMode, ...] = ("plain", "secure")
_AES_KEY_RE = re.compile(r"[A-Za-z0-9]{43}")

# variable → what it sets (and its default).
ENV_VARIABLES: Mapping[str, str] = {
    "SANDBOX_APPID": f"appid ({defaults.APPID})",
    "SANDBOX_SECRET": "AppSecret (the dev default)",
    "SANDBOX_ORIGINAL_ID": f"original id gh_... ({defaults.ORIGINAL_ID})",
    "SANDBOX_PUSH_URL": "the BFF's /wechat/push URL (unset: no pushes)",
    "SANDBOX_PUSH_TOKEN": f"message-push Token ({defaults.PUSH_TOKEN})",
    "SANDBOX_AES_KEY": "message-push EncodingAESKey, 43 characters (the dev default)",
    "SANDBOX_PUSH_MODE": "secure or plain (secure)",
    "SANDBOX_PUSH_FORMAT": "xml or json (xml)",
    "SANDBOX_TEMPLATES_FILE": "templates TOML (else TEMPLATES_FILE, else the bundled file)",
    "SANDBOX_DAILY_SEND_LIMIT": f"subscribe/send calls a day before 45009 ({defaults.DAILY_SEND_LIMIT})",
    "SANDBOX_TOKEN_TTL_S": f"access_token lifetime in seconds ({defaults.TOKEN_TTL_S})",
    "SANDBOX_PAGES": "comma-separated page whitelist for 41030 (unset: any page)",
    "SANDBOX_SENSITIVE_WORDS": "comma-separated words answered 45168 (unset: none)",
    "SANDBOX_SEND_LATENCY_MS": "how long a send holds its openid in flight (0)",
    "SANDBOX_SEED": "seed of the fault-injection random generator (unset: random)",
    "SANDBOX_STATE_FILE": "JSON file keeping users, quotas and inbox across restarts (unset: memory only)",
}


class SandboxConfigError(ValueError):
    """A bad setting; the message names the field or variable and what is wrong, on one line."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# SandboxConfig field → the variable from_env reads it from.
_FIELD_VARIABLES = {
    "appid": "SANDBOX_APPID",
    "secret": "SANDBOX_SECRET",
    "original_id": "SANDBOX_ORIGINAL_ID",
    "push_token": "SANDBOX_PUSH_TOKEN",
    "encoding_aes_key": "SANDBOX_AES_KEY",
    "token_ttl_s": "SANDBOX_TOKEN_TTL_S",
    "daily_send_limit": "SANDBOX_DAILY_SEND_LIMIT",
    "send_latency_ms": "SANDBOX_SEND_LATENCY_MS",
}


@dataclass
class SandboxConfig:
    appid: str = defaults.APPID
    secret: str = defaults.SECRET
    original_id: str = defaults.ORIGINAL_ID
    # The BFF's /wechat/push URL; None = the sandbox pushes nothing.
    push_url: str | None = None
    push_token: str = defaults.PUSH_TOKEN
    encoding_aes_key: str = defaults.ENCODING_AES_KEY
    # Secure, as WeChat recommends and as the BFF requires once it has an EncodingAESKey (always
    # outside production): it then refuses plaintext pushes.
    push_mode: PushMode = "secure"
    push_format: PushFormat = PushFormat.XML
    # TemplateConfig list, a templates-file path, or None for the project's bundled file.
    templates: TemplatesSource = None
    daily_send_limit: int = defaults.DAILY_SEND_LIMIT
    token_ttl_s: int = defaults.TOKEN_TTL_S
    token_daily_limit: int = defaults.TOKEN_DAILY_LIMIT
    # Pages of the released mini-program (path without query); None = any page is valid.
    pages: frozenset[str] | None = None
    sensitive_words: tuple[str, ...] = ()
    # How long a send holds its openid in flight, so truly concurrent sends collide (43108).
    send_latency_ms: int = 0
    # JSON pushes carry numbers as strings ("CreateTime":"1767225600"), as WeChat's examples do.
    json_numbers_as_strings: bool = True
    push_timeout_s: float = defaults.PUSH_TIMEOUT_S
    push_attempts: int = defaults.PUSH_ATTEMPTS
    max_subscribe_ids: int = defaults.MAX_SUBSCRIBE_IDS
    # True: upload_shipping_info answers 10060001 for a payment not registered over
    # /sandbox/payments; False: any payment exists.
    shipping_known_payments_only: bool = False
    # Unionid per openid for users whose login codes do not carry one.
    unionids: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    # Where users, quotas, tokens and the inbox are kept across restarts; None = memory only.
    state_file: Path | None = None

    def __post_init__(self) -> None:
        for name in ("appid", "secret", "original_id", "push_token"):
            if not getattr(self, name):
                raise SandboxConfigError(f"{name} must not be empty", field=name)
        if self.push_mode not in PUSH_MODES:
            raise SandboxConfigError(f"push_mode must be 'plain' or 'secure', got {self.push_mode!r}")
        if not _AES_KEY_RE.fullmatch(self.encoding_aes_key):
            raise SandboxConfigError(
                "encoding_aes_key must be 43 characters of A-Z, a-z, 0-9", field="encoding_aes_key"
            )
        if self.token_ttl_s <= defaults.TOKEN_GRACE_S:
            raise SandboxConfigError(
                f"token_ttl_s must exceed {defaults.TOKEN_GRACE_S}, got {self.token_ttl_s}",
                field="token_ttl_s",
            )
        for name in ("daily_send_limit", "token_daily_limit", "send_latency_ms"):
            if getattr(self, name) < 0:
                raise SandboxConfigError(
                    f"{name} must not be negative, got {getattr(self, name)}", field=name
                )
        if self.push_attempts < 1:
            raise SandboxConfigError(f"push_attempts must be at least 1, got {self.push_attempts}")
        if not 1 <= self.max_subscribe_ids <= 5:
            raise SandboxConfigError(f"max_subscribe_ids must be 1..5, got {self.max_subscribe_ids}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SandboxConfig:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name)
            return value.strip() if value is not None and value.strip() else None

        def integer(name: str, default: int) -> int:
            raw = get(name)
            if raw is None:
                return default
            try:
                return int(raw)
            except ValueError:
                raise SandboxConfigError(f"{name}: must be an integer, got {raw!r}") from None

        def words(name: str) -> list[str]:
            raw = get(name)
            return [word.strip() for word in raw.split(",") if word.strip()] if raw else []

        push_mode = (get("SANDBOX_PUSH_MODE") or "secure").lower()
        if push_mode not in PUSH_MODES:
            raise SandboxConfigError(f"SANDBOX_PUSH_MODE: must be plain or secure, got {push_mode!r}")
        format_name = (get("SANDBOX_PUSH_FORMAT") or "xml").upper()
        if format_name not in PushFormat.__members__:
            raise SandboxConfigError(f"SANDBOX_PUSH_FORMAT: must be xml or json, got {format_name.lower()!r}")
        seed_raw = get("SANDBOX_SEED")
        pages = words("SANDBOX_PAGES")
        try:
            return cls(
                appid=get("SANDBOX_APPID") or defaults.APPID,
                secret=get("SANDBOX_SECRET") or defaults.SECRET,
                original_id=get("SANDBOX_ORIGINAL_ID") or defaults.ORIGINAL_ID,
                push_url=get("SANDBOX_PUSH_URL"),
                push_token=get("SANDBOX_PUSH_TOKEN") or defaults.PUSH_TOKEN,
                encoding_aes_key=get("SANDBOX_AES_KEY") or defaults.ENCODING_AES_KEY,
                push_mode="plain" if push_mode == "plain" else "secure",
                push_format=PushFormat[format_name],
                templates=get("SANDBOX_TEMPLATES_FILE") or get("TEMPLATES_FILE"),
                daily_send_limit=integer("SANDBOX_DAILY_SEND_LIMIT", defaults.DAILY_SEND_LIMIT),
                token_ttl_s=integer("SANDBOX_TOKEN_TTL_S", defaults.TOKEN_TTL_S),
                pages=frozenset(page.lstrip("/") for page in pages) if pages else None,
                sensitive_words=tuple(words("SANDBOX_SENSITIVE_WORDS")),
                send_latency_ms=integer("SANDBOX_SEND_LATENCY_MS", 0),
                seed=integer("SANDBOX_SEED", 0) if seed_raw is not None else None,
                state_file=Path(state_file) if (state_file := get("SANDBOX_STATE_FILE")) else None,
            )
        except SandboxConfigError as exc:
            variable = _FIELD_VARIABLES.get(exc.field or "")
            if variable is None:
                raise  # already names its variable
            raise SandboxConfigError(f"{variable}: {exc}", field=exc.field) from None
