from __future__ import annotations

from bff.catalog.templates_file import load_templates_file
from bff.models import SubscribeRequestLog, User
from tests.schema.subscriptions.documents import SUBSCRIBE_REQUEST, Run


async def test_anonymous_callers_get_null(run: Run) -> None:
    # when
    data = await run(SUBSCRIBE_REQUEST, {"moment": "AFTER_PAYMENT", "orderNo": "SO1"})

    # then
    assert data == {"subscribeRequest": None}


async def test_after_payment_the_answer_is_ready_for_wx_request_subscribe_message(
    run: Run, user: User
) -> None:
    # when
    data = await run(SUBSCRIBE_REQUEST, {"moment": "AFTER_PAYMENT", "orderNo": "SO1"}, viewer=user)

    # then at most three one-time ids, titles all different, and the topics they carry
    answer = data["subscribeRequest"]
    templates = load_templates_file()
    configs = [templates.by_id(template_id) for template_id in answer["templateIds"]]
    assert 1 <= len(configs) <= 3
    assert all(config is not None and config.one_time for config in configs)
    assert len({config.title for config in configs if config is not None}) == len(configs)
    carried = {topic for config in configs if config is not None for topic in config.topics}
    assert {t["key"] for t in answer["topics"]} <= carried
    assert {"key": "DELIVERY_SLOT", "title": "选择送货时段"} in answer["topics"]


async def test_the_request_id_is_remembered_for_the_report(run: Run, user: User) -> None:
    # when
    data = await run(SUBSCRIBE_REQUEST, {"moment": "EXCEPTION", "orderNo": "SO1"}, viewer=user)

    # then
    answer = data["subscribeRequest"]
    assert answer["templateIds"] == ["tmpl-order-exception-0001"]
    log = await SubscribeRequestLog.get(request_id=answer["requestId"])
    assert log.user_id == user.id


async def test_the_order_number_is_optional(run: Run, user: User) -> None:
    # when
    data = await run(SUBSCRIBE_REQUEST, {"moment": "SUBSCRIPTION_CENTER"}, viewer=user)

    # then
    assert len(data["subscribeRequest"]["templateIds"]) == 3
