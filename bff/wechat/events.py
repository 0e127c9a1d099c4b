"""Message-push bodies: typed subscription events, parsed from and built as XML or JSON (§4, §5.4).

Parsing is tolerant where WeChat is loose and strict where it matters:

* JSON ``List`` is an object for one item and an array for several; both are read. Numbers may
  arrive as JSON numbers or as strings (the official examples use strings).
* ``MsgID`` exceeds 2**53, so it is kept as a canonical decimal string and never touches a float
  (JSON fractions are parsed as Decimal, and a non-integer MsgID is refused).
* XML goes through the standard library parser only after the body is confirmed to be UTF-8 and
  free of DOCTYPE/ENTITY declarations, which rules out entity-expansion bombs and external entities.

Anything that does not fit raises PushParseError; the receiver answers it with an HTTP error so the
problem is visible, and WeChat's retries give a fixed parser another chance.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import TypeAlias

from bff.untrusted import find_json_problem

__all__ = [
    "SUBSCRIPTION_EVENTS",
    "ChangeEvent",
    "OtherEvent",
    "PopupEvent",
    "PushEvent",
    "PushFormat",
    "PushParseError",
    "SentEvent",
    "build_event_body",
    "build_secure_envelope",
    "detect_format",
    "parse_envelope",
    "parse_events",
]


class PushFormat(StrEnum):
    XML = "xml"
    JSON = "json"


POPUP_EVENT = "subscribe_msg_popup_event"
CHANGE_EVENT = "subscribe_msg_change_event"
SENT_EVENT = "subscribe_msg_sent_event"

# Event name → XML wrapper element around the repeated <List> items.
SUBSCRIPTION_EVENTS: Mapping[str, str] = {
    POPUP_EVENT: "SubscribeMsgPopupEvent",
    CHANGE_EVENT: "SubscribeMsgChangeEvent",
    SENT_EVENT: "SubscribeMsgSentEvent",
}


class PushParseError(ValueError):
    """The push body is not a well-formed WeChat event."""


@dataclass(frozen=True)
class PopupEvent:
    """The user acted on the subscribe popup for one template (``accept``, ``reject``, ...)."""

    openid: str
    template_id: str
    status: str
    popup_scene: str
    create_time: int


@dataclass(frozen=True)
class ChangeEvent:
    """The user changed a subscription from the settings (currently only ``reject`` is pushed)."""

    openid: str
    template_id: str
    status: str
    create_time: int


@dataclass(frozen=True)
class SentEvent:
    """Final delivery result of a send; ``msgid`` matches the send response's ``msgid``."""

    openid: str
    template_id: str
    msgid: str
    error_code: int
    error_status: str
    create_time: int


@dataclass(frozen=True)
class OtherEvent:
    """Any other push: ``event`` is the Event name, or the MsgType when it is not an event.

    ``fields`` holds the flat top-level text fields (e.g. ``transaction_id`` of shipping events).
    """

    openid: str
    event: str
    create_time: int
    fields: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)


PushEvent: TypeAlias = PopupEvent | ChangeEvent | SentEvent | OtherEvent

_FORBIDDEN_XML = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_INTEGER = re.compile(r"-?[0-9]{1,20}")  # 64-bit values have at most 20 digits
_INT_BOUND = 2**64
_CREATE_TIME_BOUND = 2**63  # stored in a signed 64-bit column
_JSON_MAX_DEPTH = 8  # an envelope, a List of items, their fields
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_BOM = b"\xef\xbb\xbf"
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- parsing -----------------------------------------------------------------------------------


def detect_format(body: bytes) -> PushFormat:
    """XML when the first non-space byte is ``<``, JSON when it is ``{``."""
    stripped = body.removeprefix(_BOM).lstrip()
    if stripped.startswith(b"<"):
        return PushFormat.XML
    if stripped.startswith(b"{"):
        return PushFormat.JSON
    preview = stripped[:20]
    raise PushParseError(f"push body is neither XML nor a JSON object (starts with {preview!r})")


def parse_envelope(body: bytes, fmt: PushFormat) -> dict[str, object]:
    """The top-level fields of a push body.

    XML: leaf fields as text; a field with child elements (the event wrapper) as a list of item
    dicts, one per child that has children itself (the ``<List>`` items). JSON: the object as
    parsed, with fractions as Decimal. For secure mode read ``Encrypt`` and ``ToUserName``.
    """
    if fmt is PushFormat.XML:
        return _xml_envelope(body)
    return _json_envelope(body)


def _xml_root(body: bytes) -> ET.Element:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PushParseError(f"XML push body is not UTF-8: {exc}") from None
    if "\x00" in text:
        raise PushParseError("XML push body contains NUL characters")
    if _FORBIDDEN_XML.search(text):
        raise PushParseError("XML push body contains a DOCTYPE or ENTITY declaration; refused")
    try:
        # Parse the decoded text: a declared encoding can no longer change how bytes are read.
        root = ET.fromstring(text.lstrip("\ufeff \t\r\n"))
    except ET.ParseError as exc:
        raise PushParseError(f"malformed XML push body: {exc}") from None
    if root.tag != "xml":
        raise PushParseError(f"XML push body must have root element <xml>, got <{root.tag}>")
    return root


def _xml_text(element: ET.Element) -> str:
    return (element.text or "").strip()


def _xml_items(element: ET.Element) -> list[dict[str, object]]:
    return [{leaf.tag: _xml_text(leaf) for leaf in item} for item in element if len(item)]


def _xml_envelope(body: bytes) -> dict[str, object]:
    root = _xml_root(body)
    envelope: dict[str, object] = {}
    list_items: list[dict[str, object]] = []
    for child in root:
        if child.tag == "List":  # items directly under <xml>, without a wrapper
            list_items.append({leaf.tag: _xml_text(leaf) for leaf in child})
            continue
        if child.tag in envelope:
            raise PushParseError(f"XML push body repeats the field <{child.tag}>")
        envelope[child.tag] = _xml_items(child) if len(child) else _xml_text(child)
    if list_items:
        envelope["List"] = list_items
    return envelope


def _reject_constant(name: str) -> object:
    raise PushParseError(f"JSON push body contains the non-standard constant {name}")


def _json_envelope(body: bytes) -> dict[str, object]:
    try:
        parsed = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, PushParseError):
            raise
        raise PushParseError(f"malformed JSON push body: {exc}") from None
    if not isinstance(parsed, dict):
        raise PushParseError(f"JSON push body must be an object, got {type(parsed).__name__}")
    # XML cannot carry NUL or lone surrogates; JSON escapes can, and no column can store them.
    problem = find_json_problem(parsed, max_depth=_JSON_MAX_DEPTH)
    if problem is not None:
        raise PushParseError(f"JSON push body: {problem}")
    return parsed


def _text_field(source: Mapping[str, object], name: str, *, required: bool = True) -> str:
    value = source.get(name)
    if value is None:
        if required:
            raise PushParseError(f"push is missing the field {name}")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise PushParseError(f"push field {name} must be text, got {type(value).__name__}")
    return str(value).strip()


def _int_field(
    source: Mapping[str, object], name: str, *, minimum: int = -_INT_BOUND + 1, maximum: int = _INT_BOUND - 1
) -> int:
    value = source.get(name)
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        number = int(value.strip())
    if number is not None and minimum <= number <= maximum:
        return number
    if value is None:
        raise PushParseError(f"push is missing the field {name}")
    if number is not None:
        raise PushParseError(
            f"push field {name} must be an integer between {minimum} and {maximum}, got {str(number)[:40]}"
        )
    raise PushParseError(f"push field {name} must be an integer, got {repr(value)[:40]}")


def _decimal_string_field(source: Mapping[str, object], name: str) -> str:
    # int() of a digit string is exact at any size; the result is canonical (no leading zeros).
    return str(_int_field(source, name))


def _items(envelope: Mapping[str, object], event: str) -> list[Mapping[str, object]]:
    raw = envelope.get("List")
    if raw is None:
        wrapper = envelope.get(SUBSCRIPTION_EVENTS[event])
        # XML: the wrapper already holds the item list; JSON variant: {"Wrapper": {"List": ...}}
        raw = wrapper.get("List") if isinstance(wrapper, Mapping) else wrapper
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise PushParseError(f"{event} push carries no List items")
    for item in raw:
        if not isinstance(item, Mapping):
            raise PushParseError(f"{event} List item must be an object, got {type(item).__name__}")
    return raw


def _flat_fields(envelope: Mapping[str, object]) -> dict[str, str]:
    return {
        key: str(value)
        for key, value in envelope.items()
        if isinstance(value, str | int | Decimal) and not isinstance(value, bool)
    }


def parse_events(body: bytes) -> list[PushEvent]:
    """Typed events of a plaintext push body: one per ``List`` item, or one OtherEvent."""
    envelope = parse_envelope(body, detect_format(body))
    if "Encrypt" in envelope and "FromUserName" not in envelope:
        raise PushParseError("secure-mode envelope: decrypt the Encrypt field before parsing events")
    openid = _text_field(envelope, "FromUserName")
    create_time = _int_field(envelope, "CreateTime", minimum=0, maximum=_CREATE_TIME_BOUND - 1)
    msg_type = _text_field(envelope, "MsgType")
    event = _text_field(envelope, "Event", required=False) if msg_type == "event" else ""
    if event not in SUBSCRIPTION_EVENTS:
        name = event or msg_type
        return [OtherEvent(openid=openid, event=name, create_time=create_time, fields=_flat_fields(envelope))]
    events: list[PushEvent] = []
    for item in _items(envelope, event):
        template_id = _text_field(item, "TemplateId")
        if event == POPUP_EVENT:
            events.append(
                PopupEvent(
                    openid=openid,
                    template_id=template_id,
                    status=_text_field(item, "SubscribeStatusString"),
                    popup_scene=_text_field(item, "PopupScene", required=False),
                    create_time=create_time,
                )
            )
        elif event == CHANGE_EVENT:
            events.append(
                ChangeEvent(
                    openid=openid,
                    template_id=template_id,
                    status=_text_field(item, "SubscribeStatusString"),
                    create_time=create_time,
                )
            )
        else:
            events.append(
                SentEvent(
                    openid=openid,
                    template_id=template_id,
                    msgid=_decimal_string_field(item, "MsgID"),
                    error_code=_int_field(item, "ErrorCode"),
                    error_status=_text_field(item, "ErrorStatus", required=False),
                    create_time=create_time,
                )
            )
    return events


# --- building ----------------------------------------------------------------------------------


def _cdata(text: str) -> str:
    # "]]>" cannot appear inside CDATA: close the section between "]]" and ">" and reopen it.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _xml_field(name: str, value: str | int) -> str:
    if not _XML_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid XML element name")
    if isinstance(value, str) and (bad := _NOT_XML_CHAR.search(value)):
        raise ValueError(f"field {name} contains U+{ord(bad.group()):04X}, which XML cannot carry")
    rendered = str(int(value)) if isinstance(value, int) else _cdata(value)
    return f"<{name}>{rendered}</{name}>"


def _json_value(value: str | int, numbers_as_strings: bool) -> str | int:
    return str(int(value)) if numbers_as_strings and isinstance(value, int) else value


def build_event_body(
    fmt: PushFormat,
    *,
    to_user: str,
    openid: str,
    event: str,
    items: Sequence[Mapping[str, str | int]],
    create_time: int,
    list_as_array: bool | None = None,
    numbers_as_strings: bool = False,
) -> bytes:
    """A plaintext push body as WeChat sends it (XML: CDATA text, bare numbers).

    For the three subscription events ``items`` become the ``List`` entries; JSON ``List`` is an
    object for one item and an array for several unless ``list_as_array`` forces a form (False
    with several items is refused). For any other event at most one item is allowed and its fields
    are placed at the top level, as shipping events carry them. ``numbers_as_strings`` renders
    JSON numbers as strings, like the official JSON examples.
    """
    subscription = event in SUBSCRIPTION_EVENTS
    if subscription and not items:
        raise ValueError(f"{event} needs at least one List item")
    if not subscription and len(items) > 1:
        raise ValueError(
            f"{event} is not a subscription event; it takes at most one item of top-level fields"
        )
    if list_as_array is False and len(items) > 1:
        raise ValueError("several List items can only be sent as an array")
    header: list[tuple[str, str | int]] = [
        ("ToUserName", to_user),
        ("FromUserName", openid),
        ("CreateTime", create_time),
        ("MsgType", "event"),
        ("Event", event),
    ]
    if fmt is PushFormat.XML:
        parts = [_xml_field(name, value) for name, value in header]
        if subscription:
            lists = "".join(
                "<List>" + "".join(_xml_field(k, v) for k, v in item.items()) + "</List>" for item in items
            )
            parts.append(f"<{SUBSCRIPTION_EVENTS[event]}>{lists}</{SUBSCRIPTION_EVENTS[event]}>")
        else:
            parts.extend(_xml_field(k, v) for item in items for k, v in item.items())
        return ("<xml>" + "".join(parts) + "</xml>").encode("utf-8")
    document: dict[str, object] = {name: _json_value(value, numbers_as_strings) for name, value in header}
    rendered = [{k: _json_value(v, numbers_as_strings) for k, v in item.items()} for item in items]
    if subscription:
        as_array = len(rendered) > 1 if list_as_array is None else list_as_array
        document["List"] = rendered if as_array else rendered[0]
    else:
        for item in rendered:
            document.update(item)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def build_secure_envelope(fmt: PushFormat, *, to_user: str, encrypt: str) -> bytes:
    """The secure-mode body around an ``Encrypt`` value (sign it with ``msg_signature``)."""
    if fmt is PushFormat.XML:
        body = f"<xml>{_xml_field('ToUserName', to_user)}{_xml_field('Encrypt', encrypt)}</xml>"
        return body.encode("utf-8")
    return json.dumps({"ToUserName": to_user, "Encrypt": encrypt}, separators=(",", ":")).encode("utf-8")
