from __future__ import annotations

import re

import pytest

from bff.catalog.topics import (
    NODE_ORDER,
    NODE_PHRASES,
    NODE_TITLES,
    TOPICS,
    Topic,
    TopicCategory,
    node_phrase,
    node_topic,
    topic_info,
)

RUNTIME_TOPIC_KEYS = [
    "ORDER_PAID",
    "NODE_MATERIAL_IN",
    "NODE_PRODUCTION_STARTED",
    "NODE_QC_PASSED",
    "NODE_OUTBOUND",
    "NODE_TRUNK_TRANSIT",
    "NODE_COURIER_ACCEPTED",
    "NODE_OUT_FOR_DELIVERY",
    "NODE_DELIVERED",
    "DELIVERY_SLOT",
    "ORDER_EXCEPTION",
    "PRESALE_PROGRESS",
    "RECEIPT_CONFIRM",
    "REPLENISHMENT",
    "MAINTENANCE",
    "RENEWAL_OFFER",
    "WIN_BACK",
    "MEMBER_BENEFIT",
]


def test_topics_are_the_contract_keys_in_contract_order() -> None:
    # given / when
    keys = [topic.value for topic in Topic]

    # then
    assert keys == RUNTIME_TOPIC_KEYS
    assert list(TOPICS) == list(Topic)


def test_every_topic_has_a_short_chinese_title_and_a_one_sentence_description() -> None:
    for topic, info in TOPICS.items():
        # then
        assert info.key is topic
        assert re.fullmatch(r"[\u4e00-\u9fa5]{2,6}", info.title), info.title
        assert info.description.endswith("。") and info.description.count("。") == 1, info.description


def test_consent_is_spent_on_exceptions_before_progress_before_marketing() -> None:
    # given
    by_priority = sorted(TOPICS.values(), key=lambda info: info.priority, reverse=True)

    # when
    order = [info.key for info in by_priority]

    # then
    assert order[0] is Topic.ORDER_EXCEPTION
    assert order[1] is Topic.DELIVERY_SLOT
    assert order[-1] is Topic.WIN_BACK
    assert topic_info(Topic.NODE_OUT_FOR_DELIVERY).priority == topic_info(Topic.NODE_DELIVERED).priority
    assert (
        topic_info(Topic.NODE_OUTBOUND).priority
        > topic_info(Topic.NODE_COURIER_ACCEPTED).priority
        > topic_info(Topic.NODE_TRUNK_TRANSIT).priority
        > topic_info(Topic.ORDER_PAID).priority
        > topic_info(Topic.PRESALE_PROGRESS).priority
        > topic_info(Topic.NODE_QC_PASSED).priority
    )
    progress = [i.priority for i in TOPICS.values() if i.category is TopicCategory.ORDER_PROGRESS]
    marketing = [
        i.priority for i in TOPICS.values() if i.category in (TopicCategory.LIFECYCLE, TopicCategory.MEMBER)
    ]
    assert min(progress) > max(marketing)


def test_the_exact_priority_ladder() -> None:
    # given
    expected = {
        "ORDER_EXCEPTION": 100,
        "DELIVERY_SLOT": 90,
        "NODE_OUT_FOR_DELIVERY": 80,
        "NODE_DELIVERED": 80,
        "RECEIPT_CONFIRM": 70,
        "NODE_OUTBOUND": 60,
        "NODE_COURIER_ACCEPTED": 55,
        "NODE_TRUNK_TRANSIT": 50,
        "ORDER_PAID": 45,
        "PRESALE_PROGRESS": 40,
        "NODE_QC_PASSED": 30,
        "NODE_PRODUCTION_STARTED": 30,
        "NODE_MATERIAL_IN": 30,
        "REPLENISHMENT": 20,
        "MAINTENANCE": 15,
        "MEMBER_BENEFIT": 10,
        "RENEWAL_OFFER": 8,
        "WIN_BACK": 5,
    }

    # when
    actual = {info.key.value: info.priority for info in TOPICS.values()}

    # then
    assert actual == expected


def test_only_order_exception_cannot_be_switched_off() -> None:
    # when
    locked = [info.key for info in TOPICS.values() if not info.opt_out_allowed]

    # then
    assert locked == [Topic.ORDER_EXCEPTION]


def test_weekly_limit_applies_to_lifecycle_and_member_topics_only() -> None:
    # when
    limited = {info.key for info in TOPICS.values() if info.weekly_limited}

    # then
    assert limited == {
        Topic.REPLENISHMENT,
        Topic.MAINTENANCE,
        Topic.RENEWAL_OFFER,
        Topic.WIN_BACK,
        Topic.MEMBER_BENEFIT,
    }


def test_only_time_critical_topics_ignore_quiet_hours() -> None:
    # when
    urgent = {info.key for info in TOPICS.values() if info.urgent}

    # then
    assert urgent == {Topic.ORDER_EXCEPTION, Topic.DELIVERY_SLOT, Topic.NODE_OUT_FOR_DELIVERY}


def test_categories() -> None:
    # when
    by_category: dict[TopicCategory, set[str]] = {}
    for info in TOPICS.values():
        by_category.setdefault(info.category, set()).add(info.key.value)

    # then
    assert by_category[TopicCategory.ORDER_ACTION] == {"DELIVERY_SLOT", "ORDER_EXCEPTION", "RECEIPT_CONFIRM"}
    assert by_category[TopicCategory.LIFECYCLE] == {
        "REPLENISHMENT",
        "MAINTENANCE",
        "RENEWAL_OFFER",
        "WIN_BACK",
    }
    assert by_category[TopicCategory.MEMBER] == {"MEMBER_BENEFIT"}
    assert by_category[TopicCategory.ORDER_PROGRESS] == {
        "ORDER_PAID",
        "PRESALE_PROGRESS",
        *(f"NODE_{node}" for node in NODE_ORDER),
    }


def test_topic_info_accepts_a_plain_string() -> None:
    # when
    info = topic_info("NODE_OUTBOUND")

    # then
    assert info.key is Topic.NODE_OUTBOUND


@pytest.mark.parametrize("bad", ["NODE_SHIPPED", "order_paid", ""])
def test_topic_info_rejects_an_unknown_key_with_a_value_error(bad: str) -> None:
    # when / then
    with pytest.raises(ValueError, match="unknown topic"):
        topic_info(bad)


def test_nodes_are_in_supply_chain_order_and_each_has_a_topic() -> None:
    # when
    topics = [node_topic(node) for node in NODE_ORDER]

    # then
    assert NODE_ORDER[0] == "MATERIAL_IN" and NODE_ORDER[-1] == "DELIVERED"
    assert len(NODE_ORDER) == 8
    assert topics == [t for t in Topic if t.value.startswith("NODE_")]


def test_node_titles_and_phrases_are_chinese_and_phrases_fit_a_phrase_keyword() -> None:
    for node in NODE_ORDER:
        # then
        assert re.fullmatch(r"[\u4e00-\u9fa5]+", NODE_TITLES[node])
        assert re.fullmatch(r"[\u4e00-\u9fa5]{1,5}", NODE_PHRASES[node])
        assert node_phrase(node) == NODE_PHRASES[node]
    assert NODE_TITLES["OUTBOUND"] == "已出库"
    assert node_phrase("OUT_FOR_DELIVERY") == "派送中"


def test_unknown_node_is_rejected() -> None:
    # when / then
    with pytest.raises(ValueError, match="unknown node 'SHIPPED'"):
        node_topic("SHIPPED")
    with pytest.raises(ValueError, match="unknown node"):
        node_phrase("SHIPPED")
