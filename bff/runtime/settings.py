"""Runtime settings: every environment variable the service reads, checked once at start.

`load_settings()` checks the whole environment and raises `SettingsError` listing every missing,
malformed or weak variable at once (one line each, naming the variable and what is wrong); the
CLI prints those lines and exits 2 (no traceback). docs/configuration.md documents each variable.

`LVYUE_ENV` says which defaults apply:
- `production` (default): secrets, DATABASE_URL and REDIS_URL are required; secrets must be long
  enough and may not be the sandbox values published in this repository;
- `development` (`make run` / `bff dev`): the bundled sandbox's values are the defaults;
- `test`: like development, for the test suite.
"""

from __future__ import annotations

import functools
import os
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from bff.runtime import dev_defaults as sandbox_defaults
from bff.runtime.logs import LOG_FORMATS, LogFormat

Environment = Literal["production", "development", "test"]
MetricsExposure = Literal["public", "token", "off"]

DEFAULT_DATABASE_URL = "sqlite://data/bff.sqlite3"
DEFAULT_WECHAT_API_BASE = "https://api.weixin.qq.com"
AES_KEY_RE = re.compile(r"^[A-Za-z0-9]{43}$")
HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# WeChat's own rule for the message-push Token: letters and digits, 3 to 32 characters.
PUSH_TOKEN_RE = re.compile(r"^[A-Za-z0-9]{3,32}$")
# An AppSecret as WeChat issues it: 32 letters and digits.
APP_SECRET_RE = re.compile(r"^[A-Za-z0-9]{32}$")

# Shortest secrets production accepts. Below these a key can be guessed or brute-forced offline
# from one signed request; `openssl rand -hex 32` gives 64 characters.
MIN_SECRET_CHARS_PRODUCTION = 32
MIN_SECRET_CHARS_ELSEWHERE = 16
# The push Token is capped at 32 by WeChat, so production asks for half of that at least.
MIN_PUSH_TOKEN_CHARS_PRODUCTION = 16

# Values published in this repository for the sandbox: anyone can read them, so production refuses them.
SANDBOX_VALUES: dict[str, str] = {
    "WECHAT_APPID": sandbox_defaults.APPID,
    "WECHAT_SECRET": sandbox_defaults.SECRET,
    "WECHAT_PUSH_TOKEN": sandbox_defaults.PUSH_TOKEN,
    "WECHAT_AES_KEY": sandbox_defaults.ENCODING_AES_KEY,
    "WECHAT_PREVIOUS_AES_KEY": sandbox_defaults.ENCODING_AES_KEY,
    "SUPPLY_CHAIN_SECRET": sandbox_defaults.SUPPLY_CHAIN_SECRET,
}


class SettingsError(Exception):
    """Missing, malformed or weak environment variables: one `VARIABLE: problem` line each."""

    def __init__(self, variable: str, problem: str, *more: tuple[str, str]) -> None:
        self.problems: list[tuple[str, str]] = [(variable, problem), *more]
        self.variable = variable
        self.problem = problem
        super().__init__("\n".join(self.lines))

    @property
    def lines(self) -> list[str]:
        return [f"{variable}: {problem}" for variable, problem in self.problems]

    @classmethod
    def of(cls, problems: Sequence[tuple[str, str]]) -> SettingsError:
        first, *rest = problems
        return cls(first[0], first[1], *rest)


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
    ops_api_key: str | None  # the raw variable; ops_api_keys is what it says
    templates_file: Path | None
    business_tz: str
    metrics_exposure: MetricsExposure = "public"
    metrics_token: str | None = None
    # The merchant's masked phone for shipping uploads (SF Express requires one; §10.1).
    shipping_consignor_contact: str | None = None
    # Local hour for lifecycle and member notices of users without an open-hour profile
    # (bff/notices/timing/send_time.py); None: as soon as the policy allows.
    send_time_fallback_hour: int | None = None
    # Offers (bff/offers/rules.py): the member day of each month, and how long before points
    # expire the POINTS_EXPIRY offer is made.
    member_day: int = 18
    points_expiry_window_days: int = 30
    # How every process writes its log lines (bff/runtime/logs.py): "text" or "json".
    log_format: LogFormat = "text"
    # The operators' keys (OPS_API_KEY): (operator name, key) pairs; empty = the ops API is off.
    ops_api_keys: tuple[tuple[str, str], ...] = ()
    # `bff web`: one INFO line per request from uvicorn (off in production by default: about a
    # third of a bare request's cost, issue 12).
    web_access_log: bool = True

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


class _Reader:
    """Reads variables and collects every problem instead of stopping at the first."""

    def __init__(self, environ: dict[str, str], env: Environment) -> None:
        self.environ = environ
        self.env = env
        self.production = env == "production"
        self.problems: list[tuple[str, str]] = []

    def get(self, name: str) -> str | None:
        return _get(self.environ, name)

    def problem(self, name: str, text: str) -> None:
        self.problems.append((name, text))

    def require(self, name: str, dev_default: str) -> str:
        value = self.get(name)
        if value is not None:
            return value
        if self.production:
            self.problem(name, "is required (set it, or run `make run` for the sandbox defaults)")
        return dev_default

    def not_sandbox(self, name: str, value: str | None) -> bool:
        """False (and a problem) when production is given the repository's sandbox value."""
        if self.production and value is not None and SANDBOX_VALUES.get(name) == value:
            self.problem(name, "is the sandbox value published in the repository; use your own")
            return False
        return True

    def secret(self, name: str, value: str | None, *, minimum: int | None = None) -> None:
        """Refuse the repository's sandbox value in production, and anything shorter than `minimum`."""
        if value is None or not self.not_sandbox(name, value):
            return
        floor = minimum or (MIN_SECRET_CHARS_PRODUCTION if self.production else MIN_SECRET_CHARS_ELSEWHERE)
        if len(value) < floor:
            where = " in production" if self.production else ""
            self.problem(name, f"must be at least {floor} characters{where} (it has {len(value)})")


def _database_url_problem(url: str) -> str | None:
    scheme = urlsplit(url).scheme
    if scheme not in {"sqlite", "postgres", "asyncpg", "psycopg"}:
        return f"unsupported scheme {scheme or '(none)'!r}; use sqlite://path or postgres://..."
    if scheme == "sqlite" and not url.removeprefix("sqlite://"):
        return "sqlite:// needs a file path, e.g. sqlite://data/bff.sqlite3"
    if scheme != "sqlite":
        parts = urlsplit(url)
        if not parts.hostname or not parts.path.strip("/"):
            return "needs a host and a database name: postgres://user@host:5432/db"
    return None


def _shown(url: str) -> str:
    """A URL for an error line: a password or a query could be a secret, so they are hidden."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(":" + parts.password + "@", ":***@", 1)
    return parts._replace(netloc=netloc, query="***" if parts.query else "").geturl()


def _http_url(reader: _Reader, name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        reader.problem(name, f"must be an http(s) URL, got {_shown(url)!r}")
    return url.rstrip("/")


def port_from_env(name: str, default: int, environ: dict[str, str] | None = None) -> int:
    """A TCP port from the environment (PORT, SANDBOX_PORT), `default` when unset."""
    raw = _get(dict(os.environ if environ is None else environ), name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(name, f"must be a port number from 1 to 65535, got {raw!r}")
    return int(raw)


def log_format_from_env(environ: dict[str, str] | None = None) -> LogFormat:
    """LOG_FORMAT (`text` by default, or `json`): read before the rest, since logging is set up
    before the command reads its settings."""
    environ = dict(os.environ if environ is None else environ)
    raw = _get(environ, "LOG_FORMAT")
    if raw is None:
        return "text"
    if raw not in LOG_FORMATS:
        raise SettingsError("LOG_FORMAT", f"must be text or json, got {raw!r}")
    return raw  # type: ignore[return-value]


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and check the environment. Raises SettingsError listing every bad variable."""
    environ = dict(os.environ if environ is None else environ)
    env_raw = _get(environ, "LVYUE_ENV") or "production"
    if env_raw not in ("production", "development", "test"):
        # Which checks apply depends on this one: nothing else can be judged without it.
        raise SettingsError("LVYUE_ENV", f"must be production, development or test, got {env_raw!r}")
    env: Environment = env_raw  # type: ignore[assignment]
    reader = _Reader(environ, env)
    production = reader.production

    # Production runs several processes against one database and one Redis: the embedded
    # SQLite file and Redis server are per checkout, so falling back to them would split state.
    database_url = reader.get("DATABASE_URL")
    if database_url is None:
        if production:
            reader.problem("DATABASE_URL", "is required in production (postgres://user:pass@host:5432/db)")
        database_url = DEFAULT_DATABASE_URL
    elif (problem := _database_url_problem(database_url)) is not None:
        reader.problem("DATABASE_URL", problem)

    redis_url = reader.get("REDIS_URL")
    if redis_url is None:
        if production:
            reader.problem("REDIS_URL", "is required in production (redis://host:6379/0)")
    elif urlsplit(redis_url).scheme not in {"redis", "rediss", "unix"}:
        reader.problem("REDIS_URL", f"must be redis://, rediss:// or unix://, got {_shown(redis_url)!r}")

    sandbox = not production
    # Outside production WeChat is the sandbox `bff dev` serves on SANDBOX_PORT, also for commands
    # and scripts run beside it in another shell.
    default_api_base = DEFAULT_WECHAT_API_BASE
    if sandbox:
        try:
            sandbox_port = port_from_env("SANDBOX_PORT", sandbox_defaults.SANDBOX_PORT, environ)
        except SettingsError as error:
            reader.problems.extend(error.problems)
            sandbox_port = sandbox_defaults.SANDBOX_PORT
        default_api_base = sandbox_defaults.sandbox_api_base(sandbox_port)
    api_base = _http_url(reader, "WECHAT_API_BASE", reader.get("WECHAT_API_BASE") or default_api_base)

    appid = reader.require("WECHAT_APPID", sandbox_defaults.APPID)
    reader.not_sandbox("WECHAT_APPID", reader.get("WECHAT_APPID"))

    wechat_secret = reader.require("WECHAT_SECRET", sandbox_defaults.SECRET)
    given_secret = reader.get("WECHAT_SECRET")
    weak_secret = given_secret is not None and not APP_SECRET_RE.match(given_secret)
    if production and reader.not_sandbox("WECHAT_SECRET", given_secret) and weak_secret:
        reader.problem("WECHAT_SECRET", "must be the 32 letters and digits of the AppSecret WeChat issued")

    push_token = reader.require("WECHAT_PUSH_TOKEN", sandbox_defaults.PUSH_TOKEN)
    given_token = reader.get("WECHAT_PUSH_TOKEN")
    weak_token = given_token is not None and (
        not PUSH_TOKEN_RE.match(given_token) or len(given_token) < MIN_PUSH_TOKEN_CHARS_PRODUCTION
    )
    if production and reader.not_sandbox("WECHAT_PUSH_TOKEN", given_token) and weak_token:
        reader.problem(
            "WECHAT_PUSH_TOKEN",
            f"must be {MIN_PUSH_TOKEN_CHARS_PRODUCTION} to 32 letters and digits in production"
            f" (WeChat accepts at most 32; it has {len(push_token)})",
        )

    # No AES key in production means plaintext push only; secure-mode pushes are then refused.
    aes_key = reader.get("WECHAT_AES_KEY") or (sandbox_defaults.ENCODING_AES_KEY if sandbox else None)
    if aes_key is not None and not AES_KEY_RE.match(aes_key):
        reader.problem("WECHAT_AES_KEY", "must be 43 characters of A-Z, a-z, 0-9 (the EncodingAESKey)")
    else:
        reader.secret("WECHAT_AES_KEY", aes_key, minimum=43)
    previous_aes_key = reader.get("WECHAT_PREVIOUS_AES_KEY")
    if previous_aes_key is not None and not AES_KEY_RE.match(previous_aes_key):
        reader.problem("WECHAT_PREVIOUS_AES_KEY", "must be 43 characters of A-Z, a-z, 0-9")
    else:
        reader.secret("WECHAT_PREVIOUS_AES_KEY", previous_aes_key, minimum=43)

    state = reader.get("MINIPROGRAM_STATE") or "formal"
    if state not in ("developer", "trial", "formal"):
        reader.problem("MINIPROGRAM_STATE", f"must be developer, trial or formal, got {state!r}")

    session_secret = reader.require("SESSION_SECRET", "dev-session-secret-" + os.urandom(16).hex())
    reader.secret("SESSION_SECRET", reader.get("SESSION_SECRET"))

    supply_chain_secret = reader.require("SUPPLY_CHAIN_SECRET", sandbox_defaults.SUPPLY_CHAIN_SECRET)
    if production:
        reader.secret("SUPPLY_CHAIN_SECRET", reader.get("SUPPLY_CHAIN_SECRET"))

    callback = reader.get("SUPPLY_CHAIN_CALLBACK_URL")
    if callback is not None:
        callback = _http_url(reader, "SUPPLY_CHAIN_CALLBACK_URL", callback)

    ops_api_key = reader.get("OPS_API_KEY")
    ops_api_keys = _ops_api_keys(reader, ops_api_key)

    templates_raw = reader.get("TEMPLATES_FILE")
    templates_file = Path(templates_raw) if templates_raw else None
    if templates_file is not None and not templates_file.is_file():
        reader.problem("TEMPLATES_FILE", f"no such file: {templates_file}")

    business_tz = reader.get("BUSINESS_TZ") or "Asia/Shanghai"
    try:
        zoneinfo.ZoneInfo(business_tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        reader.problem("BUSINESS_TZ", f"unknown time zone {business_tz!r}")
        business_tz = "Asia/Shanghai"

    metrics_exposure, metrics_token = _metrics(reader)
    member_day = _int_in(reader, "MEMBER_DAY", 18, 1, 31)
    points_expiry_window_days = _int_in(reader, "POINTS_EXPIRY_WINDOW_DAYS", 30, 1, 365)

    consignor = reader.get("SHIPPING_CONSIGNOR_CONTACT") or (None if production else "400****0000")
    if consignor is not None and not re.fullmatch(r"[0-9+\-]*\*+[0-9]{4}", consignor):
        reader.problem("SHIPPING_CONSIGNOR_CONTACT", "must be a masked phone like 138****1234")

    fallback_raw = reader.get("SEND_TIME_FALLBACK_HOUR")
    send_time_fallback_hour: int | None = None
    if fallback_raw is not None:
        if fallback_raw.strip().isdigit() and 0 <= int(fallback_raw) <= 23:
            send_time_fallback_hour = int(fallback_raw)
        else:
            reader.problem("SEND_TIME_FALLBACK_HOUR", f"must be a local hour 0..23, got {fallback_raw!r}")

    log_format: LogFormat = "text"
    try:
        log_format = log_format_from_env(environ)
    except SettingsError as exc:
        reader.problem("LOG_FORMAT", exc.problem)
    access_log_raw = reader.get("WEB_ACCESS_LOG")
    web_access_log = not production
    if access_log_raw is not None:
        if access_log_raw not in ("on", "off"):
            reader.problem("WEB_ACCESS_LOG", f"must be on or off, got {access_log_raw!r}")
        web_access_log = access_log_raw == "on"

    if reader.problems:
        raise SettingsError.of(reader.problems)
    return Settings(
        env=env,
        database_url=database_url,
        redis_url=redis_url,
        data_dir=Path(reader.get("LVYUE_DATA_DIR") or "data"),
        wechat_api_base=api_base,
        wechat_appid=appid,
        wechat_secret=wechat_secret,
        wechat_push_token=push_token,
        wechat_aes_key=aes_key,
        wechat_previous_aes_key=previous_aes_key,
        miniprogram_state=state,
        session_secret=session_secret,
        supply_chain_secret=supply_chain_secret,
        supply_chain_callback_url=callback,
        ops_api_key=ops_api_key,
        templates_file=templates_file,
        business_tz=business_tz,
        metrics_exposure=metrics_exposure,
        metrics_token=metrics_token,
        shipping_consignor_contact=consignor,
        send_time_fallback_hour=send_time_fallback_hour,
        member_day=member_day,
        points_expiry_window_days=points_expiry_window_days,
        log_format=log_format,
        ops_api_keys=ops_api_keys,
        web_access_log=web_access_log,
    )


# Values nobody should use as an operators' key (also refused when padded to length by repeating).
WEAK_OPS_KEYS = frozenset(
    {"changeme", "change-me", "secret", "password", "ops", "opskey", "ops-key", "ops_api_key", "admin",
     "test", "default", "letmein", "0123456789abcdef", "1234567890", "qwerty"}
)
OPS_NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def _weak_ops_key(key: str) -> bool:
    """A published or trivially guessed value: a known weak word (or one repeated), one character
    repeated, or a sandbox value of this repository."""
    lowered = key.lower()
    if len(set(key)) <= 2 or key in SANDBOX_VALUES.values():
        return True
    return any(
        lowered == word or (len(lowered) % len(word) == 0 and lowered == word * (len(lowered) // len(word)))
        for word in WEAK_OPS_KEYS
    )


def _ops_api_keys(reader: _Reader, raw: str | None) -> tuple[tuple[str, str], ...]:
    """OPS_API_KEY: comma-separated `name=key` pairs; a bare `key` is named `ops`. Each key must be
    long enough (32 characters in production, 16 elsewhere) and, in production, not a weak value."""
    if raw is None:
        return ()
    pairs: list[tuple[str, str]] = []
    floor = MIN_SECRET_CHARS_PRODUCTION if reader.production else MIN_SECRET_CHARS_ELSEWHERE
    where = " in production" if reader.production else ""
    for position, item in enumerate(raw.split(","), start=1):
        item = item.strip()
        name, sep, key = item.partition("=")
        name, key = (name.strip(), key.strip()) if sep else ("ops", item)
        if not item or not key:
            reader.problem("OPS_API_KEY", f"entry {position} has no key (use name=key, separated by commas)")
            continue
        if not OPS_NAME_RE.match(name):
            reader.problem(
                "OPS_API_KEY", f"entry {position}: the name must be 1 to 64 letters, digits or _ . @ -"
            )
            continue
        if len(key) < floor:
            reader.problem(
                "OPS_API_KEY",
                f"the key of {name!r} must be at least {floor} characters{where} (it has {len(key)})",
            )
            continue
        if reader.production and _weak_ops_key(key):
            reader.problem(
                "OPS_API_KEY", f"the key of {name!r} is a known weak value; use `openssl rand -hex 32`"
            )
            continue
        if any(name == other for other, _ in pairs):
            reader.problem("OPS_API_KEY", f"the name {name!r} is given twice")
            continue
        if any(key == other for _, other in pairs):
            reader.problem("OPS_API_KEY", f"the key of {name!r} is also another operator's key")
            continue
        pairs.append((name, key))
    return tuple(pairs)


def _int_in(reader: _Reader, name: str, default: int, low: int, high: int) -> int:
    """An integer variable in [low, high]; the default when unset."""
    raw = reader.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        reader.problem(name, f"must be a whole number from {low} to {high}, got {raw!r}")
        return default
    if not low <= value <= high:
        reader.problem(name, f"must be from {low} to {high}, got {value}")
        return default
    return value


def _metrics(reader: _Reader) -> tuple[MetricsExposure, str | None]:
    """Who may read /metrics. Production keeps it closed unless a token (or `public`) is chosen."""
    token = reader.get("METRICS_TOKEN")
    reader.secret("METRICS_TOKEN", token)
    raw = reader.get("METRICS_EXPOSURE")
    if raw is None:
        if token is not None:
            return "token", token
        return ("off" if reader.production else "public"), None
    if raw not in ("public", "token", "off"):
        reader.problem("METRICS_EXPOSURE", f"must be public, token or off, got {raw!r}")
        return "off", token
    if raw == "token" and token is None:
        reader.problem("METRICS_TOKEN", "is required when METRICS_EXPOSURE=token")
    return raw, token  # type: ignore[return-value]


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return load_settings()
