"""The topics-and-templates file (docs/templates-file.md).

``TEMPLATES_FILE`` is TOML; each ``[[template]]`` is one WeChat subscription template as
WeChat's template list returns it (``template_id``, ``title``, ``type``, ``content``), plus how
the BFF fills it: which ``topics`` it carries, the mini-program ``page`` a tap opens, and
``[template.data]``, one format string per keyword code of ``content``. An optional
``[template.enum_values]`` table lists the allowed values of ``enum``/``enum_string`` keywords.

Format strings use ``{name}`` placeholders, and only the names of ``PLACEHOLDERS`` (below, with
what each holds); the notice engine supplies their values already formatted for display, so a
template never formats a value itself (no format specs, no conversions). ``{open_token}`` goes
in every page: it lets the tapped notice open the page as its recipient.

This module is the file's format and loading: ``load_templates_file`` reads and checks one file,
``cached_templates_file`` / ``templates_of`` are the process's one cached copy of the configured
file that every reader on a send's path uses. Rendering a template's values is
``bff.catalog.templates_render``; comparing the file with WeChat's list is
``bff.catalog.templates_check``.
"""

from __future__ import annotations

import functools
import importlib.resources
import string
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeAlias

from bff.catalog.topics import Topic
from bff.runtime.settings import Settings
from bff.wechat.keywords import KeywordSpec, TemplateRules, keyword_rule_violation, parse_template_content

# name → what the engine puts there (example).
PLACEHOLDERS: Mapping[str, str] = MappingProxyType(
    {
        "order_no": "the order number (SO20261120000001)",
        "node_phrase": "status phrase of a supply-chain node, at most 5 Chinese characters (已出库)",
        "node_title": "title of a supply-chain node (干线运输中)",
        "occurred_at": "when the event happened, business time zone (2026年11月20日 09:30)",
        "note": "free text: the node's note, a maintenance item, an offer's detail",
        "location": "where the order is (杭州仓)",
        "carrier": "courier company (顺丰速运); events before OUTBOUND have none",
        "tracking_no": "courier tracking number (SF1234567890); events before OUTBOUND have none",
        "eta": "estimated arrival (2026年11月22日 18:00)",
        "deadline": "until when the user can decide on an exception or a delivery slot",
        "exception_reason": "why the order is in trouble (暴雨导致干线延误)",
        "option_summary": "what happens if the user does nothing: the default option's label",
        "slot_label": "a delivery slot's label (11月22日 09:00~12:00)",
        "sku_name": "product name (有机燕麦片 1kg)",
        "run_out_date": "predicted date a consumable runs out (2026年12月05日)",
        "remind_date": "the date a reminder is about, e.g. maintenance due",
        "offer_title": "title of an offer or benefit (以旧换新立减200元)",
        "expires_at": "when an offer or points expire",
        "points": "member points (1280)",
        "amount": "money with the currency symbol (¥199.00)",
        "stage": "presale stage (尾款生产)",
        "progress": "progress text (已完成60%, 支付成功)",
        "open_token": "the token that opens the page as the notice's recipient",
    }
)
KNOWN_PLACEHOLDERS: frozenset[str] = frozenset(PLACEHOLDERS)

ONE_TIME = 2
LONG_TERM = 3
TEMPLATE_TYPES: Mapping[int, str] = MappingProxyType({ONE_TIME: "one-time", LONG_TERM: "long-term"})

_REQUIRED_FIELDS = ("template_id", "title", "type", "content", "topics", "page", "data")
_OPTIONAL_FIELDS = ("enum_values",)
_BUNDLED = "templates.toml"

_Problem: TypeAlias = Callable[[str, str], None]  # (field, message)


@dataclass(frozen=True)
class TemplateConfig:
    template_id: str
    title: str
    type: int
    content: str
    topics: tuple[Topic, ...]
    page: str
    # Mappings are not hashable; the other fields identify a template well enough for hashing.
    data: Mapping[str, str] = field(hash=False)
    enum_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def keywords(self) -> tuple[KeywordSpec, ...]:
        """The keywords of ``content`` in order (kinds canonical: ``enum`` reads as ``enum_string``)."""
        return tuple(parse_template_content(self.content))

    @property
    def keyword_codes(self) -> tuple[str, ...]:
        return tuple(keyword.code for keyword in self.keywords())

    def rules(self) -> TemplateRules:
        """What the template's data must look like, for ``bff.wechat.keywords.prepare_data``."""
        return TemplateRules.from_content(self.template_id, self.content, self.enum_values)

    @property
    def one_time(self) -> bool:
        return self.type == ONE_TIME

    def placeholders(self) -> frozenset[str]:
        """Every placeholder the template's data and page need a value for."""
        names: set[str] = set(placeholders_in(self.page))
        for fmt in self.data.values():
            names.update(placeholders_in(fmt))
        return frozenset(names)


@dataclass(frozen=True)
class TemplatesFile:
    templates: tuple[TemplateConfig, ...]

    def by_id(self, template_id: str) -> TemplateConfig | None:
        for template in self.templates:
            if template.template_id == template_id:
                return template
        return None

    def for_topic(self, topic: Topic | str) -> TemplateConfig | None:
        for template in self.templates:
            if topic in template.topics:
                return template
        return None

    def topics_of(self, template_id: str) -> tuple[Topic, ...]:
        template = self.by_id(template_id)
        return template.topics if template is not None else ()

    @property
    def topics(self) -> frozenset[Topic]:
        """The topics some template carries; a topic outside this set cannot be sent."""
        return frozenset(topic for template in self.templates for topic in template.topics)


class TemplatesFileError(ValueError):
    """The file is unusable; the message names the file and lists every problem, one per line."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        count = len(self.problems)
        header = f"templates file {source}: {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([header, *(f"  {problem}" for problem in self.problems)]))


def load_templates_file(path: str | Path | None = None) -> TemplatesFile:
    """Read and check a templates file; ``None`` means the bundled ``bff/data/templates.toml``."""
    if path is None:
        resource = importlib.resources.files("bff").joinpath("data", _BUNDLED)
        return loads_templates_file(resource.read_text(encoding="utf-8"), source=f"bundled {_BUNDLED}")
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TemplatesFileError(str(file), ["the file does not exist"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplatesFileError(str(file), [f"cannot be read: {exc}"]) from None
    return loads_templates_file(text, source=str(file))


@functools.lru_cache(maxsize=8)
def cached_templates_file(path: Path | None) -> TemplatesFile:
    """The templates file at ``path`` (None: the bundled one), read once per process and path: the
    one cache that the planner, the sender, the subscription tab and the start-up check share."""
    return load_templates_file(path)


def templates_of(settings: Settings) -> TemplatesFile:
    """The process's configured templates file (cached; a bad file raises TemplatesFileError)."""
    return cached_templates_file(settings.templates_file)


def loads_templates_file(text: str, source: str = "<string>") -> TemplatesFile:
    """Parse and check templates-file TOML text; raises TemplatesFileError listing every problem."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplatesFileError(source, [f"not valid TOML: {exc}"]) from None
    return _Checker(source).check(document)


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def check(self, document: Mapping[str, Any]) -> TemplatesFile:
        for key in document:
            if key != "template":
                self.problems.append(f"unknown top-level key {key!r}; expected only [[template]] tables")
        raw_templates = document.get("template")
        if raw_templates is None:
            self.problems.append("no [[template]] tables")
            raise TemplatesFileError(self.source, self.problems)
        if not isinstance(raw_templates, list) or not all(isinstance(t, dict) for t in raw_templates):
            self.problems.append("'template' must be an array of tables ([[template]])")
            raise TemplatesFileError(self.source, self.problems)

        templates = [self._template(index, raw) for index, raw in enumerate(raw_templates)]
        self._cross_check(raw_templates)
        if self.problems:
            raise TemplatesFileError(self.source, self.problems)
        return TemplatesFile(templates=tuple(t for t in templates if t is not None))

    def _template(self, index: int, raw: Mapping[str, Any]) -> TemplateConfig | None:
        template_id = raw.get("template_id")
        where = f"template[{index}]" + (f" ({template_id})" if isinstance(template_id, str) else "")
        problems_before = len(self.problems)

        def problem(what: str, message: str) -> None:
            self.problems.append(f"{where} {what}: {message}")

        for key in _REQUIRED_FIELDS:
            if key not in raw:
                problem(key, "missing")
        for key in raw:
            if key not in _REQUIRED_FIELDS and key not in _OPTIONAL_FIELDS:
                problem(key, "unknown field")

        def text(field: str) -> str:
            value = raw.get(field)
            if value is None:
                return ""
            if not isinstance(value, str) or not value.strip():
                problem(field, f"must be a non-empty string, got {value!r}")
                return ""
            return value

        template_id_text = text("template_id")
        title = text("title")
        content = text("content")
        page = text("page")

        kind = raw.get("type")
        # bool is an int and 2.0 == 2, so check the type before the value.
        if "type" in raw and (type(kind) is not int or kind not in TEMPLATE_TYPES):
            problem("type", f"must be 2 (one-time) or 3 (long-term), got {kind!r}")

        topics = self._topics(raw.get("topics"), "topics" in raw, problem)

        keywords: tuple[KeywordSpec, ...] = ()
        try:
            keywords = tuple(parse_template_content(content))
        except ValueError as exc:
            problem("content", str(exc))
        if content and not keywords:
            problem("content", "has no {{<kind><n>.DATA}} keywords")
        codes = [keyword.code for keyword in keywords]

        data = self._data(raw.get("data"), "data" in raw, codes, problem)
        enum_values = self._enum_values(raw.get("enum_values"), keywords, problem)
        self._check_literals(keywords, data, enum_values, problem)
        if page:
            self._check_format(page, "page", problem)

        if len(self.problems) > problems_before:
            return None
        assert isinstance(kind, int)
        return TemplateConfig(
            template_id=template_id_text,
            title=title,
            type=kind,
            content=content,
            topics=topics,
            page=page,
            data=MappingProxyType(data),
            enum_values=MappingProxyType(enum_values),
        )

    def _topics(self, value: object, present: bool, problem: _Problem) -> tuple[Topic, ...]:
        if not present:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            problem("topics", f"must be a list of topic keys, got {value!r}")
            return ()
        if not value:
            problem("topics", "is empty; a template must carry at least one topic")
        topics: list[Topic] = []
        for item in value:
            try:
                topic = Topic(item)
            except ValueError:
                problem("topics", f"unknown topic {item!r}")
                continue
            if topic in topics:
                problem("topics", f"topic {item} is listed twice")
            else:
                topics.append(topic)
        return tuple(topics)

    def _data(self, value: object, present: bool, codes: list[str], problem: _Problem) -> dict[str, str]:
        if not present:
            return {}
        if not isinstance(value, dict):
            problem("data", f"must be a table ([template.data]), got {value!r}")
            return {}
        data: dict[str, str] = {}
        for code, fmt in value.items():
            if code not in codes:
                problem(f"data.{code}", "is not a keyword of content")
            if not isinstance(fmt, str):
                problem(f"data.{code}", f"must be a string, got {fmt!r}")
                continue
            if not fmt.strip():
                problem(f"data.{code}", "is empty; WeChat rejects empty values")
            self._check_format(fmt, f"data.{code}", problem)
            data[code] = fmt
        for code in codes:
            if code not in value:
                problem("data", f"keyword {code} of content has no data entry")
        return data

    def _check_literals(
        self,
        keywords: Sequence[KeywordSpec],
        data: Mapping[str, str],
        enum_values: Mapping[str, tuple[str, ...]],
        problem: _Problem,
    ) -> None:
        """A fixed value (no placeholder) is known now, so check it against its keyword's rule now
        rather than at the first send."""
        for keyword in keywords:
            fmt = data.get(keyword.code)
            if fmt is None or not fmt.strip() or _has_placeholder(fmt):
                continue
            try:
                literal = fmt.format()
            except (ValueError, IndexError, KeyError):
                continue  # reported by _check_format
            rule = keyword_rule_violation(keyword.kind, literal, enum_values.get(keyword.code))
            if rule is not None:
                problem(
                    f"data.{keyword.code}", f"fixed value {literal!r} breaks the {keyword.kind} rule: {rule}"
                )

    def _enum_values(
        self, value: object, keywords: Sequence[KeywordSpec], problem: _Problem
    ) -> dict[str, tuple[str, ...]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            problem("enum_values", f"must be a table ([template.enum_values]), got {value!r}")
            return {}
        kinds = {keyword.code: keyword.kind for keyword in keywords}
        enum_values: dict[str, tuple[str, ...]] = {}
        for code, values in value.items():
            if code not in kinds:
                problem(f"enum_values.{code}", "is not a keyword of content")
            elif kinds[code] != "enum_string":
                problem(f"enum_values.{code}", f"keyword is a {kinds[code]}, not an enum")
            if (
                not isinstance(values, list)
                or not values
                or not all(isinstance(v, str) and v for v in values)
            ):
                problem(f"enum_values.{code}", f"must be a non-empty list of strings, got {values!r}")
                continue
            enum_values[code] = tuple(values)
        return enum_values

    def _check_format(self, fmt: str, field: str, problem: _Problem) -> None:
        try:
            parsed = list(string.Formatter().parse(fmt))
        except ValueError as exc:
            problem(field, f"bad format string {fmt!r}: {exc} (write {{{{ and }}}} for literal braces)")
            return
        for _literal, name, spec, conversion in parsed:
            if name is None:
                continue
            if name == "":
                problem(field, "empty placeholder {}; name one, e.g. {order_no}")
            elif not name.isidentifier():
                problem(field, f"placeholder {{{name}}} must be a plain name")
            elif name not in KNOWN_PLACEHOLDERS:
                problem(field, f"unknown placeholder {{{name}}}")
            if spec or conversion:
                problem(field, f"placeholder {{{name}}} must not carry a format spec or conversion")

    def _cross_check(self, raw_templates: Sequence[Mapping[str, Any]]) -> None:
        first_with_id: dict[str, int] = {}
        for index, raw in enumerate(raw_templates):
            template_id = raw.get("template_id")
            if not isinstance(template_id, str):
                continue
            if template_id in first_with_id:
                first = first_with_id[template_id]
                self.problems.append(
                    f"template[{index}] ({template_id}) template_id: duplicate of template[{first}]"
                )
            else:
                first_with_id[template_id] = index

        claimed: dict[Topic, tuple[int, str]] = {}
        for index, raw in enumerate(raw_templates):
            template_id = raw.get("template_id")
            topics = raw.get("topics")
            if not isinstance(topics, list):
                continue
            for item in dict.fromkeys(topics):
                if not isinstance(item, str) or item not in Topic.__members__:
                    continue
                topic = Topic(item)
                if topic in claimed:
                    other_index, other_id = claimed[topic]
                    self.problems.append(
                        f"template[{index}] ({template_id}) topics: topic {topic} is already carried by "
                        f"template[{other_index}] ({other_id})"
                    )
                else:
                    claimed[topic] = (index, str(template_id))


def _has_placeholder(fmt: str) -> bool:
    try:
        return any(name is not None for _literal, name, _spec, _conv in string.Formatter().parse(fmt))
    except ValueError:
        return True


def placeholders_in(fmt: str) -> list[str]:
    """The placeholder names of a format string, in order."""
    return [name for _literal, name, _spec, _conv in string.Formatter().parse(fmt) if name]
