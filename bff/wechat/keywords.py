"""Subscription-template keywords: parsing, value rules and the one shortening policy.

Facts from wechat-platform.md §2 (rules per keyword kind) and §8.1 (template ``content``).

``prepare_data`` is where a send's values are shortened and validated, once, before the notice
sender hands them to the client (which sends them as given).

Validation follows the doc's "suggested validators" so that the BFF and the sandbox agree:
characters are Unicode code points, empty (or blank) values and control characters are refused
for every kind, and each kind has its own length and content rule. Two deliberate departures:

* ``name`` without Chinese allows "letters or symbols" as the official rule words it (so a
  shortened ``John Smith…`` stays valid); digits are refused.
* ``symbol`` refuses letters and digits of every script, which also covers Chinese.

Shortening policy (``shorten``), the only place that edits user-visible text:

1. Clean: each newline (CR, LF, CRLF, U+2028, U+2029) or other whitespace control (tab, ...)
   becomes one space, other control characters are dropped, surrounding whitespace is trimmed.
2. Only ``thing`` (20) and ``name`` (10 when it contains Chinese, else 20) are shortened; every
   other kind is returned unchanged, because cutting an order number, amount or date would turn
   it into a different, wrong value — those must fail validation instead.
3. A value over the limit keeps its first ``limit - 1`` characters and gets "…" (U+2026).
4. The cut never splits a grapheme: it moves left while the first dropped character attaches to
   the one before it (a combining mark, zero-width joiner, variation selector, emoji modifier or
   tag character), while the last kept character is a zero-width joiner, and while it would
   separate the two regional indicators of a flag.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "ELLIPSIS",
    "KINDS",
    "KeywordError",
    "KeywordSpec",
    "TemplateRules",
    "canonical_kind",
    "clean_text",
    "keyword_rule_violation",
    "length_limit",
    "parse_template_content",
    "prepare_data",
    "shorten",
    "validate_data",
]

ELLIPSIS = "…"

KINDS = frozenset(
    {
        "thing",
        "number",
        "letter",
        "symbol",
        "character_string",
        "time",
        "date",
        "amount",
        "phone_number",
        "car_number",
        "name",
        "phrase",
        "enum_string",
    }
)
_SYNONYMS = {"enum": "enum_string"}

# §8.1: the lazy kind group matters because kinds contain underscores (character_string2).
_PLACEHOLDER = re.compile(r"\{\{(?P<code>(?P<type>[a-z_]+?)(?P<idx>\d+))\.DATA\}\}")
_OFFICIAL_ACCOUNT_STYLE = re.compile(r"\{\{\s*[A-Za-z_]+\.DATA\s*\}\}")

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAS_CJK = re.compile(f"[{_CJK}]")
_NEWLINES = re.compile("\r\n|[\r\n\u2028\u2029]")

_DATE = (
    r"(?:[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日|[0-9]{4}年[0-9]{1,2}月|[0-9]{1,2}月[0-9]{1,2}日"
    r"|[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}|[0-9]{4}-[0-9]{1,2}|[0-9]{1,2}-[0-9]{1,2})"
)
_CLOCK = r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
_TIME_ONE = rf"(?:{_DATE}\s*)?{_CLOCK}"
_DATE_ONE = rf"{_DATE}(?:\s*{_CLOCK})?"
_TIME = re.compile(rf"{_TIME_ONE}(?:\s*~\s*{_TIME_ONE})?")
_DATE_RE = re.compile(rf"{_DATE_ONE}(?:\s*~\s*{_DATE_ONE})?")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_LETTER = re.compile(r"[A-Za-z]+")
_CHARACTER_STRING = re.compile(r"[\x21-\x7e]+")
_AMOUNT = re.compile(r"[¥￥$€£]?[0-9]{1,10}(?:\.[0-9]+)?元?")
_PHONE = re.compile(r"[0-9+\-() ]+")
_CAR = re.compile(f"[{_CJK}]?[A-Za-z0-9]{{1,7}}[{_CJK}]?")
_PHRASE = re.compile(f"[{_CJK}]+")


@dataclass(frozen=True)
class KeywordSpec:
    """One keyword of a template: ``code`` as sent in ``data`` (``thing4``), its kind, its label."""

    code: str
    kind: str
    label: str


class KeywordError(ValueError):
    """A value that WeChat would refuse with 47003, caught before sending."""

    def __init__(self, template_id: str, keyword: str, rule: str) -> None:
        super().__init__(f"template {template_id} keyword {keyword}: {rule}")
        self.template_id = template_id
        self.keyword = keyword
        self.rule = rule


def canonical_kind(kind: str) -> str:
    """``enum`` → ``enum_string``; raises ValueError for a kind §2 does not list."""
    kind = _SYNONYMS.get(kind, kind)
    if kind not in KINDS:
        raise ValueError(f"unknown keyword kind {kind!r} (known: {', '.join(sorted(KINDS))}, enum)")
    return kind


def parse_template_content(content: str) -> list[KeywordSpec]:
    """Keywords of a getTemplateList ``content`` string (``标签:{{thing1.DATA}}`` per line)."""
    specs: list[KeywordSpec] = []
    seen: set[str] = set()
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        matches = list(_PLACEHOLDER.finditer(line))
        if not matches:
            hint = (
                " (an Official Account template, not a subscription template)"
                if _OFFICIAL_ACCOUNT_STYLE.search(line)
                else ""
            )
            raise ValueError(
                f"template content line {number} has no {{{{<kind><n>.DATA}}}} keyword{hint}: {line!r}"
            )
        for match in matches:
            raw_kind = match.group("type")
            try:
                kind = canonical_kind(raw_kind)
            except ValueError as exc:
                raise ValueError(f"template content line {number}: {exc}") from None
            code = match.group("code")
            if code in seen:
                raise ValueError(f"template content line {number}: keyword {code} appears twice")
            seen.add(code)
            before = line[: match.start()]
            label = re.split("[:：]", before, maxsplit=1)[0].strip() if re.search("[:：]", before) else ""
            specs.append(KeywordSpec(code=code, kind=kind, label=label))
    return specs


def clean_text(value: str) -> str:
    """Step 1 of the shortening policy: newlines and tabs to spaces, other controls dropped, trimmed."""
    spaced = _NEWLINES.sub(" ", value)
    kept = (" " if ch.isspace() else "" if unicodedata.category(ch) == "Cc" else ch for ch in spaced)
    return "".join(kept).strip()


_LIMITS: dict[str, int] = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "phrase": 5,
}


def length_limit(kind: str, value: str) -> int | None:
    """The maximum number of code points for ``value`` of ``kind``, or None when unbounded."""
    kind = canonical_kind(kind)
    if kind == "name":
        return 10 if _HAS_CJK.search(value) else 20
    return _LIMITS.get(kind)


def _control_character(value: str) -> str | None:
    for ch in value:
        if unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029":
            return ch
    return None


def _pattern(regex: re.Pattern[str], words: str) -> Callable[[str], str | None]:
    return lambda value: None if regex.fullmatch(value) else words


def _symbol_rule(value: str) -> str | None:
    if any(ch.isalnum() for ch in value):
        return "symbols only (no letters, digits or Chinese)"
    return None


def _name_rule(value: str) -> str | None:
    if not _HAS_CJK.search(value) and any(ch.isdigit() for ch in value):
        return "a name: letters or symbols, no digits"
    return None


# Content rules, checked after emptiness, control characters and length.
_CONTENT_RULES: dict[str, Callable[[str], str | None]] = {
    "thing": lambda value: None,
    "number": _pattern(_NUMBER, "digits with an optional decimal part only, e.g. 12.50"),
    "letter": _pattern(_LETTER, "letters A-Z and a-z only"),
    "symbol": _symbol_rule,
    "character_string": _pattern(
        _CHARACTER_STRING, "digits, letters A-Z/a-z and ASCII symbols only (no spaces, no Chinese)"
    ),
    "time": _pattern(
        _TIME, "a 24-hour time such as 15:01, optionally after a date, or a range such as 08:00~12:00"
    ),
    "date": _pattern(
        _DATE_RE,
        "a date such as 2019年10月1日 or 2019-10-01, optionally followed by a 24-hour time, or a range A~B",
    ),
    "amount": _pattern(
        _AMOUNT, "an optional currency symbol and at most 10 digits with optional decimals, e.g. ¥99.00"
    ),
    "phone_number": _pattern(_PHONE, "digits, spaces and + - ( ) only"),
    "car_number": _pattern(
        _CAR, "a licence plate: letters and digits, optionally starting and ending with a Chinese character"
    ),
    "name": _name_rule,
    "phrase": _pattern(_PHRASE, "Chinese characters only"),
}


def keyword_rule_violation(kind: str, value: str, enum_values: Sequence[str] | None = None) -> str | None:
    """The rule ``value`` breaks for a keyword of ``kind``, in words, or None when it is valid.

    ``enum_values`` are the template's allowed values for an ``enum_string`` keyword; without
    them any non-empty value without control characters is accepted (nothing to check against).
    Raises ValueError for an unknown kind.
    """
    kind = canonical_kind(kind)
    if not value.strip():
        return "must not be empty"
    control = _control_character(value)
    if control is not None:
        return f"must not contain control characters such as newlines (found U+{ord(control):04X})"
    limit = length_limit(kind, value)
    if limit is not None and len(value) > limit:
        return f"at most {limit} characters (got {len(value)})"
    if kind == "enum_string":
        if enum_values is not None and value not in enum_values:
            return f"one of the template's values {list(enum_values)} (got {value!r})"
        return None
    return _CONTENT_RULES[kind](value)


def validate_data(
    template_id: str,
    specs: Sequence[KeywordSpec],
    data: Mapping[str, str],
    enum_values: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Raise KeywordError for the first missing or invalid keyword, in template order.

    ``enum_values`` is keyed by keyword code, either ``enum_string2`` or the ``keywordCode`` form
    ``enum_string2.DATA`` of getTemplateList. Keys of ``data`` that the template does not have are
    ignored: WeChat's behaviour for them is undocumented (§2, §13), the sandbox ignores them, and a
    template revision that drops a keyword should not stop deliveries while callers still fill it.
    """
    enum_values = enum_values or {}
    for spec in specs:
        if spec.code not in data:
            raise KeywordError(template_id, spec.code, "missing (the template requires it)")
        value = data[spec.code]
        if not isinstance(value, str):
            raise KeywordError(template_id, spec.code, f"must be a string (got {type(value).__name__})")
        allowed = enum_values.get(spec.code, enum_values.get(f"{spec.code}.DATA"))
        rule = keyword_rule_violation(spec.kind, value, allowed)
        if rule is not None:
            raise KeywordError(template_id, spec.code, rule)


_ZWJ = "\u200d"


def _attaches_to_previous(ch: str) -> bool:
    code = ord(ch)
    return (
        unicodedata.combining(ch) != 0
        or unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or ch == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0xE0100 <= code <= 0xE01EF  # variation selectors supplement
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags)
    )


def _is_regional_indicator(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _splits_flag(text: str, cut: int) -> bool:
    if not _is_regional_indicator(text[cut]):
        return False
    run = 0
    while cut - run - 1 >= 0 and _is_regional_indicator(text[cut - run - 1]):
        run += 1
    return run % 2 == 1


def _safe_cut(text: str, cut: int) -> int:
    while cut > 0 and (_attaches_to_previous(text[cut]) or text[cut - 1] == _ZWJ or _splits_flag(text, cut)):
        cut -= 1
    return cut


def shorten(kind: str, value: str) -> str:
    """Apply the module's shortening policy to a ``thing`` or ``name`` value; other kinds unchanged."""
    kind = canonical_kind(kind)
    if kind not in ("thing", "name"):
        return value
    text = clean_text(value)
    limit = length_limit(kind, text) or len(text)
    if len(text) <= limit:
        return text
    return text[: _safe_cut(text, limit - 1)] + ELLIPSIS


@dataclass(frozen=True)
class TemplateRules:
    """A template's keywords and enum values: what its data must look like (§2)."""

    template_id: str
    keywords: tuple[KeywordSpec, ...]
    enum_values: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_content(
        cls, template_id: str, content: str, enum_values: Mapping[str, Sequence[str]] | None = None
    ) -> TemplateRules:
        return cls(
            template_id=template_id,
            keywords=tuple(parse_template_content(content)),
            enum_values=MappingProxyType({k: tuple(v) for k, v in (enum_values or {}).items()}),
        )


def prepare_data(rules: TemplateRules, values: Mapping[str, str]) -> dict[str, str]:
    """The template's keyword values ready to send: ``thing``/``name`` shortened by the one policy
    (``shorten``), then all validated. Keys the template does not have are dropped.
    Raises KeywordError naming the template, the keyword and the rule."""
    prepared: dict[str, str] = {}
    for spec in rules.keywords:
        if spec.code not in values:
            continue  # validate_data reports it as missing
        value = values[spec.code]
        prepared[spec.code] = shorten(spec.kind, value) if isinstance(value, str) else value
    validate_data(rules.template_id, rules.keywords, prepared, rules.enum_values)
    return prepared
