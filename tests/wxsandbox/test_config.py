"""SandboxConfig defaults, SANDBOX_* variables and the command line."""

from __future__ import annotations

import pytest

from bff.runtime import dev_defaults
from bff.wechat.events import PushFormat
from wxsandbox import __main__ as cli
from wxsandbox.config import SandboxConfig, SandboxConfigError


def test_defaults_are_the_dev_credentials_the_bff_uses() -> None:
    # when
    config = SandboxConfig.from_env({})
    # then
    assert (config.appid, config.secret) == (dev_defaults.APPID, dev_defaults.SECRET)
    assert (config.push_token, config.encoding_aes_key) == (
        dev_defaults.PUSH_TOKEN,
        dev_defaults.ENCODING_AES_KEY,
    )
    assert config.original_id == dev_defaults.ORIGINAL_ID
    assert (config.push_url, config.push_mode, config.push_format) == (None, "secure", PushFormat.XML)
    assert config.templates is None  # the bundled file
    assert config.token_ttl_s == 7200


def test_environment_overrides_are_read() -> None:
    # when
    config = SandboxConfig.from_env(
        {
            "SANDBOX_PUSH_URL": "http://127.0.0.1:9000/wechat/push",
            "SANDBOX_PUSH_MODE": "plain",
            "SANDBOX_PUSH_FORMAT": "JSON",
            "SANDBOX_DAILY_SEND_LIMIT": "5",
            "SANDBOX_PAGES": "pages/index, /pages/order/detail",
            "SANDBOX_SENSITIVE_WORDS": "违禁词,敏感",
            "SANDBOX_SEED": "42",
            "TEMPLATES_FILE": "/somewhere/templates.toml",
        }
    )
    # then
    assert config.push_url == "http://127.0.0.1:9000/wechat/push"
    assert (config.push_mode, config.push_format) == ("plain", PushFormat.JSON)
    assert config.daily_send_limit == 5
    assert config.pages == frozenset({"pages/index", "pages/order/detail"})
    assert config.sensitive_words == ("违禁词", "敏感")
    assert config.seed == 42
    assert config.templates == "/somewhere/templates.toml"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SANDBOX_PUSH_MODE", "compatible"),
        ("SANDBOX_PUSH_FORMAT", "yaml"),
        ("SANDBOX_DAILY_SEND_LIMIT", "lots"),
        ("SANDBOX_AES_KEY", "too-short"),
        ("SANDBOX_TOKEN_TTL_S", "60"),
    ],
)
def test_bad_values_are_refused_with_one_line_naming_the_problem(variable: str, value: str) -> None:
    # when
    with pytest.raises(SandboxConfigError) as caught:
        SandboxConfig.from_env({variable: value})
    # then
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{variable}: ")


def test_serve_exits_2_on_a_bad_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # given
    monkeypatch.setenv("SANDBOX_PUSH_MODE", "compatible")
    # when
    with pytest.raises(SystemExit) as caught:
        cli.main(["--port", "0"])
    # then
    assert caught.value.code == 2
    assert "SANDBOX_PUSH_MODE" in capsys.readouterr().err


def test_the_bundled_templates_load() -> None:
    # when
    from wxsandbox.state import SandboxState

    state = SandboxState(SandboxConfig())
    # then
    assert state.templates
    assert all(template.keywords for template in state.templates.values())
