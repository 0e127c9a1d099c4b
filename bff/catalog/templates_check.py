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
from pathlib import Path

import httpx
from redis.asyncio import Redis

from bff.catalog.templates_file import TemplatesFile, diff_against_wechat, load_templates_file
from bff.runtime.settings import Settings
from bff.wechat.client import WeChatClient, wechat_client_for
from bff.wechat.errors import WeChatAPIError, WeChatTransportError

__all__ = [
    "CHECK_TIMEOUT_S",
    "check_templates",
    "describe",
    "run_check",
    "start_template_check",
    "warn_template_differences",
]

log = logging.getLogger("lvyue.wechat.templates")

CHECK_TIMEOUT_S = 20.0


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
    file = load_templates_file(settings.templates_file)
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
