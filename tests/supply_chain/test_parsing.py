from __future__ import annotations

import copy
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from bff.supply_chain.events import (
    DeliverySlots,
    ExceptionScope,
    ExpectedNode,
    Item,
    Maintenance,
    Member,
    MemberUpsert,
    Option,
    OrderCancelled,
    OrderException,
    OrderNode,
    OrderPaid,
    OrderPlaced,
    PlacedOrder,
    PresaleProgress,
    Sku,
    SkuUpsert,
    Slot,
)
from bff.supply_chain.parsing import MAX_EVENTS, BatchInvalid, FieldError, parse_batch

CST = timezone(timedelta(hours=8))
AT = "2026-11-20T09:30:00+08:00"
AT_DT = datetime(2026, 11, 20, 9, 30, tzinfo=CST)

CONTRACT_EXAMPLE = """{"events": [
  {"eventId": "evt-000123", "type": "order.node", "occurredAt": "2026-11-20T09:30:00+08:00",
   "orderNo": "SO20261120000001", "node": "OUTBOUND", "location": "杭州仓",
   "note": "已出库", "carrier": "顺丰速运", "trackingNo": "SF1234567890",
   "estimatedArrival": "2026-11-22T18:00:00+08:00",
   "expected": [{"node": "DELIVERED", "expectedAt": "2026-11-22T18:00:00+08:00"}]}
]}"""


def placed() -> dict[str, Any]:
    return {
        "eventId": "evt-placed",
        "type": "order.placed",
        "occurredAt": AT,
        "order": {
            "orderNo": "SO1",
            "openid": "oAbC-openid-0001",
            "placedAt": "2026-11-20T09:00:00+08:00",
            "totalAmount": "258.00",
            "region": "浙江省杭州市",
            "warehouse": "杭州仓",
            "presale": False,
            "items": [
                {"skuCode": "SKU-OATS-1KG", "name": "有机燕麦片 1kg", "quantity": 2, "unitPrice": "59.00"},
                {"skuCode": "SKU-KETTLE", "name": "电热水壶", "quantity": 1, "unitPrice": 140},
            ],
        },
    }


def paid() -> dict[str, Any]:
    return {
        "eventId": "evt-paid",
        "type": "order.paid",
        "occurredAt": AT,
        "orderNo": "SO1",
        "paidAt": "2026-11-20T09:01:00+08:00",
        "transactionId": "4200001234202611201234567890",
    }


def node() -> dict[str, Any]:
    return {
        "eventId": "evt-node",
        "type": "order.node",
        "occurredAt": AT,
        "orderNo": "SO1",
        "node": "PRODUCTION_STARTED",
        "location": "宁波工厂",
        "note": "",
        "expected": [
            {"node": "QC_PASSED", "expectedAt": "2026-11-21T18:00:00+08:00"},
            {"node": "DELIVERED", "expectedAt": "2026-11-25T18:00:00+08:00"},
        ],
    }


def presale() -> dict[str, Any]:
    return {
        "eventId": "evt-presale",
        "type": "order.presale_progress",
        "occurredAt": AT,
        "orderNo": "SO1",
        "stage": "尾款生产",
        "progressPercent": 60,
        "expectedShipDate": "2026-12-01",
    }


def slots() -> dict[str, Any]:
    return {
        "eventId": "evt-slots",
        "type": "order.delivery_slots",
        "occurredAt": AT,
        "orderNo": "SO1",
        "deadline": "2026-11-21T12:00:00+08:00",
        "defaultSlotId": "am",
        "slots": [
            {
                "id": "am",
                "label": "11月22日 09:00~12:00",
                "startsAt": "2026-11-22T09:00:00+08:00",
                "endsAt": "2026-11-22T12:00:00+08:00",
            },
            {
                "id": "pm",
                "label": "11月22日 14:00~18:00",
                "startsAt": "2026-11-22T14:00:00+08:00",
                "endsAt": "2026-11-22T18:00:00+08:00",
            },
        ],
    }


def exception() -> dict[str, Any]:
    return {
        "eventId": "evt-exception",
        "type": "order.exception",
        "occurredAt": AT,
        "exceptionId": "exc-1",
        "kind": "DELAY",
        "reason": "暴雨导致干线延误",
        "deadline": "2026-11-21T12:00:00+08:00",
        "defaultOption": "WAIT",
        "options": [
            {"code": "WAIT", "label": "继续等待"},
            {"code": "CHANGE_WAREHOUSE", "label": "换仓发货"},
            {"code": "CANCEL", "label": "取消订单"},
        ],
        "orderNos": ["SO1", "SO2"],
    }


def cancelled() -> dict[str, Any]:
    return {
        "eventId": "evt-cancel",
        "type": "order.cancelled",
        "occurredAt": AT,
        "orderNo": "SO1",
        "reason": "用户取消",
    }


def sku() -> dict[str, Any]:
    return {
        "eventId": "evt-sku",
        "type": "sku.upsert",
        "occurredAt": AT,
        "sku": {
            "skuCode": "SKU-FILTER",
            "name": "净水器滤芯",
            "category": "家电耗材",
            "consumable": True,
            "usageDaysPerUnit": 90,
            "maintenance": [{"afterDays": 180, "title": "清洗滤网"}],
            "renewalAfterDays": None,
        },
    }


def member() -> dict[str, Any]:
    return {
        "eventId": "evt-member",
        "type": "member.upsert",
        "occurredAt": AT,
        "member": {
            "openid": "oAbC-openid-0001",
            "memberTier": "GOLD",
            "points": 1280,
            "pointsExpireAt": "2026-12-31T23:59:59+08:00",
            "birthday": "02-29",
            "region": "浙江省杭州市",
        },
    }


ALL_VALID = [placed, paid, node, presale, slots, exception, cancelled, sku, member]


def body(*events: dict[str, Any]) -> bytes:
    return json.dumps({"events": list(events)}, ensure_ascii=False).encode()


def errors_of(raw: bytes) -> list[FieldError]:
    with pytest.raises(BatchInvalid) as caught:
        parse_batch(raw)
    return caught.value.errors


def one_error(event: dict[str, Any]) -> FieldError:
    errors = errors_of(body(event))
    assert len(errors) == 1, errors
    return errors[0]


# --- valid events -------------------------------------------------------------------------------


def test_contract_example_parses_into_an_order_node() -> None:
    # when
    events = parse_batch(CONTRACT_EXAMPLE.encode())

    # then
    assert events == [
        OrderNode(
            event_id="evt-000123",
            occurred_at=AT_DT,
            order_no="SO20261120000001",
            node="OUTBOUND",
            location="杭州仓",
            note="已出库",
            carrier="顺丰速运",
            tracking_no="SF1234567890",
            estimated_arrival=datetime(2026, 11, 22, 18, 0, tzinfo=CST),
            expected=(ExpectedNode(node="DELIVERED", expected_at=datetime(2026, 11, 22, 18, 0, tzinfo=CST)),),
        )
    ]
    assert events[0].type == "order.node"


def test_one_of_every_type_parses_in_order() -> None:
    # given
    raw = body(*(make() for make in ALL_VALID))

    # when
    events = parse_batch(raw)

    # then
    assert [e.type for e in events] == [
        "order.placed",
        "order.paid",
        "order.node",
        "order.presale_progress",
        "order.delivery_slots",
        "order.exception",
        "order.cancelled",
        "sku.upsert",
        "member.upsert",
    ]
    assert all(e.occurred_at == AT_DT for e in events)


def test_order_placed_fields() -> None:
    # when
    [event] = parse_batch(body(placed()))

    # then
    assert event == OrderPlaced(
        event_id="evt-placed",
        occurred_at=AT_DT,
        order=PlacedOrder(
            order_no="SO1",
            openid="oAbC-openid-0001",
            placed_at=datetime(2026, 11, 20, 9, 0, tzinfo=CST),
            total_amount=Decimal("258.00"),
            region="浙江省杭州市",
            warehouse="杭州仓",
            presale=False,
            items=(
                Item(sku_code="SKU-OATS-1KG", name="有机燕麦片 1kg", quantity=2, unit_price=Decimal("59.00")),
                Item(sku_code="SKU-KETTLE", name="电热水壶", quantity=1, unit_price=Decimal(140)),
            ),
        ),
    )


def test_money_written_as_a_json_number_keeps_its_exact_decimal_value() -> None:
    # given: 0.1 + 0.2 style values would drift through float
    event = placed()
    event["order"]["totalAmount"] = 19.99
    raw = json.dumps({"events": [event]}).encode()

    # when
    [parsed] = parse_batch(raw)

    # then
    assert isinstance(parsed, OrderPlaced)
    assert parsed.order.total_amount == Decimal("19.99")


def test_order_paid_fields() -> None:
    # when
    [event] = parse_batch(body(paid()))

    # then
    assert event == OrderPaid(
        event_id="evt-paid",
        occurred_at=AT_DT,
        order_no="SO1",
        paid_at=datetime(2026, 11, 20, 9, 1, tzinfo=CST),
        transaction_id="4200001234202611201234567890",
    )


def test_order_node_before_outbound_has_no_courier_fields_and_may_have_an_empty_note() -> None:
    # when
    [event] = parse_batch(body(node()))

    # then
    assert isinstance(event, OrderNode)
    assert (event.carrier, event.tracking_no, event.estimated_arrival) == (None, None, None)
    assert event.note == ""
    assert [e.node for e in event.expected] == ["QC_PASSED", "DELIVERED"]


def test_presale_progress_fields() -> None:
    # when
    [event] = parse_batch(body(presale()))

    # then
    assert event == PresaleProgress(
        event_id="evt-presale",
        occurred_at=AT_DT,
        order_no="SO1",
        stage="尾款生产",
        progress_percent=60,
        expected_ship_date=date(2026, 12, 1),
    )


def test_delivery_slots_fields() -> None:
    # when
    [event] = parse_batch(body(slots()))

    # then
    assert isinstance(event, DeliverySlots)
    assert event.default_slot_id == "am"
    assert event.deadline == datetime(2026, 11, 21, 12, 0, tzinfo=CST)
    assert event.slots[1] == Slot(
        id="pm",
        label="11月22日 14:00~18:00",
        starts_at=datetime(2026, 11, 22, 14, 0, tzinfo=CST),
        ends_at=datetime(2026, 11, 22, 18, 0, tzinfo=CST),
    )


def test_exception_for_listed_orders() -> None:
    # when
    [event] = parse_batch(body(exception()))

    # then
    assert isinstance(event, OrderException)
    assert event.order_nos == ("SO1", "SO2")
    assert event.scope is None
    assert event.kind == "DELAY"
    assert event.default_option == "WAIT"
    assert event.options[1] == Option(code="CHANGE_WAREHOUSE", label="换仓发货")


def test_exception_for_a_scope() -> None:
    # given
    raw = exception()
    del raw["orderNos"]
    raw["scope"] = {"warehouse": "杭州仓", "skuCode": "SKU-OATS-1KG"}

    # when
    [event] = parse_batch(body(raw))

    # then
    assert isinstance(event, OrderException)
    assert event.order_nos is None
    assert event.scope == ExceptionScope(warehouse="杭州仓", sku_code="SKU-OATS-1KG", region=None)


def test_order_cancelled_fields() -> None:
    # when
    [event] = parse_batch(body(cancelled()))

    # then
    assert event == OrderCancelled(
        event_id="evt-cancel", occurred_at=AT_DT, order_no="SO1", reason="用户取消"
    )


def test_sku_upsert_fields() -> None:
    # when
    [event] = parse_batch(body(sku()))

    # then
    assert event == SkuUpsert(
        event_id="evt-sku",
        occurred_at=AT_DT,
        sku=Sku(
            sku_code="SKU-FILTER",
            name="净水器滤芯",
            category="家电耗材",
            consumable=True,
            usage_days_per_unit=90,
            maintenance=(Maintenance(after_days=180, title="清洗滤网"),),
            renewal_after_days=None,
        ),
    )


def test_member_upsert_fields() -> None:
    # when
    [event] = parse_batch(body(member()))

    # then
    assert event == MemberUpsert(
        event_id="evt-member",
        occurred_at=AT_DT,
        member=Member(
            openid="oAbC-openid-0001",
            member_tier="GOLD",
            points=1280,
            points_expire_at=datetime(2026, 12, 31, 23, 59, 59, tzinfo=CST),
            birthday="02-29",
            region="浙江省杭州市",
        ),
    )


def test_nullable_fields_may_be_null_or_left_out() -> None:
    # given
    a_sku = sku()
    a_sku["sku"]["usageDaysPerUnit"] = None
    del a_sku["sku"]["renewalAfterDays"]
    a_member = member()
    a_member["member"].update({"birthday": None, "pointsExpireAt": None})
    del a_member["member"]["region"]
    a_presale = presale()
    a_presale["expectedShipDate"] = None

    # when
    parsed_sku, parsed_member, parsed_presale = parse_batch(body(a_sku, a_member, a_presale))

    # then
    assert isinstance(parsed_sku, SkuUpsert) and parsed_sku.sku.usage_days_per_unit is None
    assert parsed_sku.sku.renewal_after_days is None
    assert isinstance(parsed_member, MemberUpsert) and parsed_member.member.birthday is None
    assert parsed_member.member.region is None and parsed_member.member.points_expire_at is None
    assert isinstance(parsed_presale, PresaleProgress) and parsed_presale.expected_ship_date is None


def test_utc_z_suffix_is_an_offset() -> None:
    # given
    event = paid()
    event["occurredAt"] = "2026-11-20T01:30:00Z"

    # when
    [parsed] = parse_batch(body(event))

    # then
    assert parsed.occurred_at == AT_DT


def test_fields_beyond_the_contract_are_ignored() -> None:
    # given
    event = paid()
    event["channel"] = "wechat-pay"

    # when
    [parsed] = parse_batch(body(event))

    # then
    assert isinstance(parsed, OrderPaid)


# --- the body -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        (b"{not json", "body", "not valid JSON"),
        (b"\xff\xfe", "body", "not valid JSON"),
        (b'{"events": [{"x": NaN}]}', "body", "not valid JSON"),
        (b"[]", "body", "must be a JSON object, got an array"),
        (b"{}", "events", "is required"),
        (b'{"events": {}}', "events", "must be an array, got an object"),
        (b'{"events": []}', "events", "must hold 1 to 1000 events, got 0"),
    ],
)
def test_bad_body_is_one_body_level_error(raw: bytes, field: str, message: str) -> None:
    # when
    errors = errors_of(raw)

    # then
    assert len(errors) == 1
    assert errors[0].index is None
    assert errors[0].field == field
    assert message in errors[0].message


def test_a_thousand_events_are_accepted() -> None:
    # given
    events = []
    for n in range(MAX_EVENTS):
        event = paid()
        event["eventId"] = f"evt-{n}"
        events.append(event)

    # when
    parsed = parse_batch(body(*events))

    # then
    assert len(parsed) == 1000


def test_a_thousand_and_one_events_are_refused() -> None:
    # given
    events = []
    for n in range(MAX_EVENTS + 1):
        event = paid()
        event["eventId"] = f"evt-{n}"
        events.append(event)

    # when
    errors = errors_of(body(*events))

    # then
    assert errors == [FieldError(None, "events", "must hold 1 to 1000 events, got 1001")]


# --- bad events ---------------------------------------------------------------------------------


def test_several_bad_events_are_each_reported_by_index_and_field() -> None:
    # given
    bad_quantity = placed()
    bad_quantity["order"]["items"][1]["quantity"] = 0
    bad_time = paid()
    bad_time["occurredAt"] = "2026-11-20 09:30"
    bad_node = node()
    bad_node["node"] = "SHIPPED"
    raw = body(cancelled(), bad_quantity, bad_time, member(), bad_node)

    # when
    errors = errors_of(raw)

    # then
    assert [(e.index, e.field) for e in errors] == [
        (1, "order.items[1].quantity"),
        (2, "occurredAt"),
        (4, "node"),
    ]
    assert errors[0].message == "must be at least 1, got 0"
    assert errors[1].message == "must be an ISO 8601 time with an offset, got '2026-11-20 09:30'"
    assert errors[2].message.startswith("unknown node 'SHIPPED'; expected one of MATERIAL_IN, ")


def test_batch_invalid_message_summarises_the_errors() -> None:
    # given
    event = paid()
    del event["orderNo"]

    # when
    with pytest.raises(BatchInvalid) as caught:
        parse_batch(body(event))

    # then
    assert str(caught.value) == "1 problem(s) in the batch: events[0].orderNo: is required"
    assert caught.value.errors[0].as_json() == {"index": 0, "field": "orderNo", "message": "is required"}


def test_event_that_is_not_an_object() -> None:
    # when
    errors = errors_of(body(paid(), "evt"))  # type: ignore[arg-type]

    # then
    assert errors == [FieldError(1, "event", "must be an object, got string 'evt'")]


def test_unknown_type() -> None:
    # given
    event = paid()
    event["type"] = "order.shipped"

    # when
    error = one_error(event)

    # then
    assert error.field == "type"
    assert error.message.startswith("unknown event type 'order.shipped'; expected one of order.placed, ")


def test_duplicate_event_id_in_the_batch() -> None:
    # given
    raw = body(paid(), cancelled(), paid())

    # when
    errors = errors_of(raw)

    # then
    assert errors == [FieldError(2, "eventId", "duplicate of events[0].eventId 'evt-paid'")]


def mutate(make: Any, path: str, value: Any) -> dict[str, Any]:
    """A copy of a valid event with the value at a dotted path replaced (or removed for DELETE)."""
    event: dict[str, Any] = copy.deepcopy(make())
    target: Any = event
    parts = path.split(".")
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if value is DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return event


DELETE = object()


@pytest.mark.parametrize(
    ("make", "path", "value", "field", "message"),
    [
        (paid, "eventId", DELETE, "eventId", "is required"),
        (paid, "eventId", "", "eventId", "must not be empty"),
        (paid, "eventId", 12, "eventId", "must be a string, got number 12"),
        (paid, "occurredAt", DELETE, "occurredAt", "is required"),
        (
            paid,
            "occurredAt",
            "2026-11-20T09:30:00",
            "occurredAt",
            "must be an ISO 8601 time with an offset, got",
        ),
        (paid, "occurredAt", "yesterday", "occurredAt", "must be an ISO 8601 time with an offset, such as"),
        (paid, "paidAt", None, "paidAt", "must not be null"),
        (paid, "transactionId", "x" * 65, "transactionId", "must be at most 64 characters, got 65"),
        (placed, "order", DELETE, "order", "is required"),
        (placed, "order", [], "order", "must be an object, got an array"),
        (placed, "order.presale", "no", "order.presale", "must be true or false, got string 'no'"),
        (placed, "order.items", [], "order.items", "must hold at least 1 entry"),
        (placed, "order.items.0", "SKU", "order.items[0]", "must be an object"),
        (placed, "order.items.0.quantity", -1, "order.items[0].quantity", "must be at least 1, got -1"),
        (
            placed,
            "order.items.0.quantity",
            1.5,
            "order.items[0].quantity",
            "must be an integer, got number 1.5",
        ),
        (
            placed,
            "order.items.0.quantity",
            True,
            "order.items[0].quantity",
            "must be an integer, got boolean",
        ),
        (placed, "order.items.0.unitPrice", "-5.00", "order.items[0].unitPrice", "must not be negative"),
        (placed, "order.items.0.unitPrice", -5, "order.items[0].unitPrice", "must not be negative"),
        (placed, "order.items.0.unitPrice", "¥5", "order.items[0].unitPrice", "must be a decimal amount"),
        (placed, "order.items.0.unitPrice", "1e3", "order.items[0].unitPrice", "must be a decimal amount"),
        (placed, "order.items.0.unitPrice", "5.001", "order.items[0].unitPrice", "at most 2 decimal places"),
        (placed, "order.totalAmount", None, "order.totalAmount", "must not be null"),
        (placed, "order.totalAmount", False, "order.totalAmount", "must be a decimal amount"),
        (presale, "progressPercent", 101, "progressPercent", "must be between 0 and 100, got 101"),
        (presale, "progressPercent", -1, "progressPercent", "must be between 0 and 100, got -1"),
        (presale, "expectedShipDate", "2026-02-30", "expectedShipDate", "must be a date YYYY-MM-DD"),
        (presale, "expectedShipDate", "2026-12-01T00:00:00+08:00", "expectedShipDate", "must be a date"),
        (node, "location", "", "location", "must not be empty"),
        (node, "note", DELETE, "note", "is required"),
        (node, "carrier", "顺丰速运", "carrier", "only OUTBOUND and later nodes carry it"),
        (node, "expected.0.node", "MATERIAL_IN", "expected[0].node", "is not ahead of this event's node"),
        (node, "expected.1.node", "QC_PASSED", "expected[1].node", "QC_PASSED is listed twice"),
        (node, "expected.0.expectedAt", "soon", "expected[0].expectedAt", "must be an ISO 8601 time"),
        (slots, "defaultSlotId", "night", "defaultSlotId", "'night' is not the id of one of the slots"),
        (slots, "slots", [], "slots", "must hold at least 1 entry"),
        (slots, "slots.1.id", "am", "slots[1].id", "duplicate of slots[0].id 'am'"),
        (slots, "slots.0.endsAt", "2026-11-22T08:00:00+08:00", "slots[0].endsAt", "must be after startsAt"),
        (exception, "kind", "FLOOD", "kind", "unknown exception kind 'FLOOD'"),
        (
            exception,
            "defaultOption",
            "REFUND",
            "defaultOption",
            "'REFUND' is not the code of one of the options",
        ),
        (exception, "options.2.code", "WAIT", "options[2].code", "duplicate of options[0].code"),
        (exception, "orderNos", DELETE, "orderNos", "is required unless scope is given"),
        (exception, "orderNos", [], "orderNos", "must hold at least 1 entry"),
        (exception, "orderNos.1", 2, "orderNos[1]", "must be a string, got number 2"),
        (exception, "scope", {"warehouse": "杭州仓"}, "scope", "give either orderNos or scope, not both"),
        (exception, "reason", "", "reason", "must not be empty"),
        (sku, "sku.consumable", None, "sku.consumable", "must not be null"),
        (sku, "sku.usageDaysPerUnit", 0, "sku.usageDaysPerUnit", "must be at least 1, got 0"),
        (sku, "sku.maintenance", DELETE, "sku.maintenance", "is required"),
        (sku, "sku.maintenance.0.afterDays", "180", "sku.maintenance[0].afterDays", "must be an integer"),
        (member, "member.points", -1, "member.points", "must be at least 0, got -1"),
        (member, "member.points", 2**40, "member.points", "must be at most 2147483647"),
        (member, "member.birthday", "1990-02-28", "member.birthday", "must be MM-DD"),
        (member, "member.birthday", "02-30", "member.birthday", "'02-30' is not a day of the year"),
        (member, "member.birthday", "13-01", "member.birthday", "'13-01' is not a day of the year"),
    ],
)
def test_malformed_field_is_reported_with_its_path(
    make: Any, path: str, value: Any, field: str, message: str
) -> None:
    # given
    event = mutate(make, path, value)

    # when
    error = one_error(event)

    # then
    assert (error.index, error.field) == (0, field)
    assert message in error.message, error.message


def test_exception_with_an_empty_scope() -> None:
    # given
    event = exception()
    del event["orderNos"]
    event["scope"] = {"warehouse": None}

    # when
    error = one_error(event)

    # then
    assert error == FieldError(0, "scope", "must name at least one of warehouse, skuCode, region")


def test_integral_json_float_counts_as_an_integer() -> None:
    # given: a sender whose JSON library writes every number as a float
    event = presale()
    event["progressPercent"] = 60.0

    # when
    [parsed] = parse_batch(body(event))

    # then
    assert isinstance(parsed, PresaleProgress) and parsed.progress_percent == 60


def test_one_bad_event_rejects_the_whole_batch() -> None:
    # given
    bad = cancelled()
    bad["eventId"] = "evt-cancel-2"
    bad["orderNo"] = ""

    # when
    errors = errors_of(body(*(make() for make in ALL_VALID), bad))

    # then
    assert errors == [FieldError(len(ALL_VALID), "orderNo", "must not be empty")]


def test_one_event_reports_all_of_its_problems() -> None:
    # given
    event = placed()
    event["occurredAt"] = "now"
    event["order"]["openid"] = None
    event["order"]["items"][0]["quantity"] = 0
    event["order"]["items"][1]["unitPrice"] = "abc"

    # when
    errors = errors_of(body(event))

    # then
    assert {e.field for e in errors} == {
        "occurredAt",
        "order.openid",
        "order.items[0].quantity",
        "order.items[1].unitPrice",
    }
