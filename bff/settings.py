"""Runtime settings: every variable of docs/configuration.md, read once at start.

`load_settings()` validates the environment and raises `SettingsError` with one line that names
the variable and what is wrong; the CLI prints that line and exits 2 (no traceback).

`LVYUE_ENV` (not in the contract; ours) says which defaults apply:
- `production` (default): WeChat and supply-chain secrets are required;
- `development` (`make run` / `bff dev`): the bundled sandbox's values are the defaults;
- `test`: like development, for the test suite.
"""

from __future__ import annotations

import functools
import os
import re
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from bff import dev_defaults as sandbox_defaults

Environment = Literal["production", "development", "test"]

DEFAULT_DATABASE_URL = "sqlite://data/bff.sqlite3"
DEFAULT_WECHAT_API_BASE = "https://api.weixin.qq.com"
AES_KEY_RE = re.compile(r"^[A-Za-z0-9]{43}$")
HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class SettingsError(Exception):
    """A missing or malformed environment variable; the message is one line."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True)
class Settings:
    env: Environment
    database_url: str
    redis_url: str | None
    data_dir: Path
    wechat_api_base: str
    wechat_appid: str
    wechat_secret: str
    wechat_push_token: str
    wechat_aes_key: str | None
    wechat_previous_aes_key: str | None
    miniprogram_state: str
    session_secret: str
    supply_chain_secret: str
    supply_chain_callback_url: str | None
    ops_api_key: str | None
    templates_file: Path | None
    business_tz: str

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.business_tz)


def _get(environ: dict[str, str], name: str) -> str | None:
    value = environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _require(environ: dict[str, str], name: str, env: Environment, dev_default: str) -> str:
    value = _get(environ, name)
    if value is not None:
        return value
    if env == "production":
        raise SettingsError(name, "is required (set it, or run `make run` for the sandbox defaults)")
    return dev_default


def _check_database_url(url: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in {"sqlite", "postgres", "asyncpg", "psycopg"}:
        raise SettingsError(
            "DATABASE_URL", f"unsupported scheme {scheme or '(none)'!r}; use sqlite://path or postgres://..."
        )
    if scheme == "sqlite" and not url.removeprefix("sqlite://"):
        raise SettingsError("DATABASE_URL", "sqlite:// needs a file path, e.g. sqlite://data/bff.sqlite3")
    if scheme != "sqlite":
        parts = urlsplit(url)
        if not parts.hostname or not parts.path.strip("/"):
            raise SettingsError("DATABASE_URL", "needs a host and a database name: postgres://user@host:5432/db")
    return url


def _check_http_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise SettingsError(name, f"must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


def port_from_env(name: str, default: int, environ: dict[str, str] | None = None) -> int:
    """A TCP port from the environment (PORT, SANDBOX_PORT), `default` when unset."""
    raw = _get(dict(os.environ if environ is None else environ), name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(name, f"must be a port number from 1 to 65535, got {raw!r}")
    return int(raw)


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and check the environment. Raises SettingsError on the first bad variable."""
    environ = dict(os.environ if environ is None else environ)
    env_raw = _get(environ, "LVYUE_ENV") or "production"
    if env_raw not in ("production", "development", "test"):
        raise SettingsError("LVYUE_ENV", f"must be production, development or test, got {env_raw!r}")
    env: Environment = env_raw  # type: ignore[assignment]

    database_url = _check_database_url(_get(environ, "DATABASE_URL") or DEFAULT_DATABASE_URL)

    redis_url = _get(environ, "REDIS_URL")
    if redis_url is not None and urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
        raise SettingsError("REDIS_URL", f"must be redis://, rediss:// or unix://, got {redis_url!r}")

    sandbox = env != "production"
    # Outside production WeChat is the sandbox `bff dev` serves on SANDBOX_PORT, also for commands
    # and scripts run beside it in another shell.
    default_api_base = DEFAULT_WECHAT_API_BASE
    if sandbox:
        sandbox_port = port_from_env("SANDBOX_PORT", sandbox_defaults.SANDBOX_PORT, environ)
        default_api_base = sandbox_defaults.sandbox_api_base(sandbox_port)
    api_base = _get(environ, "WECHAT_API_BASE") or default_api_base
    api_base = _check_http_url("WECHAT_API_BASE", api_base)

    # No AES key in production means plaintext push only; secure-mode pushes are then refused.
    aes_key = _get(environ, "WECHAT_AES_KEY") or (sandbox_defaults.ENCODING_AES_KEY if sandbox else None)
    if aes_key is not None and not AES_KEY_RE.match(aes_key):
        raise SettingsError("WECHAT_AES_KEY", "must be 43 characters of A-Z, a-z, 0-9 (the EncodingAESKey)")
    previous_aes_key = _get(environ, "WECHAT_PREVIOUS_AES_KEY")
    if previous_aes_key is not None and not AES_KEY_RE.match(previous_aes_key):
        raise SettingsError("WECHAT_PREVIOUS_AES_KEY", "must be 43 characters of A-Z, a-z, 0-9")

    state = _get(environ, "MINIPROGRAM_STATE") or "formal"
    if state not in ("developer", "trial", "formal"):
        raise SettingsError("MINIPROGRAM_STATE", f"must be developer, trial or formal, got {state!r}")

    session_secret = _require(environ, "SESSION_SECRET", env, "dev-session-secret-" + os.urandom(16).hex())
    if len(session_secret) < 16:
        raise SettingsError("SESSION_SECRET", "must be at least 16 characters")

    callback = _get(environ, "SUPPLY_CHAIN_CALLBACK_URL")
    if callback is not None:
        callback = _check_http_url("SUPPLY_CHAIN_CALLBACK_URL", callback)

    templates_raw = _get(environ, "TEMPLATES_FILE")
    templates_file = Path(templates_raw) if templates_raw else None
    if templates_file is not None and not templates_file.is_file():
        raise SettingsError("TEMPLATES_FILE", f"no such file: {templates_file}")

    business_tz = _get(environ, "BUSINESS_TZ") or "Asia/Shanghai"
    try:
        zoneinfo.ZoneInfo(business_tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError("BUSINESS_TZ", f"unknown time zone {business_tz!r}") from None

    return Settings(
        env=env,
        database_url=database_url,
        redis_url=redis_url,
        data_dir=Path(_get(environ, "LVYUE_DATA_DIR") or "data"),
        wechat_api_base=api_base,
        wechat_appid=_require(environ, "WECHAT_APPID", env, sandbox_defaults.APPID),
        wechat_secret=_require(environ, "WECHAT_SECRET", env, sandbox_defaults.SECRET),
        wechat_push_token=_require(environ, "WECHAT_PUSH_TOKEN", env, sandbox_defaults.PUSH_TOKEN),
        wechat_aes_key=aes_key,
        wechat_previous_aes_key=previous_aes_key,
        miniprogram_state=state,
        session_secret=session_secret,
        supply_chain_secret=_require(environ, "SUPPLY_CHAIN_SECRET", env, sandbox_defaults.SUPPLY_CHAIN_SECRET),
        supply_chain_callback_url=callback,
        ops_api_key=_get(environ, "OPS_API_KEY"),
        templates_file=templates_file,
        business_tz=business_tz,
    )


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
