"""The sandbox's template registry: WeChat's view of the account's private templates (§8.1).

Built from the project's templates file (or a list of ``TemplateConfig``), it answers
``gettemplate`` and gives ``subscribe/send`` each keyword's kind, label and allowed values.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bff.catalog.templates_file import LONG_TERM, ONE_TIME, TemplateConfig, load_templates_file
from bff.wechat.keywords import parse_template_content

TemplatesSource = Sequence[TemplateConfig] | str | os.PathLike[str] | None

# A value of each keyword kind that its rule accepts, for the ``example`` WeChat shows.
_EXAMPLES: Mapping[str, str] = {
    "thing": "示例内容",
    "number": "100",
    "letter": "ABC",
    "symbol": "~!@",
    "character_string": "SF1234567890",
    "time": "2026年01月01日 10:00",
    "date": "2026年01月01日",
    "amount": "¥99.00",
    "phone_number": "+86-0766-66888866",
    "car_number": "粤A8Z888",
    "name": "张三",
    "phrase": "已发货",
}


@dataclass(frozen=True)
class SandboxKeyword:
    code: str
    kind: str
    label: str
    enum_values: tuple[str, ...] | None

    @property
    def is_enum(self) -> bool:
        return self.kind == "enum_string"


@dataclass(frozen=True)
class SandboxTemplate:
    template_id: str
    title: str
    type: int
    content: str
    keywords: tuple[SandboxKeyword, ...]

    @property
    def one_time(self) -> bool:
        return self.type == ONE_TIME

    @property
    def long_term(self) -> bool:
        return self.type == LONG_TERM

    def example(self) -> str:
        lines = []
        for keyword in self.keywords:
            if keyword.is_enum:
                value = keyword.enum_values[0] if keyword.enum_values else ""
            else:
                value = _EXAMPLES.get(keyword.kind, "示例")
            lines.append(f"{keyword.label}:{value}\n")
        return "".join(lines)

    def render_lines(self, data: Mapping[str, str]) -> list[str]:
        """``label: value`` per keyword, in content order, as the 服务通知 card shows them."""
        return [f"{keyword.label}: {data.get(keyword.code, '')}" for keyword in self.keywords]

    def to_wechat(self) -> dict[str, Any]:
        """One ``data[]`` entry of ``gettemplate``."""
        entry: dict[str, Any] = {
            "priTmplId": self.template_id,
            "title": self.title,
            "content": self.content,
            "example": self.example(),
            "type": self.type,
        }
        enums = [
            {"keywordCode": f"{keyword.code}.DATA", "enumValueList": list(keyword.enum_values)}
            for keyword in self.keywords
            if keyword.is_enum and keyword.enum_values
        ]
        if enums:
            entry["keywordEnumValueList"] = enums
        return entry


def from_template_config(template: TemplateConfig) -> SandboxTemplate:
    """Raises ValueError when the content has a keyword kind WeChat does not know."""
    keywords = tuple(
        SandboxKeyword(
            code=keyword.code,
            kind=keyword.kind,
            label=keyword.label,
            enum_values=tuple(template.enum_values[keyword.code])
            if keyword.code in template.enum_values
            else None,
        )
        for keyword in parse_template_content(template.content)
    )
    return SandboxTemplate(
        template_id=template.template_id,
        title=template.title,
        type=template.type,
        content=template.content,
        keywords=keywords,
    )


def load_registry(source: TemplatesSource) -> dict[str, SandboxTemplate]:
    """template id → template, from a list of TemplateConfig, a templates-file path, or None for
    the project's bundled file."""
    if source is None or isinstance(source, str | os.PathLike):
        path = None if source is None else Path(source)
        configs: Sequence[TemplateConfig] = load_templates_file(path).templates
    else:
        configs = source
    return {config.template_id: from_template_config(config) for config in configs}
