"""The templates file against WeChat's list: the diff, the start-up warnings, `bff check-templates`."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from arq.connections import ArqRedis

from bff.catalog.templates_check import (
    check_templates,
    describe,
    diff_against_wechat,
    warn_template_differences,
)
from bff.catalog.templates_file import (
    TemplateConfig,
    TemplatesFile,
    load_templates_file,
    loads_templates_file,
)
from bff.runtime.settings import Settings
from tests.catalog.test_templates_file import RUNTIME_EXAMPLE, one_template, wechat_copy
from tests.wechat.client_harness import SANDBOX_BASE, running_sandbox

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "bff" / "data" / "templates.toml"


def drifted_file(tmp_path: Path) -> Path:
    """The bundled file with one template renamed on our side and another retitled."""
    text = BUNDLED.read_text(encoding="utf-8")
    text = text.replace(
        'template_id = "tmpl-order-progress-0001"', 'template_id = "tmpl-order-progress-9999"'
    )
    text = text.replace('title = "物流状态通知"', 'title = "物流提醒"')
    path = tmp_path / "templates.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_the_bundled_file_matches_the_sandbox(arq_pool: ArqRedis) -> None:
    async with running_sandbox() as sb:
        differences = await check_templates(sb.client(arq_pool), load_templates_file(None))
    assert differences == []


async def test_differences_are_listed_one_per_line(arq_pool: ArqRedis, tmp_path: Path) -> None:
    # given a templates file that has drifted from what WeChat lists
    file = load_templates_file(drifted_file(tmp_path))

    # when
    async with running_sandbox() as sb:
        differences = await check_templates(sb.client(arq_pool), file)

    # then each difference is a readable line naming the template
    assert differences == [
        "template tmpl-order-progress-9999 (订单状态通知): missing on WeChat",
        "template tmpl-order-shipping-0001 (物流提醒): title is '物流状态通知' on WeChat",
    ]
    text = describe(Path("custom.toml"), differences)
    assert (
        text.splitlines()[0] == "templates: custom.toml differs from WeChat's template list (2 differences):"
    )


async def test_a_keyword_of_another_kind_is_reported(arq_pool: ArqRedis, tmp_path: Path) -> None:
    # given WeChat's copy of a template whose fourth keyword is a phrase, while the file says thing
    file = load_templates_file(None)
    progress = file.by_id("tmpl-order-progress-0001")
    assert progress is not None
    on_wechat = dataclasses.replace(progress, content=progress.content.replace("thing4", "phrase4"), data={})

    # when
    async with running_sandbox(templates=[on_wechat]) as sb:
        differences = await check_templates(sb.client(arq_pool), file)

    # then
    assert (
        "template tmpl-order-progress-0001 (订单状态通知): keyword thing4 is a phrase on WeChat (phrase4), "
        "a thing in the file"
    ) in differences


async def test_start_up_check_logs_warnings(
    settings: Settings, arq_pool: ArqRedis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="lvyue.wechat.templates")
    async with running_sandbox() as sb:
        drifted = dataclasses.replace(
            settings, templates_file=drifted_file(tmp_path), wechat_api_base=SANDBOX_BASE
        )
        differences = await warn_template_differences(drifted, sb.http, arq_pool)
    assert differences is not None and len(differences) == 2
    [record] = [r for r in caplog.records if r.name == "lvyue.wechat.templates"]
    assert record.levelno == logging.WARNING
    assert "missing on WeChat" in record.getMessage()


async def test_start_up_check_never_stops_the_process(
    settings: Settings, arq_pool: ArqRedis, caplog: pytest.LogCaptureFixture
) -> None:
    # given a WeChat that cannot be reached
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    # when
    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        outcome = await warn_template_differences(settings, http, arq_pool)

    # then the check says it could not run, as a warning
    assert outcome is None
    assert any("could not compare" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


# --- bff check-templates, against a sandbox served over HTTP -----------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def sandbox_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SANDBOX_TEMPLATES_FILE": str(BUNDLED)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bff.cli", "sandbox", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/sandbox/stats", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "sandbox did not start"
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def check_templates_cli(
    base: str, redis_url: str, tmp_path: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LVYUE_ENV": "test",
        "WECHAT_API_BASE": base,
        "REDIS_URL": redis_url,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bff.cli", "check-templates"],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_exits_0_when_the_file_matches(
    arq_pool: ArqRedis, sandbox_server: str, redis_url: str, tmp_path: Path
) -> None:
    result = check_templates_cli(sandbox_server, redis_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "templates: the bundled templates file matches WeChat's template list"


def test_cli_prints_the_differences_and_exits_1(
    arq_pool: ArqRedis, sandbox_server: str, redis_url: str, tmp_path: Path
) -> None:
    drifted = drifted_file(tmp_path)
    result = check_templates_cli(sandbox_server, redis_url, tmp_path, TEMPLATES_FILE=str(drifted))
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"templates: {drifted} differs from WeChat's template list (2 differences):",
        "  - template tmpl-order-progress-9999 (订单状态通知): missing on WeChat",
        "  - template tmpl-order-shipping-0001 (物流提醒): title is '物流状态通知' on WeChat",
    ]


def test_cli_says_so_when_wechat_cannot_be_reached(
    arq_pool: ArqRedis, redis_url: str, tmp_path: Path
) -> None:
    result = check_templates_cli(f"http://127.0.0.1:{free_port()}", redis_url, tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "bff: check-templates: cannot read WeChat's template list: stable_token transport failure"
    )
    assert "sandbox-secret" not in result.stderr + result.stdout


# --- against WeChat -----------------------------------------------------------------------------


def runtime_template() -> tuple[TemplatesFile, TemplateConfig]:
    file = loads_templates_file(RUNTIME_EXAMPLE)
    return file, file.templates[0]


def test_template_missing_on_wechat_is_reported() -> None:
    # given
    file, _ = runtime_template()

    # when
    differences = diff_against_wechat(file, [])

    # then
    assert differences == ["template tmpl-order-progress-0001 (订单状态通知): missing on WeChat"]


def test_title_and_type_differences_are_reported() -> None:
    # given
    file, _ = runtime_template()
    remote = wechat_copy(file)
    remote[0]["title"] = "订单进度提醒"
    remote[0]["type"] = 3

    # when
    differences = diff_against_wechat(file, remote)

    # then
    assert differences == [
        "template tmpl-order-progress-0001 (订单状态通知): title is '订单进度提醒' on WeChat",
        "template tmpl-order-progress-0001 (订单状态通知): type is 3 on WeChat, 2 in the file",
    ]


def test_keyword_missing_on_wechat_and_of_another_kind_are_reported() -> None:
    # given: WeChat has thing2 where the file has phrase2, and lacks thing4
    file, _ = runtime_template()
    remote = wechat_copy(file)
    remote[0]["content"] = (
        "订单编号:{{character_string1.DATA}}\n订单状态:{{thing2.DATA}}\n更新时间:{{time3.DATA}}\n"
    )

    # when
    differences = diff_against_wechat(file, remote)

    # then
    assert differences == [
        "template tmpl-order-progress-0001 (订单状态通知): keyword phrase2 is a thing on WeChat (thing2), "
        "a phrase in the file",
        "template tmpl-order-progress-0001 (订单状态通知): keyword thing4 missing on WeChat",
    ]


def test_keyword_only_on_wechat_and_relabelled_keyword_are_reported() -> None:
    # given
    file, template = runtime_template()
    remote = wechat_copy(file)
    remote[0]["content"] = (
        template.content.replace("备注", "温馨提示") + "快递单号:{{character_string5.DATA}}\n"
    )

    # when
    differences = diff_against_wechat(file, remote)

    # then
    assert differences == [
        "template tmpl-order-progress-0001 (订单状态通知): keyword thing4 is labelled '温馨提示' on WeChat",
        "template tmpl-order-progress-0001 (订单状态通知): keyword character_string5 (快递单号) on WeChat "
        "is not in the file",
    ]


def test_other_templates_on_wechat_are_not_differences() -> None:
    # given
    file, _ = runtime_template()
    remote = [
        *wechat_copy(file),
        {
            "priTmplId": "someone-elses",
            "title": "会议提醒",
            "content": "会议时间:{{date2.DATA}}\n",
            "type": 2,
        },
    ]

    # when / then
    assert diff_against_wechat(file, remote) == []


def test_enum_values_wechat_does_not_allow_are_reported() -> None:
    # given
    text = (
        one_template(
            content='"订单编号:{{character_string1.DATA}}\\n配送方式:{{enum_string2.DATA}}\\n"',
            data='character_string1 = "{order_no}"\nenum_string2 = "送货上门"',
        )
        + '[template.enum_values]\nenum_string2 = ["送货上门", "自提"]\n'
    )
    file = loads_templates_file(text)
    remote = wechat_copy(file)
    remote[0]["keywordEnumValueList"] = [{"keywordCode": "enum_string2.DATA", "enumValueList": ["送货上门"]}]

    # when
    differences = diff_against_wechat(file, remote)

    # then
    assert differences == [
        "template tmpl-a (订单状态通知): keyword enum_string2 values ['自提'] are not allowed on WeChat"
    ]
