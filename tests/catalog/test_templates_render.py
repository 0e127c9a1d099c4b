"""Rendering a template of the templates file: keyword values and the page of one notice."""

from __future__ import annotations

import pytest

from bff.catalog.templates_file import load_templates_file, loads_templates_file
from bff.catalog.templates_render import render_data, render_page
from bff.catalog.topics import Topic
from tests.catalog.test_templates_file import RUNTIME_EXAMPLE, SAMPLE_VALUES


def test_render_fills_every_keyword_and_the_page() -> None:
    # given
    template = load_templates_file().for_topic(Topic.NODE_OUTBOUND)
    assert template is not None

    # when
    data = render_data(template, SAMPLE_VALUES)
    page = render_page(template, SAMPLE_VALUES)

    # then
    assert data["character_string1"] == "SO20261120000001"
    assert data["phrase2"] == "已出库"
    assert set(data) == set(template.keyword_codes)
    assert page == "pages/order/detail?orderNo=SO20261120000001&n=ot_abc123"


def test_render_keeps_fixed_text_and_ignores_extra_values() -> None:
    # given
    template = load_templates_file().for_topic(Topic.RECEIPT_CONFIRM)
    assert template is not None

    # when
    data = render_data(template, {**SAMPLE_VALUES, "unused": "x"})

    # then
    assert data["thing3"] == "请确认收货并为本次服务评分"


def test_render_with_a_missing_value_names_template_keyword_and_placeholder() -> None:
    # given
    template = loads_templates_file(RUNTIME_EXAMPLE).templates[0]
    values = {k: v for k, v in SAMPLE_VALUES.items() if k != "note"}

    # when
    with pytest.raises(KeyError) as caught:
        render_data(template, values)

    # then
    message = str(caught.value)
    assert "tmpl-order-progress-0001" in message and "thing4" in message and "{note}" in message


def test_render_page_with_a_missing_value_raises_key_error() -> None:
    # given
    template = loads_templates_file(RUNTIME_EXAMPLE).templates[0]

    # when / then
    with pytest.raises(KeyError, match=r"page needs a value for placeholder \{order_no\}"):
        render_page(template, {})
