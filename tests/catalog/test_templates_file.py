from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from arq.connections import ArqRedis

from bff.catalog.templates_check import diff_against_wechat
from bff.catalog.templates_file import (
    KNOWN_PLACEHOLDERS,
    PLACEHOLDERS,
    TemplatesFile,
    TemplatesFileError,
    cached_templates_file,
    load_templates_file,
    loads_templates_file,
    templates_of,
)
from bff.catalog.templates_render import render_data
from bff.catalog.topics import Topic
from bff.notices.planner import NoticeContext
from bff.notices.sender import sender_for
from bff.runtime.settings import Settings
from bff.wechat.keywords import validate_data
from tasks.notices import send_hooks

# The example of docs/templates-file.md, read from the document so that it stays a working file.
DOC = Path(__file__).resolve().parents[2] / "docs" / "templates-file.md"
RUNTIME_EXAMPLE = DOC.read_text(encoding="utf-8").split("```toml\n", 1)[1].split("```", 1)[0]

# Display-ready values such as the notice engine passes in.
SAMPLE_VALUES = {
    "order_no": "SO20261120000001",
    "node_phrase": "已出库",
    "node_title": "干线运输中",
    "occurred_at": "2026年11月20日 09:30",
    "note": "包裹已从杭州仓发出",
    "location": "杭州仓",
    "carrier": "顺丰速运",
    "tracking_no": "SF1234567890",
    "eta": "2026年11月22日 18:00",
    "deadline": "2026年11月21日 12:00",
    "exception_reason": "暴雨导致干线延误",
    "option_summary": "继续等待",
    "slot_label": "11月22日 09:00~12:00",
    "sku_name": "有机燕麦片 1kg",
    "run_out_date": "2026年12月05日",
    "remind_date": "2027年01月10日",
    "offer_title": "以旧换新立减200元",
    "expires_at": "2026年12月31日",
    "points": "1280",
    "amount": "¥199.00",
    "stage": "尾款生产",
    "progress": "已完成60%",
    "open_token": "ot_abc123",
}


def one_template(**overrides: str) -> str:
    """TOML text of one valid template, with fields replaced by raw TOML snippets."""
    fields = {
        "template_id": '"tmpl-a"',
        "title": '"订单状态通知"',
        "type": "2",
        "content": '"订单编号:{{character_string1.DATA}}\\n订单状态:{{phrase2.DATA}}\\n"',
        "topics": '["NODE_OUTBOUND"]',
        "page": '"pages/order/detail?orderNo={order_no}&n={open_token}"',
    }
    fields.update(overrides)
    data = overrides.pop("data", 'character_string1 = "{order_no}"\nphrase2 = "{node_phrase}"')
    head = "\n".join(f"{key} = {value}" for key, value in fields.items() if key != "data" and value != "")
    return f"[[template]]\n{head}\n[template.data]\n{data}\n"


def problems_of(text: str) -> list[str]:
    with pytest.raises(TemplatesFileError) as caught:
        loads_templates_file(text, source="test.toml")
    return caught.value.problems


def wechat_copy(file: TemplatesFile) -> list[dict[str, object]]:
    """What WeChat's gettemplate data[] would say for exactly these templates."""
    return [
        {"priTmplId": t.template_id, "title": t.title, "content": t.content, "example": "", "type": t.type}
        for t in file.templates
    ]


# --- the bundled file ---------------------------------------------------------------------------


def test_bundled_file_loads_and_every_topic_has_exactly_one_template() -> None:
    # when
    file = load_templates_file()

    # then
    assert file.topics == set(Topic)
    for topic in Topic:
        template = file.for_topic(topic)
        assert template is not None
        assert topic in template.topics


def test_bundled_templates_share_quota_where_the_product_wants_it() -> None:
    # given
    file = load_templates_file()

    # when
    def shared(*topics: Topic) -> bool:
        return len({file.for_topic(t) for t in topics if file.for_topic(t) is not None}) == 1

    # then
    assert shared(Topic.NODE_MATERIAL_IN, Topic.NODE_PRODUCTION_STARTED, Topic.NODE_QC_PASSED)
    assert shared(Topic.NODE_OUTBOUND, Topic.NODE_TRUNK_TRANSIT, Topic.NODE_COURIER_ACCEPTED)
    assert shared(Topic.NODE_OUT_FOR_DELIVERY, Topic.NODE_DELIVERED)
    assert shared(Topic.ORDER_PAID, Topic.PRESALE_PROGRESS)
    assert shared(Topic.RENEWAL_OFFER, Topic.WIN_BACK)
    exception_template = file.for_topic(Topic.ORDER_EXCEPTION)
    assert exception_template is not None and exception_template.topics == (Topic.ORDER_EXCEPTION,)


def test_bundled_templates_are_one_time_with_distinct_titles_and_the_open_token_in_every_page() -> None:
    # given
    file = load_templates_file()

    # then
    titles = [t.title for t in file.templates]
    assert len(titles) == len(set(titles))
    for template in file.templates:
        assert template.type == 2 and template.one_time
        assert re.fullmatch(r"tmpl-[a-z-]+-\d{4}", template.template_id)
        assert re.fullmatch(r"pages/[a-z/]+\?[^ ]*&n=\{open_token\}", template.page), template.page
        assert 2 <= len(template.keyword_codes) <= 5


def test_bundled_templates_render_values_wechat_would_accept() -> None:
    # given
    file = load_templates_file()

    for template in file.templates:
        # when
        data = render_data(template, SAMPLE_VALUES)

        # then (raises KeywordError on a value WeChat would refuse)
        validate_data(template.template_id, template.keywords(), data, template.enum_values)


def test_bundled_order_numbers_are_character_strings_and_node_statuses_phrases() -> None:
    # given
    file = load_templates_file()

    for template in file.templates:
        kinds = {keyword.code: keyword.kind for keyword in template.keywords()}
        for code, fmt in template.data.items():
            # then
            if fmt == "{order_no}":
                assert kinds[code] == "character_string"
            if fmt == "{node_phrase}":
                assert kinds[code] == "phrase"
            if fmt in ("{occurred_at}", "{deadline}"):
                assert kinds[code] in ("time", "date")
            if fmt == "{amount}":
                assert kinds[code] == "amount"


def test_bundled_file_matches_an_identical_wechat_list() -> None:
    # given
    file = load_templates_file()

    # when
    differences = diff_against_wechat(file, wechat_copy(file))

    # then
    assert differences == []


def test_path_to_a_file_on_disk_loads(tmp_path: Path) -> None:
    # given
    path = tmp_path / "templates.toml"
    path.write_text(RUNTIME_EXAMPLE, encoding="utf-8")

    # when
    file = load_templates_file(str(path))

    # then
    assert [t.template_id for t in file.templates] == ["tmpl-order-progress-0001"]


# --- the model ----------------------------------------------------------------------------------


def test_the_documented_example_loads_with_its_keywords_and_topics() -> None:
    # when
    file = loads_templates_file(RUNTIME_EXAMPLE)

    # then
    template = file.by_id("tmpl-order-progress-0001")
    assert template is not None
    assert template.title == "订单状态通知"
    assert template.type == 2
    assert template.keyword_codes == ("character_string1", "phrase2", "time3", "thing4")
    assert [(k.kind, k.label) for k in template.keywords()] == [
        ("character_string", "订单编号"),
        ("phrase", "订单状态"),
        ("time", "更新时间"),
        ("thing", "备注"),
    ]
    assert file.topics_of("tmpl-order-progress-0001") == (
        Topic.NODE_PRODUCTION_STARTED,
        Topic.NODE_OUTBOUND,
        Topic.NODE_DELIVERED,
    )
    assert file.for_topic(Topic.NODE_OUTBOUND) is template
    assert file.for_topic("NODE_DELIVERED") is template
    assert template.placeholders() == {"order_no", "node_phrase", "occurred_at", "note"}


def test_lookups_of_unknown_ids_and_uncovered_topics_find_nothing() -> None:
    # given
    file = loads_templates_file(RUNTIME_EXAMPLE)

    # then
    assert file.by_id("tmpl-missing") is None
    assert file.topics_of("tmpl-missing") == ()
    assert file.for_topic(Topic.ORDER_EXCEPTION) is None


def test_enum_values_table_is_read() -> None:
    # given
    text = (
        one_template(
            content='"订单编号:{{character_string1.DATA}}\\n配送方式:{{enum_string2.DATA}}\\n"',
            data='character_string1 = "{order_no}"\nenum_string2 = "送货上门"',
        )
        + '[template.enum_values]\nenum_string2 = ["送货上门", "自提"]\n'
    )

    # when
    template = loads_templates_file(text).templates[0]

    # then
    assert template.enum_values == {"enum_string2": ("送货上门", "自提")}


# --- problems -----------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once_naming_template_and_field() -> None:
    # given: two templates, each with several problems
    text = one_template(
        type="4", topics='["NODE_SHIPPED", "NODE_OUTBOUND"]', data='character_string1 = "{order_number}"'
    ) + one_template(template_id='"tmpl-b"', title="", page='"pages/x?n={token}"')

    # when
    problems = problems_of(text)

    # then
    assert "template[0] (tmpl-a) type: must be 2 (one-time) or 3 (long-term), got 4" in problems
    assert "template[0] (tmpl-a) topics: unknown topic 'NODE_SHIPPED'" in problems
    assert "template[0] (tmpl-a) data.character_string1: unknown placeholder {order_number}" in problems
    assert "template[0] (tmpl-a) data: keyword phrase2 of content has no data entry" in problems
    assert "template[1] (tmpl-b) title: missing" in problems
    assert "template[1] (tmpl-b) page: unknown placeholder {token}" in problems
    assert any(
        "template[1] (tmpl-b) topics: topic NODE_OUTBOUND is already carried by template[0]" in p
        for p in problems
    )


def test_error_message_names_the_file_and_lists_one_problem_per_line() -> None:
    # given
    text = one_template(type="4", topics='["NODE_SHIPPED"]')

    # when
    with pytest.raises(TemplatesFileError) as caught:
        loads_templates_file(text, source="/etc/lvyue/templates.toml")

    # then
    lines = str(caught.value).splitlines()
    assert lines[0] == "templates file /etc/lvyue/templates.toml: 2 problems"
    assert len(lines) == 3
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("field", ["template_id", "title", "type", "content", "topics", "page"])
def test_missing_field_is_reported(field: str) -> None:
    # given
    text = one_template(**{field: ""})

    # when
    problems = problems_of(text)

    # then
    assert any(p.endswith(f"{field}: missing") for p in problems), problems


def test_missing_data_table_is_reported() -> None:
    # given
    text = one_template().split("[template.data]")[0]

    # when
    problems = problems_of(text)

    # then
    assert "template[0] (tmpl-a) data: missing" in problems


def test_long_term_type_is_accepted() -> None:
    # when
    template = loads_templates_file(one_template(type="3")).templates[0]

    # then
    assert template.type == 3 and not template.one_time


@pytest.mark.parametrize("value", ["1", '"2"', "true", "2.0"])
def test_type_other_than_2_or_3_is_reported(value: str) -> None:
    # when
    problems = problems_of(one_template(type=value))

    # then
    assert any("type: must be 2 (one-time) or 3 (long-term)" in p for p in problems), problems


def test_topic_claimed_by_two_templates_is_reported_with_both() -> None:
    # given
    text = one_template(topics='["NODE_OUTBOUND", "NODE_DELIVERED"]') + one_template(
        template_id='"tmpl-b"', topics='["NODE_DELIVERED"]'
    )

    # when
    problems = problems_of(text)

    # then
    assert problems == [
        "template[1] (tmpl-b) topics: topic NODE_DELIVERED is already carried by template[0] (tmpl-a)"
    ]


def test_duplicate_template_ids_are_reported() -> None:
    # given
    text = one_template(topics='["NODE_OUTBOUND"]') + one_template(topics='["NODE_DELIVERED"]')

    # when
    problems = problems_of(text)

    # then
    assert problems == ["template[1] (tmpl-a) template_id: duplicate of template[0]"]


def test_data_key_that_is_not_a_keyword_is_reported() -> None:
    # given
    text = one_template(data='character_string1 = "{order_no}"\nphrase2 = "{node_phrase}"\nthing3 = "{note}"')

    # when
    problems = problems_of(text)

    # then
    assert problems == ["template[0] (tmpl-a) data.thing3: is not a keyword of content"]


def test_keyword_without_data_is_reported() -> None:
    # given
    text = one_template(data='character_string1 = "{order_no}"')

    # when
    problems = problems_of(text)

    # then
    assert problems == ["template[0] (tmpl-a) data: keyword phrase2 of content has no data entry"]


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ('"{orderNo}"', "unknown placeholder {orderNo}"),
        ('"{order_no:>10}"', "must not carry a format spec or conversion"),
        ('"{order_no!r}"', "must not carry a format spec or conversion"),
        ('"{}"', "empty placeholder"),
        ('"{order.no}"', "must be a plain name"),
        ('"{order_no"', "bad format string"),
    ],
)
def test_bad_placeholders_are_reported(fmt: str, expected: str) -> None:
    # given
    text = one_template(data=f'character_string1 = {fmt}\nphrase2 = "{{node_phrase}}"')

    # when
    problems = problems_of(text)

    # then
    assert any(
        p.startswith("template[0] (tmpl-a) data.character_string1: ") and expected in p for p in problems
    )


def test_fixed_value_that_breaks_its_keyword_rule_is_reported() -> None:
    # given: a phrase must be at most 5 Chinese characters
    text = one_template(data='character_string1 = "{order_no}"\nphrase2 = "已经从仓库发出"')

    # when
    problems = problems_of(text)

    # then
    assert len(problems) == 1
    assert problems[0].startswith(
        "template[0] (tmpl-a) data.phrase2: fixed value '已经从仓库发出' breaks the phrase rule"
    )


def test_literal_braces_are_allowed() -> None:
    # given
    text = one_template(data='character_string1 = "{{{order_no}}}"\nphrase2 = "{node_phrase}"')

    # when
    template = loads_templates_file(text).templates[0]

    # then
    assert render_data(template, SAMPLE_VALUES)["character_string1"] == "{SO20261120000001}"


def test_bad_content_is_reported() -> None:
    # given
    text = one_template(content='"订单编号:{{character_string1.DATA}}\\n状态:{{colour2.DATA}}\\n"')

    # when
    problems = problems_of(text)

    # then
    assert any(p.startswith("template[0] (tmpl-a) content: ") and "colour" in p for p in problems), problems


def test_enum_values_for_a_keyword_that_is_not_an_enum_are_reported() -> None:
    # given
    text = one_template() + '[template.enum_values]\nphrase2 = ["已出库"]\nthing9 = ["x"]\n'

    # when
    problems = problems_of(text)

    # then
    assert "template[0] (tmpl-a) enum_values.phrase2: keyword is a phrase, not an enum" in problems
    assert "template[0] (tmpl-a) enum_values.thing9: is not a keyword of content" in problems


def test_unknown_and_misspelt_fields_are_reported() -> None:
    # given
    text = one_template(topic='["NODE_DELIVERED"]')

    # when
    problems = problems_of(text)

    # then
    assert problems == ["template[0] (tmpl-a) topic: unknown field"]


def test_empty_and_repeated_topics_are_reported() -> None:
    # when
    empty = problems_of(one_template(topics="[]"))
    repeated = problems_of(one_template(topics='["NODE_OUTBOUND", "NODE_OUTBOUND"]'))

    # then
    assert empty == ["template[0] (tmpl-a) topics: is empty; a template must carry at least one topic"]
    assert repeated == ["template[0] (tmpl-a) topics: topic NODE_OUTBOUND is listed twice"]


def test_file_without_templates_is_reported() -> None:
    # when
    problems = problems_of("# nothing here\n")

    # then
    assert problems == ["no [[template]] tables"]


def test_invalid_toml_is_one_problem() -> None:
    # when
    problems = problems_of("[[template]\n")

    # then
    assert len(problems) == 1 and problems[0].startswith("not valid TOML")


def test_missing_file_is_a_templates_file_error(tmp_path: Path) -> None:
    # when
    with pytest.raises(TemplatesFileError) as caught:
        load_templates_file(tmp_path / "nope.toml")

    # then
    assert str(tmp_path / "nope.toml") in str(caught.value)
    assert caught.value.problems == ["the file does not exist"]


def test_placeholders_are_documented() -> None:
    # then
    assert {
        "order_no",
        "node_phrase",
        "node_title",
        "occurred_at",
        "note",
        "location",
        "carrier",
        "tracking_no",
        "eta",
        "deadline",
        "exception_reason",
        "option_summary",
        "slot_label",
        "sku_name",
        "run_out_date",
        "remind_date",
        "offer_title",
        "expires_at",
        "points",
        "amount",
        "stage",
        "progress",
        "open_token",
    } == KNOWN_PLACEHOLDERS
    assert all(PLACEHOLDERS[name] for name in KNOWN_PLACEHOLDERS)


# --- the one cached copy -------------------------------------------------------------------------


async def test_planner_sender_and_schema_share_one_cached_copy_of_the_file(
    settings: Settings, arq_pool: ArqRedis, http: httpx.AsyncClient
) -> None:
    # given the process's settings
    # when the planner's context, the sender and the schema's readers take the templates file
    planned = NoticeContext.from_settings(settings).templates
    sending = sender_for(settings, http, arq_pool, hooks=send_hooks(settings)).templates
    shown = templates_of(settings)

    # then they hold the very same object: the file was read once, by one loader
    assert planned is sending is shown
    assert cached_templates_file.cache_info().currsize >= 1
