from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bff.runtime import dev_defaults
from bff.runtime.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]

PRODUCTION = {
    "LVYUE_ENV": "production",
    "DATABASE_URL": "postgres://lvyue@db.internal:5432/lvyue",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "WECHAT_APPID": "wx1234567890abcdef",
    "WECHAT_SECRET": "0123456789abcdef0123456789abcdef",
    "WECHAT_PUSH_TOKEN": "PushToken0123456789",
    "SESSION_SECRET": "x" * 32,
    "SUPPLY_CHAIN_SECRET": "s" * 32,
}


def run_bff(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bff.cli", *args],
        env={**env, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_follow_the_runtime_contract() -> None:
    # when
    settings = load_settings(dict(PRODUCTION))

    # then
    assert settings.wechat_api_base == "https://api.weixin.qq.com"
    assert settings.miniprogram_state == "formal"
    assert settings.business_tz == "Asia/Shanghai"
    assert settings.supply_chain_callback_url is None
    assert settings.ops_api_key is None


def test_development_gets_sandbox_values_and_embedded_engines_without_configuration() -> None:
    # when
    settings = load_settings({"LVYUE_ENV": "development"})

    # then
    assert settings.wechat_api_base == "http://127.0.0.1:8001"
    assert settings.wechat_appid.startswith("wx_sandbox")
    assert len(settings.session_secret) >= 16
    assert settings.database_url == "sqlite://data/bff.sqlite3"
    assert settings.redis_url is None


@pytest.mark.parametrize(
    "missing",
    [
        "DATABASE_URL",
        "REDIS_URL",
        "WECHAT_APPID",
        "WECHAT_SECRET",
        "WECHAT_PUSH_TOKEN",
        "SESSION_SECRET",
        "SUPPLY_CHAIN_SECRET",
    ],
)
def test_production_requires_its_secrets_and_both_urls(missing: str) -> None:
    # given
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}

    # when / then
    with pytest.raises(SettingsError) as raised:
        load_settings(environ)
    assert raised.value.problems == [(missing, raised.value.problem)]
    assert "required" in raised.value.problem


def test_production_lists_every_missing_variable_at_once() -> None:
    # when nothing but LVYUE_ENV is set
    with pytest.raises(SettingsError) as raised:
        load_settings({"LVYUE_ENV": "production"})

    # then one error names all of them
    assert [variable for variable, _ in raised.value.problems] == [
        "DATABASE_URL",
        "REDIS_URL",
        "WECHAT_APPID",
        "WECHAT_SECRET",
        "WECHAT_PUSH_TOKEN",
        "SESSION_SECRET",
        "SUPPLY_CHAIN_SECRET",
    ]


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("SUPPLY_CHAIN_SECRET", "s", "at least 32 characters in production (it has 1)"),
        ("WECHAT_PUSH_TOKEN", "t", "16 to 32 letters and digits"),
        ("WECHAT_PUSH_TOKEN", "with-dashes-is-not-wechat", "16 to 32 letters and digits"),
        ("WECHAT_PUSH_TOKEN", "a" * 33, "16 to 32 letters and digits"),
        ("SESSION_SECRET", "x" * 20, "at least 32 characters in production"),
        ("WECHAT_SECRET", "short", "32 letters and digits"),
        ("OPS_API_KEY", "ops", "at least 32 characters in production"),
        ("METRICS_TOKEN", "m", "at least 32 characters in production"),
    ],
)
def test_production_refuses_weak_secrets(variable: str, value: str, words: str) -> None:
    # when / then
    with pytest.raises(SettingsError) as raised:
        load_settings({**PRODUCTION, variable: value})
    assert raised.value.variable == variable
    assert words in raised.value.problem


@pytest.mark.parametrize(
    ("variable", "sandbox_value"),
    [
        ("WECHAT_APPID", dev_defaults.APPID),
        ("WECHAT_SECRET", dev_defaults.SECRET),
        ("WECHAT_PUSH_TOKEN", dev_defaults.PUSH_TOKEN),
        ("WECHAT_AES_KEY", dev_defaults.ENCODING_AES_KEY),
        ("WECHAT_PREVIOUS_AES_KEY", dev_defaults.ENCODING_AES_KEY),
        ("SUPPLY_CHAIN_SECRET", dev_defaults.SUPPLY_CHAIN_SECRET),
    ],
)
def test_production_refuses_the_sandbox_values_published_in_the_repository(
    variable: str, sandbox_value: str
) -> None:
    # when / then
    with pytest.raises(SettingsError) as raised:
        load_settings({**PRODUCTION, variable: sandbox_value})
    assert raised.value.variable == variable
    assert "sandbox value" in raised.value.problem


def test_development_accepts_the_sandbox_values() -> None:
    # when
    environ = {"LVYUE_ENV": "development", "SUPPLY_CHAIN_SECRET": dev_defaults.SUPPLY_CHAIN_SECRET}
    settings = load_settings(environ)

    # then
    assert settings.supply_chain_secret == dev_defaults.SUPPLY_CHAIN_SECRET


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("DATABASE_URL", "mysql://localhost/db", "unsupported scheme"),
        ("DATABASE_URL", "postgres://localhost", "database name"),
        ("REDIS_URL", "http://localhost:6379", "redis://"),
        ("WECHAT_AES_KEY", "too-short", "43 characters"),
        ("MINIPROGRAM_STATE", "beta", "developer, trial or formal"),
        ("BUSINESS_TZ", "Mars/Olympus", "unknown time zone"),
        ("SUPPLY_CHAIN_CALLBACK_URL", "ftp://x", "http(s) URL"),
        ("SESSION_SECRET", "short", "at least 32"),
        ("METRICS_EXPOSURE", "sometimes", "public, token or off"),
        ("MEMBER_DAY", "32", "from 1 to 31"),
        ("MEMBER_DAY", "eighteenth", "whole number from 1 to 31"),
        ("POINTS_EXPIRY_WINDOW_DAYS", "0", "from 1 to 365"),
        ("WEB_ACCESS_LOG", "yes", "must be on or off"),
    ],
)
def test_malformed_values_name_the_variable_and_the_problem(variable: str, value: str, words: str) -> None:
    # when / then
    with pytest.raises(SettingsError) as raised:
        load_settings({**PRODUCTION, variable: value})
    assert raised.value.variable == variable
    assert words in str(raised.value)


def test_the_offer_settings_have_defaults_and_can_be_set() -> None:
    assert (
        load_settings(dict(PRODUCTION)).member_day,
        load_settings(dict(PRODUCTION)).points_expiry_window_days,
    ) == (
        18,
        30,
    )
    settings = load_settings({**PRODUCTION, "MEMBER_DAY": "8", "POINTS_EXPIRY_WINDOW_DAYS": "14"})
    assert (settings.member_day, settings.points_expiry_window_days) == (8, 14)


def test_outside_production_a_session_secret_still_needs_16_characters() -> None:
    # when / then
    with pytest.raises(SettingsError) as raised:
        load_settings({"LVYUE_ENV": "development", "SESSION_SECRET": "short"})
    assert raised.value.problems == [("SESSION_SECRET", "must be at least 16 characters (it has 5)")]


def test_metrics_are_closed_in_production_unless_a_token_or_public_is_chosen() -> None:
    # then
    assert load_settings(dict(PRODUCTION)).metrics_exposure == "off"
    with_token = load_settings({**PRODUCTION, "METRICS_TOKEN": "m" * 32})
    assert (with_token.metrics_exposure, with_token.metrics_token) == ("token", "m" * 32)
    assert load_settings({**PRODUCTION, "METRICS_EXPOSURE": "public"}).metrics_exposure == "public"
    assert load_settings({"LVYUE_ENV": "development"}).metrics_exposure == "public"


def test_the_access_log_is_off_in_production_unless_asked_for() -> None:
    # when / then
    assert load_settings(dict(PRODUCTION)).web_access_log is False
    assert load_settings({**PRODUCTION, "WEB_ACCESS_LOG": "on"}).web_access_log is True
    assert load_settings({"LVYUE_ENV": "development"}).web_access_log is True
    assert load_settings({"LVYUE_ENV": "development", "WEB_ACCESS_LOG": "off"}).web_access_log is False


def test_a_token_exposure_without_a_token_is_refused() -> None:
    # when / then
    with pytest.raises(SettingsError) as raised:
        load_settings({**PRODUCTION, "METRICS_EXPOSURE": "token"})
    assert raised.value.problems == [("METRICS_TOKEN", "is required when METRICS_EXPOSURE=token")]


def test_the_cli_stops_with_one_line_and_no_traceback_on_a_missing_secret() -> None:
    # given a production environment without SESSION_SECRET
    env = {k: v for k, v in PRODUCTION.items() if k != "SESSION_SECRET"}

    # when
    result = run_bff("migrate", env=env)

    # then
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bff: configuration error: SESSION_SECRET: is required"
        " (set it, or run `make run` for the sandbox defaults)"
    ]
    assert "Traceback" not in result.stderr


def test_bff_web_in_production_prints_every_missing_and_weak_setting_in_one_run() -> None:
    # given production with no URLs, a 1-character supply-chain secret, the sandbox push token
    # and the repository's sandbox AppSecret
    env = {
        "LVYUE_ENV": "production",
        "WECHAT_APPID": "wx1234567890abcdef",
        "WECHAT_SECRET": dev_defaults.SECRET,
        "WECHAT_PUSH_TOKEN": dev_defaults.PUSH_TOKEN,
        "SESSION_SECRET": "x" * 32,
        "SUPPLY_CHAIN_SECRET": "s",
    }

    # when
    result = run_bff("web", "--host", "127.0.0.1", "--port", "9301", env=env)

    # then it does not serve, and names each problem on its own line
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line.removeprefix("bff: configuration error: ").split(":")[0] for line in lines] == [
        "DATABASE_URL",
        "REDIS_URL",
        "WECHAT_SECRET",
        "WECHAT_PUSH_TOKEN",
        "SUPPLY_CHAIN_SECRET",
    ]
    assert all(line.startswith("bff: configuration error: ") for line in lines)
    assert "SUPPLY_CHAIN_SECRET: must be at least 32 characters in production (it has 1)" in lines[-1]


def test_every_variable_the_settings_read_is_documented() -> None:
    # given the variables bff/runtime/settings.py reads
    source = (ROOT / "bff" / "runtime" / "settings.py").read_text(encoding="utf-8")
    read = set(re.findall(r'(?:get|require)\(\s*(?:environ, )?"([A-Z][A-Z0-9_]+)"', source))

    # when
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)`", page, re.MULTILINE))

    # then
    assert {"LVYUE_ENV", "DATABASE_URL", "METRICS_EXPOSURE"} <= read
    assert read - documented == set()


def test_a_refused_url_is_shown_without_its_password() -> None:
    # when
    with pytest.raises(SettingsError) as raised:
        load_settings({**PRODUCTION, "REDIS_URL": "http://:hunter2-redis-password@redis.internal:6379/0"})

    # then
    assert (
        raised.value.problem
        == "must be redis://, rediss:// or unix://, got 'http://:***@redis.internal:6379/0'"
    )
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("raw", ["24", "-1", "ten", "9.5"])
def test_a_send_time_fallback_hour_outside_the_day_is_refused(raw: str) -> None:
    # when the fallback hour for lifecycle notices is not a local hour
    with pytest.raises(SettingsError) as raised:
        load_settings({**PRODUCTION, "SEND_TIME_FALLBACK_HOUR": raw})

    # then the setting is named
    assert "SEND_TIME_FALLBACK_HOUR" in str(raised.value)


def test_the_send_time_fallback_hour_is_read() -> None:
    assert load_settings({**PRODUCTION, "SEND_TIME_FALLBACK_HOUR": "19"}).send_time_fallback_hour == 19
    assert load_settings(PRODUCTION).send_time_fallback_hour is None


@pytest.mark.parametrize(("raw", "expected"), [(None, "text"), ("json", "json"), ("text", "text")])
def test_log_format_is_text_unless_json_is_asked_for(raw: str | None, expected: str) -> None:
    environ = {**PRODUCTION, **({"LOG_FORMAT": raw} if raw else {})}
    assert load_settings(environ).log_format == expected


def test_a_log_format_other_than_text_or_json_is_refused() -> None:
    with pytest.raises(SettingsError) as raised:
        load_settings({**PRODUCTION, "LOG_FORMAT": "JSON"})
    assert raised.value.lines == ["LOG_FORMAT: must be text or json, got 'JSON'"]


# --- OPS_API_KEY: the operators' keys ----------------------------------------------------------

OPS_A = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8"
OPS_B = "f0e1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7"


def test_ops_api_key_holds_named_keys_and_a_bare_key_is_named_ops() -> None:
    named = load_settings({**PRODUCTION, "OPS_API_KEY": f" alice={OPS_A} , bob = {OPS_B} "})
    bare = load_settings({**PRODUCTION, "OPS_API_KEY": OPS_A})
    unset = load_settings(dict(PRODUCTION))
    assert named.ops_api_keys == (("alice", OPS_A), ("bob", OPS_B))
    assert bare.ops_api_keys == (("ops", OPS_A),)
    assert unset.ops_api_keys == ()


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (
            f"alice={OPS_A},bob=short",
            "the key of 'bob' must be at least 32 characters in production (it has 5)",
        ),
        ("alice=" + "changeme" * 4, "the key of 'alice' is a known weak value"),
        ("x" * 40, "the key of 'ops' is a known weak value"),
        (f"alice={OPS_A},alice={OPS_B}", "the name 'alice' is given twice"),
        (f"alice={OPS_A},bob={OPS_A}", "the key of 'bob' is also another operator's key"),
        (f"alice={OPS_A},bob=", "entry 2 has no key"),
        (f"al ice={OPS_A}", "entry 1: the name must be 1 to 64 letters"),
        (f"alice={dev_defaults.ENCODING_AES_KEY}", "the key of 'alice' is a known weak value"),
    ],
)
def test_production_refuses_short_weak_or_ambiguous_ops_keys(value: str, words: str) -> None:
    # when / then: reported with the other settings errors, naming OPS_API_KEY
    with pytest.raises(SettingsError) as raised:
        load_settings({**PRODUCTION, "OPS_API_KEY": value, "SESSION_SECRET": "short"})
    assert [variable for variable, _ in raised.value.problems] == ["SESSION_SECRET", "OPS_API_KEY"]
    assert words in raised.value.problems[1][1]


def test_outside_production_an_ops_key_needs_16_characters() -> None:
    assert load_settings({"LVYUE_ENV": "test", "OPS_API_KEY": "dev=" + "k" * 16}).ops_api_keys == (
        ("dev", "k" * 16),
    )
    with pytest.raises(SettingsError, match="at least 16 characters"):
        load_settings({"LVYUE_ENV": "test", "OPS_API_KEY": "dev=short"})
