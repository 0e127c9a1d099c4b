from __future__ import annotations

import subprocess
import sys

import pytest

from bff.runtime.settings import SettingsError, load_settings

PRODUCTION = {
    "LVYUE_ENV": "production",
    "WECHAT_APPID": "wx1234567890abcdef",
    "WECHAT_SECRET": "s" * 32,
    "WECHAT_PUSH_TOKEN": "push-token",
    "SESSION_SECRET": "x" * 32,
    "SUPPLY_CHAIN_SECRET": "supply",
}


def test_defaults_follow_the_runtime_contract() -> None:
    # when
    settings = load_settings(dict(PRODUCTION))

    # then
    assert settings.database_url == "sqlite://data/bff.sqlite3"
    assert settings.redis_url is None
    assert settings.wechat_api_base == "https://api.weixin.qq.com"
    assert settings.miniprogram_state == "formal"
    assert settings.business_tz == "Asia/Shanghai"
    assert settings.supply_chain_callback_url is None
    assert settings.ops_api_key is None


def test_development_gets_sandbox_values_without_configuration() -> None:
    # when
    settings = load_settings({"LVYUE_ENV": "development"})

    # then
    assert settings.wechat_api_base == "http://127.0.0.1:8001"
    assert settings.wechat_appid.startswith("wx_sandbox")
    assert len(settings.session_secret) >= 16


@pytest.mark.parametrize("missing", ["WECHAT_APPID", "WECHAT_SECRET", "SESSION_SECRET", "SUPPLY_CHAIN_SECRET"])
def test_production_requires_its_secrets(missing: str) -> None:
    # given
    environ = {k: v for k, v in PRODUCTION.items() if k != missing}

    # when / then
    with pytest.raises(SettingsError) as raised:
        load_settings(environ)
    assert raised.value.variable == missing
    assert "required" in str(raised.value)


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
        ("SESSION_SECRET", "short", "at least 16"),
    ],
)
def test_malformed_values_name_the_variable_and_the_problem(variable: str, value: str, words: str) -> None:
    # when / then
    with pytest.raises(SettingsError) as raised:
        load_settings({**PRODUCTION, variable: value})
    assert raised.value.variable == variable
    assert words in str(raised.value)


def test_the_cli_stops_with_one_line_and_no_traceback_on_a_missing_secret() -> None:
    # given a production environment without SESSION_SECRET
    env = {k: v for k, v in PRODUCTION.items() if k != "SESSION_SECRET"}
    env["PATH"] = "/usr/bin:/bin"

    # when
    result = subprocess.run(
        [sys.executable, "-m", "bff.cli", "migrate"], env=env, capture_output=True, text=True, timeout=60
    )

    # then
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "bff: configuration error: SESSION_SECRET: is required (set it, or run `make run` for the sandbox defaults)"
    ]
    assert "Traceback" not in result.stderr
