"""Is the templates file what WeChat has? (docs/templates-file.md, "Checks": the file is
compared with WeChat's own template list at start, saying what differs).

``check_templates`` fetches getTemplateList and returns one readable line per difference (a
missing template, a keyword missing or of another kind, another title or type), empty when the
file matches. Web and worker processes call ``warn_template_differences`` at start, which logs
the list as warnings and never stops the process; ``bff check-templates`` prints it and exits 1
when anything differs.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx
from redis.asyncio import Redis

from bff.catalog.templates_file import TemplateConfig, TemplatesFile, cached_templates_file
from bff.runtime.settings import Settings
from bff.wechat.client import WeChatClient, wechat_client_for
from bff.wechat.errors import WeChatAPIError, WeChatTransportError
from bff.wechat.keywords import KeywordSpec, parse_template_content

__all__ = [
    "CHECK_TIMEOUT_S",
    "check_templates",
    "describe",
    "diff_against_wechat",
    "run_check",
    "start_template_check",
    "warn_template_differences",
]

log = logging.getLogger("lvyue.wechat.templates")

CHECK_TIMEOUT_S = 20.0

_CODE_INDEX_RE = re.compile(r"[a-z_]+?(?P<idx>\d+)")  # lazy: kinds contain underscores


async def check_templates(client: WeChatClient, file: TemplatesFile) -> list[str]:
    """One line per difference between ``file`` and WeChat's list; raises WeChat errors."""
    return diff_against_wechat(file, await client.get_templates())


def describe(source: Path | None, differences: list[str]) -> str:
    name = str(source) if source is not None else "the bundled templates file"
    if not differences:
        return f"templates: {name} matches WeChat's template list"
    count = len(differences)
    header = (
        f"templates: {name} differs from WeChat's template list ({count} difference{'s' * (count != 1)}):"
    )
    return "\n".join([header, *(f"  - {line}" for line in differences)])


async def run_check(settings: Settings, http: httpx.AsyncClient, redis: Redis) -> list[str]:
    """Load the configured templates file and compare it with WeChat's list."""
    file = cached_templates_file(settings.templates_file)
    return await check_templates(wechat_client_for(settings, http, redis), file)


async def warn_template_differences(
    settings: Settings, http: httpx.AsyncClient, redis: Redis
) -> list[str] | None:
    """Log the differences (warnings) at process start; None when the check could not run."""
    try:
        differences = await asyncio.wait_for(run_check(settings, http, redis), CHECK_TIMEOUT_S)
    except (WeChatAPIError, WeChatTransportError, TimeoutError) as exc:
        log.warning("templates: could not compare the templates file with WeChat: %s", exc or "timed out")
        return None
    except Exception:  # a start-up check must never stop the process
        log.exception("templates: the check against WeChat failed")
        return None
    if differences:
        log.warning("%s", describe(settings.templates_file, differences))
    else:
        log.info("%s", describe(settings.templates_file, differences))
    return differences


def start_template_check(
    settings: Settings, http: httpx.AsyncClient, redis: Redis
) -> asyncio.Task[list[str] | None]:
    """Run ``warn_template_differences`` in the background, so a slow WeChat never delays start;
    cancel the task at shutdown."""
    return asyncio.get_running_loop().create_task(
        warn_template_differences(settings, http, redis), name="templates-check"
    )


def diff_against_wechat(file: TemplatesFile, wechat_templates: Sequence[Mapping[str, object]]) -> list[str]:
    """Differences between the file and WeChat's template list (the ``data[]`` of gettemplate:
    ``priTmplId``, ``title``, ``content``, ``type``, optional ``keywordEnumValueList``).
    One readable line per difference; an empty list means the file matches WeChat.

    Templates on WeChat that the file does not use are not differences."""
    on_wechat: dict[str, Mapping[str, object]] = {}
    for item in wechat_templates:
        template_id = item.get("priTmplId")
        if isinstance(template_id, str):
            on_wechat[template_id] = item

    lines: list[str] = []
    for template in file.templates:
        name = f"template {template.template_id} ({template.title})"
        remote = on_wechat.get(template.template_id)
        if remote is None:
            lines.append(f"{name}: missing on WeChat")
            continue
        remote_title = remote.get("title")
        if remote_title != template.title:
            lines.append(f"{name}: title is {remote_title!r} on WeChat")
        remote_type = remote.get("type")
        if remote_type != template.type:
            lines.append(f"{name}: type is {remote_type!r} on WeChat, {template.type} in the file")
        remote_content = remote.get("content")
        try:
            remote_keywords = (
                parse_template_content(remote_content) if isinstance(remote_content, str) else []
            )
        except ValueError as exc:
            lines.append(f"{name}: content on WeChat cannot be read: {exc}")
            continue
        lines.extend(_keyword_differences(name, template, remote_keywords))
        lines.extend(_enum_differences(name, template, remote.get("keywordEnumValueList")))
    return lines


def _keyword_differences(
    name: str, template: TemplateConfig, remote_keywords: Sequence[KeywordSpec]
) -> list[str]:
    lines: list[str] = []
    remote_by_code = {keyword.code: keyword for keyword in remote_keywords}
    remote_by_index = {_index(keyword.code): keyword for keyword in remote_keywords}
    local_codes = set(template.keyword_codes)
    for keyword in template.keywords():
        remote = remote_by_code.get(keyword.code)
        if remote is not None:
            if remote.label != keyword.label:
                lines.append(f"{name}: keyword {keyword.code} is labelled {remote.label!r} on WeChat")
            continue
        same_slot = remote_by_index.get(_index(keyword.code))
        if same_slot is not None and same_slot.code not in local_codes:
            lines.append(
                f"{name}: keyword {keyword.code} is a {same_slot.kind} on WeChat ({same_slot.code}), "
                f"a {keyword.kind} in the file"
            )
        else:
            lines.append(f"{name}: keyword {keyword.code} missing on WeChat")
    local_indexes = {_index(code) for code in local_codes}
    for remote in remote_keywords:
        if remote.code not in local_codes and _index(remote.code) not in local_indexes:
            lines.append(f"{name}: keyword {remote.code} ({remote.label}) on WeChat is not in the file")
    return lines


def _enum_differences(name: str, template: TemplateConfig, remote_enums: object) -> list[str]:
    if not template.enum_values or not isinstance(remote_enums, list):
        return []
    remote_values: dict[str, set[str]] = {}
    for entry in remote_enums:
        if isinstance(entry, Mapping):
            code = str(entry.get("keywordCode", "")).removesuffix(".DATA")
            values = entry.get("enumValueList")
            if isinstance(values, list):
                remote_values[code] = {str(v) for v in values}
    lines: list[str] = []
    for code, values in template.enum_values.items():
        if code not in remote_values:
            continue
        unknown = [v for v in values if v not in remote_values[code]]
        if unknown:
            lines.append(f"{name}: keyword {code} values {unknown} are not allowed on WeChat")
    return lines


def _index(code: str) -> str:
    """The position part of a keyword code (``character_string4`` → ``4``)."""
    match = _CODE_INDEX_RE.fullmatch(code)
    return match["idx"] if match else code
