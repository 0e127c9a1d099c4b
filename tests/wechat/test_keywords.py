"""Template keywords: parsing, per-kind value rules and the shortening policy (§2, §8.1)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bff.wechat.keywords import (
    ELLIPSIS,
    KINDS,
    KeywordError,
    KeywordSpec,
    TemplateRules,
    canonical_kind,
    clean_text,
    keyword_rule_violation,
    length_limit,
    parse_template_content,
    prepare_data,
    shorten,
    validate_data,
)

SHIPPED_CONTENT = (
    "订单编号:{{character_string1.DATA}}\n商品名称:{{thing2.DATA}}\n快递公司:{{thing3.DATA}}\n"
    "快递单号:{{character_string4.DATA}}\n发货时间:{{time5.DATA}}\n"
)
SHIPPED_SPECS = parse_template_content(SHIPPED_CONTENT)
SHIPPED_DATA = {
    "character_string1": "202601010001",
    "thing2": "有机燕麦片 1kg",
    "thing3": "顺丰速运",
    "character_string4": "SF1234567890",
    "time5": "2026年01月01日 10:00",
}

# --- parse_template_content ----------------------------------------------------------------------


def test_parses_the_projects_shipped_template() -> None:
    # given the §8.1 constructed getTemplateList content
    # when
    specs = parse_template_content(SHIPPED_CONTENT)
    # then every line becomes one keyword with its label and kind, in order
    assert specs == [
        KeywordSpec("character_string1", "character_string", "订单编号"),
        KeywordSpec("thing2", "thing", "商品名称"),
        KeywordSpec("thing3", "thing", "快递公司"),
        KeywordSpec("character_string4", "character_string", "快递单号"),
        KeywordSpec("time5", "time", "发货时间"),
    ]


def test_parses_the_official_examples_including_enum_and_two_digit_codes() -> None:
    # given the official getTemplateList example plus older two-digit codes
    content = "会议时间:{{date2.DATA}}\n会议地点:{{thing1.DATA}}\n"
    long_term = "时间:{{time1.DATA}}\n房间:{{enum_string2.DATA}}\n类型:{{enum3.DATA}}\n数量:{{number01.DATA}}"
    # when
    first = parse_template_content(content)
    second = parse_template_content(long_term)
    # then
    assert first == [KeywordSpec("date2", "date", "会议时间"), KeywordSpec("thing1", "thing", "会议地点")]
    assert [(s.code, s.kind) for s in second] == [
        ("time1", "time"),
        ("enum_string2", "enum_string"),
        ("enum3", "enum_string"),  # "enum" is a synonym
        ("number01", "number"),
    ]


def test_lazy_kind_group_keeps_underscored_kinds_whole() -> None:
    # given every underscored kind
    content = "a:{{character_string12.DATA}}\nb:{{phone_number3.DATA}}\nc:{{car_number4.DATA}}"
    # when
    kinds = [s.kind for s in parse_template_content(content)]
    # then
    assert kinds == ["character_string", "phone_number", "car_number"]


def test_full_width_colon_and_blank_lines_are_tolerated() -> None:
    specs = parse_template_content("\n  商品：{{thing1.DATA}}\r\n\n")
    assert specs == [KeywordSpec("thing1", "thing", "商品")]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("订单编号:202601010001\n", "line 1 has no"),
        ("商品:{{thing1.DATA}}\n备注:无\n", "line 2 has no"),
        ("{{first.DATA}}\n商品:{{keyword1.DATA}}", "Official Account template"),
        ("颜色:{{colour1.DATA}}", "unknown keyword kind 'colour'"),
        ("a:{{thing1.DATA}}\nb:{{thing1.DATA}}", "thing1 appears twice"),
    ],
)
def test_bad_template_content_is_rejected(content: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_template_content(content)


def test_canonical_kind() -> None:
    assert canonical_kind("enum") == "enum_string"
    assert canonical_kind("thing") == "thing"
    with pytest.raises(ValueError, match="unknown keyword kind 'things'"):
        canonical_kind("things")


# --- keyword_rule_violation: table tests ---------------------------------------------------------

VALID = [
    ("thing", "好丽友 四层脆40g"),
    ("thing", "一" * 20),
    ("thing", "订单 #12 已发货!"),
    ("number", "339208499"),
    ("number", "12.50"),
    ("number", "9" * 32),
    ("letter", "ABCdef"),
    ("symbol", "~!@"),
    ("symbol", "¥%&*-"),
    ("character_string", "SF1234567890"),
    ("character_string", "2016-08-08"),
    ("character_string", "A-9_x.#"),
    ("time", "15:01"),
    ("time", "15:01:59"),
    ("time", "2019年10月1日 15:01"),
    ("time", "08:00~12:00"),
    ("time", "2026-01-01 10:00 ~ 2026-01-01 12:00"),
    ("date", "2019年10月1日"),
    ("date", "2019年10月"),
    ("date", "10月1日"),
    ("date", "2019年10月1日 15:01"),
    ("date", "2018-01-01"),
    ("date", "2018/01/01"),
    ("date", "2018.01.01"),
    ("date", "2018-01"),
    ("date", "01-01"),
    ("date", "2018-01-01~2018-01-31"),
    ("amount", "¥99.00"),
    ("amount", "￥100"),
    ("amount", "100元"),
    ("amount", "0.01元"),
    ("amount", "0.01"),
    ("amount", "$1234567890"),
    ("phone_number", "+86-0766-66888866"),
    ("phone_number", "(0755) 8888 8888"),
    ("car_number", "粤A8Z888挂"),
    ("car_number", "京A12345"),
    ("car_number", "AB12345"),
    ("name", "张三"),
    ("name", "阿卜杜·买买提"),
    ("name", "一" * 10),
    ("name", "John Smith"),
    ("name", "Mary-Jane O'Neil"),
    ("name", "A" * 19 + "…"),
    ("phrase", "配送中"),
    ("phrase", "已发货"),
    ("enum", "客厅"),
    ("enum_string", "客厅"),
]

INVALID = [
    ("thing", "", "must not be empty"),
    ("thing", "   ", "must not be empty"),
    ("thing", "a" * 21, "at most 20 characters (got 21)"),
    ("thing", "一" * 24, "at most 20 characters (got 24)"),
    ("thing", "第一行\n第二行", "control characters"),
    ("thing", "tab\there", "U+0009"),
    ("thing", "del\x7f", "U+007F"),
    ("number", "12a", "digits"),
    ("number", "1.", "digits"),
    ("number", "-1", "digits"),
    ("number", "１２", "digits"),  # full-width digits are not ASCII digits
    ("number", "1" * 33, "at most 32 characters (got 33)"),
    ("letter", "abc1", "letters A-Z"),
    ("letter", "é", "letters A-Z"),
    ("symbol", "~!@#$%", "at most 5 characters (got 6)"),
    ("symbol", "a!", "symbols only"),
    ("symbol", "中!", "symbols only"),
    ("character_string", "SF 123", "no spaces"),
    ("character_string", "单号123", "no Chinese"),
    ("character_string", "x" * 33, "at most 32 characters (got 33)"),
    ("time", "2019-10-01", "24-hour time"),
    ("time", "3pm", "24-hour time"),
    ("time", "15:1", "24-hour time"),
    ("date", "15:01", "a date"),
    ("date", "tomorrow", "a date"),
    ("date", "2019年10月1日 3pm", "a date"),
    ("amount", "99.00 USD", "currency symbol"),
    ("amount", "¥12345678901", "at most 10 digits"),
    ("amount", "¥", "currency symbol"),
    ("phone_number", "138-0000-0000-0000", "at most 17 characters (got 18)"),
    ("phone_number", "call 138", "digits, spaces"),
    ("car_number", "粤A8Z888挂X", "at most 8 characters (got 9)"),
    ("car_number", "粤-A8Z88", "licence plate"),
    ("name", "一" * 11, "at most 10 characters (got 11)"),
    ("name", "John" + "一" * 7, "at most 10 characters (got 11)"),  # any Chinese counts as Chinese
    ("name", "A" * 21, "at most 20 characters (got 21)"),
    ("name", "R2D2", "no digits"),
    ("phrase", "已发货了吗啊", "at most 5 characters (got 6)"),
    ("phrase", "OK", "Chinese characters only"),
    ("phrase", "已 发货", "Chinese characters only"),
]


@pytest.mark.parametrize(("kind", "value"), VALID)
def test_valid_values_pass(kind: str, value: str) -> None:
    assert keyword_rule_violation(kind, value, ["客厅", "卧室"]) is None


@pytest.mark.parametrize(("kind", "value", "rule"), INVALID)
def test_invalid_values_name_the_broken_rule(kind: str, value: str, rule: str) -> None:
    violation = keyword_rule_violation(kind, value)
    assert violation is not None
    assert rule in violation


def test_every_kind_is_covered_by_the_tables() -> None:
    # guards the tables above: a new kind must get valid and invalid examples
    assert {canonical_kind(k) for k, _ in VALID} == KINDS
    assert {canonical_kind(k) for k, _, _ in INVALID} | {"enum_string"} == KINDS


def test_control_characters_are_refused_for_every_kind() -> None:
    for kind in KINDS:
        violation = keyword_rule_violation(kind, "1\n2", ["1\n2"])
        assert violation is not None and "control characters" in violation, kind


def test_enum_value_must_be_one_of_the_templates_values() -> None:
    # given / when
    violation = keyword_rule_violation("enum_string", "厨房", ["客厅", "卧室"])
    # then
    assert violation is not None
    assert "客厅" in violation and "'厨房'" in violation


def test_enum_without_known_values_only_checks_the_general_rules() -> None:
    assert keyword_rule_violation("enum_string", "厨房") is None
    assert keyword_rule_violation("enum_string", "") == "must not be empty"


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown keyword kind"):
        keyword_rule_violation("colour", "red")


def test_length_is_counted_in_code_points_not_utf16_units() -> None:
    # given 20 characters outside the BMP (two UTF-16 units each)
    value = "\U00020000" * 20
    # when / then
    assert keyword_rule_violation("thing", value) is None
    assert keyword_rule_violation("thing", value + "a") == "at most 20 characters (got 21)"


# --- validate_data -------------------------------------------------------------------------------


def test_valid_data_passes() -> None:
    validate_data("TPL_SHIPPED", SHIPPED_SPECS, SHIPPED_DATA)


def test_extra_keys_are_ignored() -> None:
    validate_data("TPL_SHIPPED", SHIPPED_SPECS, {**SHIPPED_DATA, "thing9": "", "remark": "x\n"})


def test_missing_keyword_names_template_keyword_and_rule() -> None:
    # given data without the tracking number
    data = {k: v for k, v in SHIPPED_DATA.items() if k != "character_string4"}
    # when
    with pytest.raises(KeywordError) as caught:
        validate_data("TPL_SHIPPED", SHIPPED_SPECS, data)
    # then
    assert caught.value.template_id == "TPL_SHIPPED"
    assert caught.value.keyword == "character_string4"
    assert "missing" in caught.value.rule
    assert str(caught.value) == f"template TPL_SHIPPED keyword character_string4: {caught.value.rule}"


def test_too_long_thing_is_reported_with_count() -> None:
    # given a 23-character product name
    data = {**SHIPPED_DATA, "thing2": "有机燕麦片家庭装超值大包装一公斤装两袋再送一袋"}
    # when
    with pytest.raises(KeywordError) as caught:
        validate_data("tmpl-x", SHIPPED_SPECS, data)
    # then
    assert str(caught.value) == "template tmpl-x keyword thing2: at most 20 characters (got 23)"
    assert isinstance(caught.value, ValueError)


def test_first_bad_value_in_template_order_is_reported() -> None:
    # given two bad values: thing3 (later) and character_string1 (first in the template)
    data = {**SHIPPED_DATA, "thing3": "", "character_string1": "订单1"}
    # when
    with pytest.raises(KeywordError) as caught:
        validate_data("TPL_SHIPPED", SHIPPED_SPECS, data)
    # then
    assert caught.value.keyword == "character_string1"


@pytest.mark.parametrize("key", ["enum_string2", "enum_string2.DATA"])
def test_enum_values_accept_both_key_forms(key: str) -> None:
    # given a template with an enum keyword and its keywordEnumValueList
    specs = parse_template_content("时间:{{time1.DATA}}\n房间:{{enum_string2.DATA}}")
    allowed = {key: ["客厅", "卧室"]}
    # when / then
    validate_data("TPL_ROOM", specs, {"time1": "08:00", "enum_string2": "客厅"}, allowed)
    with pytest.raises(KeywordError, match="enum_string2: one of the template's values"):
        validate_data("TPL_ROOM", specs, {"time1": "08:00", "enum_string2": "厨房"}, allowed)


def test_non_string_value_is_reported() -> None:
    data: dict[str, object] = {**SHIPPED_DATA, "character_string1": 202601010001}
    with pytest.raises(KeywordError, match="must be a string"):
        validate_data("TPL_SHIPPED", SHIPPED_SPECS, data)  # type: ignore[arg-type]


# --- shorten ---------------------------------------------------------------------------------------


def test_short_values_are_only_cleaned() -> None:
    assert shorten("thing", "  有机燕麦片\n1kg\r\n装 ") == "有机燕麦片 1kg 装"
    assert shorten("thing", "a\tb\x00c") == "a bc"
    assert shorten("thing", "一" * 20) == "一" * 20


def test_long_thing_keeps_nineteen_characters_and_an_ellipsis() -> None:
    # given the 23-character product name
    value = "有机燕麦片家庭装超值大包装一公斤装两袋再送一袋"
    # when
    short = shorten("thing", value)
    # then
    assert short == "有机燕麦片家庭装超值大包装一公斤装两袋…"
    assert len(short) == 20
    assert keyword_rule_violation("thing", short) is None


def test_cleaning_happens_before_measuring() -> None:
    # given a value that is 20 characters only once its newline is gone
    value = "一二三四五六七八九十\n一二三四五六七八九"
    # when / then
    assert shorten("thing", value) == "一二三四五六七八九十 一二三四五六七八九"


def test_name_limit_depends_on_chinese() -> None:
    assert shorten("name", "欧阳娜娜娜娜娜娜娜娜娜") == "欧阳娜娜娜娜娜娜娜…"
    assert shorten("name", "Alexander Maximilian Hamilton") == "Alexander Maximilia…"
    assert keyword_rule_violation("name", shorten("name", "Alexander Maximilian Hamilton")) is None


@pytest.mark.parametrize("kind", ["character_string", "number", "amount", "time", "date", "phrase", "enum"])
def test_other_kinds_are_never_altered(kind: str) -> None:
    value = "SF12345678901234567890123456789012345\n"
    assert shorten(kind, value) == value


def test_cut_does_not_separate_a_combining_mark() -> None:
    # given "e" + combining acute at positions 18/19 (the 20th character would be dropped)
    value = "a" * 18 + "e\u0301" + "tail"
    # when
    short = shorten("thing", value)
    # then the base letter goes together with its accent
    assert short == "a" * 18 + ELLIPSIS


def test_cut_does_not_separate_a_zwj_sequence() -> None:
    # given a family emoji (man ZWJ woman ZWJ girl) straddling the cut
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    value = "a" * 16 + family + "tail"
    # when
    short = shorten("thing", value)
    # then the whole sequence is dropped rather than split
    assert short == "a" * 16 + ELLIPSIS


def test_cut_does_not_strip_a_variation_selector_or_skin_tone() -> None:
    assert shorten("thing", "a" * 18 + "\u2764\ufe0f" + "tail") == "a" * 18 + ELLIPSIS
    assert shorten("thing", "a" * 18 + "\U0001f44d\U0001f3fd" + "tail") == "a" * 18 + ELLIPSIS


def test_cut_does_not_split_a_flag() -> None:
    # given three flags; the 19-character prefix would end in the middle of the second
    cn, jp, fr = "\U0001f1e8\U0001f1f3", "\U0001f1ef\U0001f1f5", "\U0001f1eb\U0001f1f7"
    value = "a" * 16 + cn + jp + fr
    # when
    short = shorten("thing", value)
    # then only whole flags remain
    assert short == "a" * 16 + cn + ELLIPSIS


# --- properties ------------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.one_of(
        st.characters(),
        st.sampled_from(["\u0301", "\u200d", "\ufe0f", "\U0001f3fd", "\U0001f1e8", "\n", "一", "é"]),
    ),
    max_size=60,
)

_EXTENDERS = ("\u200d", "\ufe0f", "\U0001f3fd")


def _attaches(ch: str) -> bool:
    return (
        unicodedata.combining(ch) != 0 or unicodedata.category(ch) in ("Mn", "Mc", "Me") or ch in _EXTENDERS
    )


@settings(max_examples=500)
@given(kind=st.sampled_from(["thing", "name"]), value=_text)
@example(kind="thing", value="a" * 19 + "\u0301" * 5)
@example(kind="name", value="\u0301" * 30)
def test_shorten_passes_the_length_rule_and_keeps_a_prefix(kind: str, value: str) -> None:
    # when
    short = shorten(kind, value)
    cleaned = clean_text(value)
    # then the result fits its limit ...
    limit = length_limit(kind, short)
    assert limit is not None and len(short) <= limit
    # ... is the cleaned input or a prefix of it plus the ellipsis ...
    if short != cleaned:
        assert short.endswith(ELLIPSIS)
        kept = short[: -len(ELLIPSIS)]
        assert cleaned.startswith(kept)
        # ... and never cuts inside a grapheme (the start of the text is always a boundary)
        if kept:
            assert not _attaches(cleaned[len(kept)])
            assert not kept.endswith("\u200d")
    # and carries no control characters
    assert keyword_rule_violation("thing", short) in (None, "must not be empty")


@settings(max_examples=300)
@given(value=_text)
def test_shortened_thing_is_always_valid_unless_blank(value: str) -> None:
    short = shorten("thing", value)
    expected = "must not be empty" if not short else None
    assert keyword_rule_violation("thing", short) == expected


@settings(max_examples=200)
@given(
    template_id=st.text(min_size=1, max_size=20),
    value=st.text(min_size=21, max_size=40).filter(lambda v: v.strip() and "\n" not in v),
)
def test_validate_data_error_names_template_keyword_and_rule(template_id: str, value: str) -> None:
    # given a thing keyword with a value that is too long or otherwise broken
    specs = [KeywordSpec("thing7", "thing", "商品")]
    # when
    with pytest.raises(KeywordError) as caught:
        validate_data(template_id, specs, {"thing7": value})
    # then the message names all three
    message = str(caught.value)
    assert message.startswith(f"template {template_id} keyword thing7: ")
    assert message.endswith(caught.value.rule)
    assert caught.value.rule


@settings(max_examples=500)
@given(kind=st.sampled_from(sorted(KINDS | {"enum"})), value=_text)
def test_rule_check_never_crashes_on_any_text(kind: str, value: str) -> None:
    # the sandbox feeds arbitrary client payloads through this function
    violation = keyword_rule_violation(kind, value, ["客厅"])
    assert violation is None or (isinstance(violation, str) and violation)


_digits = st.text(alphabet="0123456789", min_size=1, max_size=10)


@settings(max_examples=200)
@given(
    whole=_digits,
    fraction=st.one_of(st.none(), _digits),
    symbol=st.sampled_from(["", "¥", "￥", "$"]),
    yuan=st.booleans(),
)
def test_generated_amounts_within_the_rule_pass(
    whole: str, fraction: str | None, symbol: str, yuan: bool
) -> None:
    value = symbol + whole + (f".{fraction}" if fraction else "") + ("元" if yuan else "")
    assert keyword_rule_violation("amount", value) is None


@settings(max_examples=200)
@given(
    year=st.integers(min_value=1970, max_value=2099),
    month=st.integers(min_value=1, max_value=12),
    day=st.integers(min_value=1, max_value=28),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.integers(min_value=0, max_value=59),
    style=st.sampled_from(["{y}年{m}月{d}日", "{y}-{m:02d}-{d:02d}", "{y}/{m:02d}/{d:02d}", "{y}.{m}.{d}"]),
)
def test_generated_dates_and_times_pass(
    year: int, month: int, day: int, hour: int, minute: int, style: str
) -> None:
    date = style.format(y=year, m=month, d=day)
    clock = f"{hour:02d}:{minute:02d}"
    assert keyword_rule_violation("date", date) is None
    assert keyword_rule_violation("date", f"{date} {clock}") is None
    assert keyword_rule_violation("time", f"{date} {clock}") is None
    assert keyword_rule_violation("time", clock) is None
    assert keyword_rule_violation("time", f"{clock}~{clock}") is None


_kinds = st.sampled_from(sorted(KINDS))
_labels = st.text(
    alphabet=st.characters(exclude_characters=":：{}\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"), max_size=8
)


@settings(max_examples=200)
@given(entries=st.lists(st.tuples(_labels, _kinds), min_size=1, max_size=6))
def test_content_built_from_specs_parses_back(entries: list[tuple[str, str]]) -> None:
    # given a getTemplateList content string written from known keywords
    specs = [
        KeywordSpec(f"{kind}{index}", kind, label.strip()) for index, (label, kind) in enumerate(entries, 1)
    ]
    content = "".join(f"{spec.label}:{{{{{spec.code}.DATA}}}}\n" for spec in specs)
    # when / then
    assert parse_template_content(content) == specs


# --- prepare_data: the one place a send's values are shortened and validated ---------------------

PROGRESS_RULES = TemplateRules.from_content(
    "tmpl-order-progress-0001",
    "订单编号:{{character_string1.DATA}}\n订单状态:{{phrase2.DATA}}\n更新时间:{{time3.DATA}}\n备注:{{thing4.DATA}}\n",
)
PROGRESS_VALUES = {
    "character_string1": "SO20261120000001",
    "phrase2": "已出库",
    "time3": "2026年11月20日 09:30",
    "thing4": "杭州仓已发出",
}


def test_prepare_data_shortens_a_long_thing_with_an_ellipsis() -> None:
    # given a note longer than the 20 characters a thing allows
    note = "包裹已从杭州仓发出，预计明天下午送达您填写的收货地址"

    # when
    prepared = prepare_data(PROGRESS_RULES, {**PROGRESS_VALUES, "thing4": note})

    # then the user will see 19 characters and an ellipsis, the other values as they were
    assert prepared == {**PROGRESS_VALUES, "thing4": note[:19] + ELLIPSIS}


def test_prepare_data_refuses_a_value_that_breaks_its_rule() -> None:
    # when a phrase (Chinese only, at most 5) carries Latin letters
    with pytest.raises(KeywordError) as caught:
        prepare_data(PROGRESS_RULES, {**PROGRESS_VALUES, "phrase2": "ship"})

    # then the error names the template, the keyword and the rule
    assert caught.value.template_id == "tmpl-order-progress-0001"
    assert caught.value.keyword == "phrase2"
    assert "Chinese" in str(caught.value)


def test_prepare_data_refuses_a_missing_keyword() -> None:
    values = {k: v for k, v in PROGRESS_VALUES.items() if k != "time3"}
    with pytest.raises(KeywordError, match=r"template tmpl-order-progress-0001 keyword time3: missing"):
        prepare_data(PROGRESS_RULES, values)


def test_prepare_data_shortens_names_and_drops_unknown_keys() -> None:
    # given a template with a name keyword
    rules = TemplateRules.from_content("T", "收件人:{{name1.DATA}}\n金额:{{amount2.DATA}}\n")

    # when
    prepared = prepare_data(rules, {"name1": "欧阳娜娜娜娜娜娜娜娜娜", "amount2": "¥99.00", "thing9": "x"})

    # then the Chinese name is cut to 10 characters, others untouched, strangers dropped
    assert prepared == {"name1": "欧阳娜娜娜娜娜娜娜" + ELLIPSIS, "amount2": "¥99.00"}
