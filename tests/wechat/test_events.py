"""Push bodies: parsing the §4.1 examples and variants, and builder → parser round trips."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bff.wechat.events import (
    SUBSCRIPTION_EVENTS,
    ChangeEvent,
    OtherEvent,
    PopupEvent,
    PushFormat,
    PushParseError,
    SentEvent,
    build_event_body,
    build_secure_envelope,
    detect_format,
    parse_envelope,
    parse_events,
)

OPENID = "oUSER_openid_example_001"

POPUP_XML = b"""<xml>
  <ToUserName><![CDATA[gh_0a1b2c3d4e5f]]></ToUserName>
  <FromUserName><![CDATA[oUSER_openid_example_001]]></FromUserName>
  <CreateTime>1767225600</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[subscribe_msg_popup_event]]></Event>
  <SubscribeMsgPopupEvent>
    <List>
      <TemplateId><![CDATA[TPL_ORDER_SHIPPED_xxxxxxxxxxxxxxxxxxxxxxxxxx]]></TemplateId>
      <SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>
      <PopupScene>0</PopupScene>
    </List>
    <List>
      <TemplateId><![CDATA[TPL_REPLENISH_REMIND_xxxxxxxxxxxxxxxxxxxxxxx]]></TemplateId>
      <SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>
      <PopupScene>0</PopupScene>
    </List>
  </SubscribeMsgPopupEvent>
</xml>"""

POPUP_JSON_ONE = (
    b'{"ToUserName":"gh_0a1b2c3d4e5f","FromUserName":"oUSER_openid_example_001",'
    b'"CreateTime":"1767225600","MsgType":"event","Event":"subscribe_msg_popup_event",'
    b'"List":{"TemplateId":"TPL_ORDER_SHIPPED_xxx","SubscribeStatusString":"accept","PopupScene":"0"}}'
)

POPUP_JSON_TWO = (
    b'{"ToUserName":"gh_0a1b2c3d4e5f","FromUserName":"oUSER_openid_example_001",'
    b'"CreateTime":"1767225600","MsgType":"event","Event":"subscribe_msg_popup_event",'
    b'"List":[{"TemplateId":"TPL_A","SubscribeStatusString":"accept","PopupScene":"0"},'
    b'{"TemplateId":"TPL_B","SubscribeStatusString":"reject","PopupScene":"0"}]}'
)

CHANGE_JSON = (
    b'{"ToUserName":"gh_0a1b2c3d4e5f","FromUserName":"oUSER_openid_example_001",'
    b'"CreateTime":"1767229200","MsgType":"event","Event":"subscribe_msg_change_event",'
    b'"List":{"TemplateId":"TPL_ORDER_SHIPPED_xxx","SubscribeStatusString":"reject"}}'
)

SENT_XML = b"""<xml>
  <ToUserName><![CDATA[gh_0a1b2c3d4e5f]]></ToUserName>
  <FromUserName><![CDATA[oUSER_openid_example_001]]></FromUserName>
  <CreateTime>1767232800</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[subscribe_msg_sent_event]]></Event>
  <SubscribeMsgSentEvent>
    <List>
      <TemplateId><![CDATA[TPL_ORDER_SHIPPED_xxx]]></TemplateId>
      <MsgID>2088001234567890123</MsgID>
      <ErrorCode>0</ErrorCode>
      <ErrorStatus><![CDATA[success]]></ErrorStatus>
    </List>
  </SubscribeMsgSentEvent>
</xml>"""

SENT_JSON = (
    b'{"ToUserName":"gh_0a1b2c3d4e5f","FromUserName":"oUSER_openid_example_001",'
    b'"CreateTime":"1767232800","MsgType":"event","Event":"subscribe_msg_sent_event",'
    b'"List":{"TemplateId":"TPL_ORDER_SHIPPED_xxx","MsgID":"2088001234567890123",'
    b'"ErrorCode":"0","ErrorStatus":"success"}}'
)


# --- the §4.1 examples ---------------------------------------------------------------------------


def test_popup_xml_with_two_templates() -> None:
    # when
    events = parse_events(POPUP_XML)
    # then one typed event per <List>, in order
    assert events == [
        PopupEvent(OPENID, "TPL_ORDER_SHIPPED_xxxxxxxxxxxxxxxxxxxxxxxxxx", "accept", "0", 1767225600),
        PopupEvent(OPENID, "TPL_REPLENISH_REMIND_xxxxxxxxxxxxxxxxxxxxxxx", "reject", "0", 1767225600),
    ]


def test_popup_json_with_list_as_object() -> None:
    assert parse_events(POPUP_JSON_ONE) == [
        PopupEvent(OPENID, "TPL_ORDER_SHIPPED_xxx", "accept", "0", 1767225600)
    ]


def test_popup_json_with_list_as_array() -> None:
    assert parse_events(POPUP_JSON_TWO) == [
        PopupEvent(OPENID, "TPL_A", "accept", "0", 1767225600),
        PopupEvent(OPENID, "TPL_B", "reject", "0", 1767225600),
    ]


def test_change_json() -> None:
    assert parse_events(CHANGE_JSON) == [ChangeEvent(OPENID, "TPL_ORDER_SHIPPED_xxx", "reject", 1767229200)]


@pytest.mark.parametrize("body", [SENT_XML, SENT_JSON], ids=["xml", "json"])
def test_sent_event_keeps_the_19_digit_msgid_exact(body: bytes) -> None:
    # when
    (event,) = parse_events(body)
    # then
    assert event == SentEvent(
        OPENID, "TPL_ORDER_SHIPPED_xxx", "2088001234567890123", 0, "success", 1767232800
    )


def test_msgid_as_a_json_number_stays_exact() -> None:
    # given MsgID as a bare JSON number beyond 2**53 (a float would round it to ...120)
    body = SENT_JSON.replace(b'"MsgID":"2088001234567890123"', b'"MsgID":2088001234567890123')
    # when
    (event,) = parse_events(body)
    # then
    assert isinstance(event, SentEvent)
    assert event.msgid == "2088001234567890123"
    assert float(event.msgid) != 2088001234567890123  # proves a float would have lost it


def test_numbers_may_be_json_numbers_or_strings() -> None:
    # given the debug-tool style: integers instead of strings
    body = (
        b'{"ToUserName":"gh_x","FromUserName":"oU","CreateTime":1767232800,"MsgType":"event",'
        b'"Event":"subscribe_msg_sent_event","List":[{"TemplateId":"T","MsgID":12,"ErrorCode":-1,'
        b'"ErrorStatus":"system failure"}],"PopupScene":2}'
    )
    # when / then
    assert parse_events(body) == [SentEvent("oU", "T", "12", -1, "system failure", 1767232800)]


def test_popup_scene_number_is_kept_as_an_opaque_string() -> None:
    body = POPUP_JSON_ONE.replace(b'"PopupScene":"0"', b'"PopupScene":2')
    (event,) = parse_events(body)
    assert isinstance(event, PopupEvent) and event.popup_scene == "2"


def test_xml_without_cdata_parses_the_same() -> None:
    # given the sent event with plain text instead of CDATA
    body = SENT_XML.replace(b"<![CDATA[", b"").replace(b"]]>", b"")
    # when / then
    assert parse_events(body) == parse_events(SENT_XML)


def test_status_strings_are_kept_verbatim() -> None:
    body = POPUP_JSON_ONE.replace(b'"accept"', b'"acceptWithAudio"')
    (event,) = parse_events(body)
    assert isinstance(event, PopupEvent) and event.status == "acceptWithAudio"


def test_other_events_and_message_types_become_other_event() -> None:
    # given a shipping event with flat fields and a plain text message
    shipping = (
        b"<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oU]]></FromUserName>"
        b"<CreateTime>1767232800</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        b"<Event><![CDATA[trade_manage_order_settlement]]></Event>"
        b"<transaction_id><![CDATA[4200000000202601010000000001]]></transaction_id></xml>"
    )
    text = b'{"FromUserName":"oU","CreateTime":5,"MsgType":"text","Content":"hi"}'
    # when
    (settlement,) = parse_events(shipping)
    (message,) = parse_events(text)
    # then
    assert settlement == OtherEvent("oU", "trade_manage_order_settlement", 1767232800)
    assert isinstance(settlement, OtherEvent)
    assert settlement.fields["transaction_id"] == "4200000000202601010000000001"
    assert message == OtherEvent("oU", "text", 5)


def test_leading_whitespace_and_bom_are_tolerated() -> None:
    assert parse_events(b"\xef\xbb\xbf \n" + POPUP_XML) == parse_events(POPUP_XML)
    assert parse_events(b"\r\n  " + CHANGE_JSON) == parse_events(CHANGE_JSON)


def test_xml_declaration_is_accepted() -> None:
    body = b'<?xml version="1.0" encoding="UTF-8"?>' + SENT_XML
    assert parse_events(body) == parse_events(SENT_XML)


# --- envelope and format ---------------------------------------------------------------------------


def test_detect_format() -> None:
    assert detect_format(b"  <xml/>") is PushFormat.XML
    assert detect_format(b"\n{}") is PushFormat.JSON
    with pytest.raises(PushParseError, match="neither XML nor a JSON object"):
        detect_format(b"[1,2]")
    with pytest.raises(PushParseError):
        detect_format(b"")


@pytest.mark.parametrize("fmt", list(PushFormat))
def test_secure_envelope_round_trip(fmt: PushFormat) -> None:
    # given
    body = build_secure_envelope(fmt, to_user="gh_0a1b2c3d4e5f", encrypt="ab+/cd==")
    # when
    envelope = parse_envelope(body, detect_format(body))
    # then
    assert detect_format(body) is fmt
    assert envelope == {"ToUserName": "gh_0a1b2c3d4e5f", "Encrypt": "ab+/cd=="}


def test_parse_events_on_a_secure_envelope_says_decrypt_first() -> None:
    body = build_secure_envelope(PushFormat.JSON, to_user="gh_x", encrypt="abc=")
    with pytest.raises(PushParseError, match="decrypt"):
        parse_events(body)


def test_xml_envelope_exposes_the_wrapper_items() -> None:
    envelope = parse_envelope(POPUP_XML, PushFormat.XML)
    assert envelope["Event"] == "subscribe_msg_popup_event"
    assert envelope["SubscribeMsgPopupEvent"] == [
        {
            "TemplateId": "TPL_ORDER_SHIPPED_xxxxxxxxxxxxxxxxxxxxxxxxxx",
            "SubscribeStatusString": "accept",
            "PopupScene": "0",
        },
        {
            "TemplateId": "TPL_REPLENISH_REMIND_xxxxxxxxxxxxxxxxxxxxxxx",
            "SubscribeStatusString": "reject",
            "PopupScene": "0",
        },
    ]


# --- malformed bodies ------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<xml><FromUserName>&b;</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>"""

EXTERNAL_ENTITY = b"""<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<xml><FromUserName>&x;</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>"""


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (BILLION_LAUGHS, "DOCTYPE or ENTITY"),
        (EXTERNAL_ENTITY, "DOCTYPE or ENTITY"),
        (b"<!doctype xml><xml/>", "DOCTYPE or ENTITY"),
        (b"<xml><FromUserName>oU</FromUserName>", "malformed XML"),
        (b"<root><FromUserName>oU</FromUserName></root>", "root element <xml>"),
        (b"<xml><FromUserName>\xff</FromUserName></xml>", "not UTF-8"),
        (b"<xml><A>1</A><A>2</A></xml>", "repeats the field <A>"),
        (b'{"FromUserName": "oU", ', "malformed JSON"),
        (b'{"FromUserName":"oU","CreateTime":NaN,"MsgType":"text"}', "NaN"),
        (b'{"CreateTime":"1","MsgType":"text"}', "missing the field FromUserName"),
        (b'{"FromUserName":"oU","MsgType":"text"}', "missing the field CreateTime"),
        (b'{"FromUserName":"oU","CreateTime":"soon","MsgType":"text"}', "CreateTime must be an integer"),
        (b'{"FromUserName":"oU","CreateTime":1.5,"MsgType":"text"}', "CreateTime must be an integer"),
        (b'{"FromUserName":"oU","CreateTime":true,"MsgType":"text"}', "CreateTime must be an integer"),
        (b'{"FromUserName":["oU"],"CreateTime":1,"MsgType":"text"}', "FromUserName must be text"),
    ],
)
def test_malformed_bodies_raise_push_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(PushParseError, match=message):
        parse_events(body)


def _sent_json(list_value: str) -> bytes:
    return (
        '{"FromUserName":"oU","CreateTime":"1","MsgType":"event","Event":"subscribe_msg_sent_event",'
        f'"List":{list_value}}}'
    ).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_sent_json("[]"), "carries no List items"),
        (_sent_json('"x"'), "carries no List items"),
        (_sent_json("[1]"), "List item must be an object"),
        (_sent_json('{"MsgID":"1","ErrorCode":"0"}'), "missing the field TemplateId"),
        (_sent_json('{"TemplateId":"T","ErrorCode":"0"}'), "missing the field MsgID"),
        (_sent_json('{"TemplateId":"T","MsgID":"12ab","ErrorCode":"0"}'), "MsgID must be an integer"),
        (_sent_json('{"TemplateId":"T","MsgID":2.088e18,"ErrorCode":"0"}'), "MsgID must be an integer"),
        (_sent_json('{"TemplateId":"T","MsgID":"1"}'), "missing the field ErrorCode"),
        (
            _sent_json('{"TemplateId":"T","MsgID":"' + "9" * 5000 + '","ErrorCode":0}'),
            "MsgID must be an integer",
        ),
        (_sent_json('{"TemplateId":"T","MsgID":' + "9" * 30 + ',"ErrorCode":0}'), "MsgID must be an integer"),
        (
            b'{"FromUserName":"oU","CreateTime":1,"MsgType":"event","Event":"subscribe_msg_popup_event"}',
            "no List",
        ),
    ],
)
def test_malformed_subscription_items_raise_push_parse_error(body: bytes, message: str) -> None:
    with pytest.raises(PushParseError, match=message):
        parse_events(body)


def test_deeply_nested_json_is_refused_cleanly() -> None:
    body = b'{"List":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(PushParseError):
        parse_events(body)


# --- builders --------------------------------------------------------------------------------------


def test_builder_uses_cdata_for_text_and_bare_numbers() -> None:
    # when
    body = build_event_body(
        PushFormat.XML,
        to_user="gh_0a1b2c3d4e5f",
        openid=OPENID,
        event="subscribe_msg_sent_event",
        items=[{"TemplateId": "T", "MsgID": 2088001234567890123, "ErrorCode": 0, "ErrorStatus": "success"}],
        create_time=1767232800,
    ).decode()
    # then
    assert "<CreateTime>1767232800</CreateTime>" in body
    assert "<FromUserName><![CDATA[oUSER_openid_example_001]]></FromUserName>" in body
    assert "<SubscribeMsgSentEvent><List><TemplateId><![CDATA[T]]></TemplateId>" in body
    assert "<MsgID>2088001234567890123</MsgID>" in body
    assert body.startswith("<xml>") and body.endswith("</xml>")


def test_builder_json_list_shape_follows_the_item_count() -> None:
    def build(items: Sequence[Mapping[str, str | int]], list_as_array: bool | None = None) -> object:
        body = build_event_body(
            PushFormat.JSON,
            to_user="gh_x",
            openid="oU",
            event="subscribe_msg_change_event",
            items=items,
            create_time=1,
            list_as_array=list_as_array,
        )
        return json.loads(body)["List"]

    one = {"TemplateId": "A", "SubscribeStatusString": "reject"}
    two = {"TemplateId": "B", "SubscribeStatusString": "reject"}
    assert build([one]) == one
    assert build([one, two]) == [one, two]
    assert build([one], list_as_array=True) == [one]
    assert build([one], list_as_array=False) == one
    with pytest.raises(ValueError, match="only be sent as an array"):
        build([one, two], list_as_array=False)


def test_builder_can_write_numbers_as_strings_like_the_official_examples() -> None:
    body = build_event_body(
        PushFormat.JSON,
        to_user="gh_0a1b2c3d4e5f",
        openid=OPENID,
        event="subscribe_msg_sent_event",
        items=[
            {
                "TemplateId": "TPL_ORDER_SHIPPED_xxx",
                "MsgID": 2088001234567890123,
                "ErrorCode": 0,
                "ErrorStatus": "success",
            }
        ],
        create_time=1767232800,
        numbers_as_strings=True,
    )
    assert json.loads(body) == json.loads(SENT_JSON)


def test_builder_writes_big_msgid_as_a_json_integer() -> None:
    body = build_event_body(
        PushFormat.JSON,
        to_user="gh_x",
        openid="oU",
        event="subscribe_msg_sent_event",
        items=[{"TemplateId": "T", "MsgID": 2088001234567890123, "ErrorCode": 0, "ErrorStatus": "success"}],
        create_time=1,
    )
    assert b'"MsgID":2088001234567890123' in body


def test_builder_puts_fields_of_other_events_at_the_top_level() -> None:
    body = build_event_body(
        PushFormat.XML,
        to_user="gh_x",
        openid="oU",
        event="trade_manage_order_settlement",
        items=[{"transaction_id": "4200000000202601010000000001", "confirm_receive_method": 1}],
        create_time=7,
    )
    (event,) = parse_events(body)
    assert isinstance(event, OtherEvent)
    assert event.event == "trade_manage_order_settlement"
    assert event.fields["confirm_receive_method"] == "1"


@pytest.mark.parametrize(
    ("event", "items", "message"),
    [
        ("subscribe_msg_popup_event", [], "at least one List item"),
        ("trade_manage_order_settlement", [{"a": "1"}, {"b": "2"}], "at most one item"),
        ("subscribe_msg_change_event", [{"bad name": "x"}], "not a valid XML element name"),
        ("subscribe_msg_change_event", [{"TemplateId": "a\x00b"}], r"U\+0000"),
    ],
)
def test_builder_refuses_bodies_it_cannot_express(
    event: str, items: list[dict[str, str | int]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_event_body(PushFormat.XML, to_user="gh_x", openid="oU", event=event, items=items, create_time=1)


def test_cdata_terminator_inside_a_value_survives() -> None:
    body = build_event_body(
        PushFormat.XML,
        to_user="gh_x",
        openid="o]]>U",
        event="subscribe_msg_change_event",
        items=[{"TemplateId": "T]]>]]>", "SubscribeStatusString": "reject"}],
        create_time=1,
    )
    assert parse_events(body) == [ChangeEvent("o]]>U", "T]]>]]>", "reject", 1)]


# --- properties ------------------------------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff"),
    min_size=1,
    max_size=30,
).filter(lambda s: s.strip() == s and s)
_ints = st.integers(min_value=0, max_value=2**63 - 1)


@st.composite
def _event_case(draw: st.DrawFn) -> tuple[str, list[dict[str, str | int]], list[object]]:
    event = draw(st.sampled_from(sorted(SUBSCRIPTION_EVENTS)))
    count = draw(st.integers(min_value=1, max_value=4))
    items: list[dict[str, str | int]] = []
    expected: list[object] = []
    for _ in range(count):
        template_id = draw(_text)
        status = draw(st.sampled_from(["accept", "reject", "ban", "filter", "acceptWithAudio"]))
        if event == "subscribe_msg_popup_event":
            scene = draw(st.integers(min_value=0, max_value=9))
            items.append({"TemplateId": template_id, "SubscribeStatusString": status, "PopupScene": scene})
            expected.append(("popup", template_id, status, str(scene)))
        elif event == "subscribe_msg_change_event":
            items.append({"TemplateId": template_id, "SubscribeStatusString": status})
            expected.append(("change", template_id, status))
        else:
            msgid = draw(_ints)
            code = draw(st.integers(min_value=-1, max_value=99999))
            error_status = draw(_text)
            items.append(
                {"TemplateId": template_id, "MsgID": msgid, "ErrorCode": code, "ErrorStatus": error_status}
            )
            expected.append(("sent", template_id, str(msgid), code, error_status))
    return event, items, expected


def _summary(event: object) -> object:
    if isinstance(event, PopupEvent):
        return ("popup", event.template_id, event.status, event.popup_scene)
    if isinstance(event, ChangeEvent):
        return ("change", event.template_id, event.status)
    assert isinstance(event, SentEvent)
    return ("sent", event.template_id, event.msgid, event.error_code, event.error_status)


@settings(max_examples=300, deadline=None)
@given(
    fmt=st.sampled_from(list(PushFormat)),
    case=_event_case(),
    openid=_text,
    create_time=st.integers(min_value=0, max_value=2**40),
    list_as_array=st.sampled_from([None, True]),
    numbers_as_strings=st.booleans(),
)
def test_builder_output_parses_back_to_the_same_events(
    fmt: PushFormat,
    case: tuple[str, list[dict[str, str | int]], list[object]],
    openid: str,
    create_time: int,
    list_as_array: bool | None,
    numbers_as_strings: bool,
) -> None:
    # given
    event, items, expected = case
    body = build_event_body(
        fmt,
        to_user="gh_0a1b2c3d4e5f",
        openid=openid,
        event=event,
        items=items,
        create_time=create_time,
        list_as_array=list_as_array,
        numbers_as_strings=numbers_as_strings,
    )
    # when
    parsed = parse_events(body)
    # then
    assert detect_format(body) is fmt
    assert [_summary(e) for e in parsed] == expected
    assert all(e.openid == openid and e.create_time == create_time for e in parsed)


# --- robustness: the receiver must only ever see PushParseError ------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=10,
)
_field_names = st.sampled_from(
    [
        "FromUserName",
        "CreateTime",
        "MsgType",
        "Event",
        "List",
        "TemplateId",
        "MsgID",
        "ErrorCode",
        "SubscribeStatusString",
        "PopupScene",
        "ErrorStatus",
        "Encrypt",
        "SubscribeMsgSentEvent",
    ]
)


@settings(max_examples=500, deadline=None)
@given(body=st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_push_parse_error(body: bytes) -> None:
    with contextlib.suppress(PushParseError):
        parse_events(body)


@settings(max_examples=500, deadline=None)
@given(
    document=st.dictionaries(_field_names, _json_values, max_size=8),
    event=st.sampled_from([*SUBSCRIPTION_EVENTS, "other"]),
    items=st.lists(st.dictionaries(_field_names, _json_values, max_size=5), max_size=3),
)
def test_arbitrary_json_documents_raise_only_push_parse_error(
    document: dict[str, object], event: str, items: list[dict[str, object]]
) -> None:
    # given a JSON body with the right field names but arbitrary values and shapes
    document.setdefault("Event", event)
    document.setdefault("List", items)
    body = json.dumps(document).encode()
    # when / then: either typed events or PushParseError, nothing else
    try:
        events = parse_events(body)
    except PushParseError:
        return
    assert events


@settings(max_examples=300, deadline=None)
@given(
    tags=st.lists(st.tuples(_field_names, st.text(max_size=8)), max_size=6),
    wrapper=st.sampled_from(sorted(SUBSCRIPTION_EVENTS.values())),
    event=st.sampled_from(sorted(SUBSCRIPTION_EVENTS)),
)
def test_arbitrary_xml_documents_raise_only_push_parse_error(
    tags: list[tuple[str, str]], wrapper: str, event: str
) -> None:
    fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in tags)
    body = (
        f"<xml><FromUserName>o</FromUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>"
        f"<Event>{event}</Event><{wrapper}><List>{fields}</List></{wrapper}></xml>"
    ).encode()
    with contextlib.suppress(PushParseError):
        parse_events(body)
