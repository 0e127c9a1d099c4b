"""Rendering a template of the templates file: the keyword values and the page of one notice.

The format strings come from ``[template.data]`` and ``page`` (``bff.catalog.templates_file``);
the values are the notice's placeholders, already formatted for display by the notice engine.
"""

from __future__ import annotations

from collections.abc import Mapping

from bff.catalog.templates_file import TemplateConfig, placeholders_in

__all__ = ["render_data", "render_page"]


def _render(fmt: str, values: Mapping[str, str], what: str) -> str:
    for name in placeholders_in(fmt):
        if name not in values:
            raise KeyError(f"{what} needs a value for placeholder {{{name}}}")
    return fmt.format_map(values)


def render_data(template: TemplateConfig, values: Mapping[str, str]) -> dict[str, str]:
    """keyword code → rendered value. Raises KeyError naming the template, the keyword and the
    placeholder when ``values`` lacks one. Values are not validated against the keyword kinds
    here (``bff.wechat.keywords.prepare_data`` does that, once, before the send)."""
    return {
        code: _render(fmt, values, f"template {template.template_id} keyword {code}")
        for code, fmt in template.data.items()
    }


def render_page(template: TemplateConfig, values: Mapping[str, str]) -> str:
    """The mini-program page a tap on the notice opens."""
    return _render(template.page, values, f"template {template.template_id} page")
