"""Supply-chain webhook bodies → typed events (`bff.supply_chain.events`; docs/supply-chain.md).

A batch is all-or-nothing, so ``parse_batch`` checks every event and reports every problem at
once (``BatchInvalid.errors``), each with the event's index and the contract's JSON path of the
field (``order.items[0].quantity``). Nothing here touches the database: duplicates across
batches, unknown orders and out-of-order nodes are the ingest service's business.

Fields a sender may add beyond the contract are ignored. Nullable fields (``usageDaysPerUnit``,
``birthday``, ``carrier`` ...) may be null or left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, TypeAlias

from bff.catalog.nodes import SHIPPED_NODES
from bff.catalog.topics import NODE_ORDER
from bff.supply_chain.events import (
    EVENT_TYPES,
    EXCEPTION_KINDS,
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
    SupplyChainEvent,
)
from bff.untrusted import find_json_problem

MAX_EVENTS = 1000

# Length limits (code points); the models' columns are at least this wide.
ID_MAX = 64  # orderNo, skuCode, openid, transactionId, exceptionId, slot id, option code, trackingNo
EVENT_ID_MAX = 128
NAME_MAX = 200  # names, labels, titles, locations, carriers, stages, categories
TEXT_MAX = 1000  # notes and reasons
MEMBER_TIER_MAX = 32
REGION_MAX = 64
MONEY_MAX = Decimal("999999999999.99")
INT_MAX = 2**31 - 1  # fits a PostgreSQL integer column
# Times and dates of an order system: anything outside is a sender's bug, and year 1 or 9999
# with an offset is not even a datetime once converted to UTC.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
# Extra fields are ignored but stored with the event: bounded so the JSON column takes them.
MAX_EVENT_DEPTH = 32


# --- errors -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """One problem; ``index`` is the event's position in ``events`` (None for the body itself)."""

    index: int | None
    field: str
    message: str

    def as_json(self) -> dict[str, object]:
        return {"index": self.index, "field": self.field, "message": self.message}


class BatchInvalid(ValueError):
    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        shown = "; ".join(
            f"{'' if e.index is None else f'events[{e.index}].'}{e.field}: {e.message}"
            for e in self.errors[:5]
        )
        more = f" (and {len(self.errors) - 5} more)" if len(self.errors) > 5 else ""
        super().__init__(f"{len(self.errors)} problem(s) in the batch: {shown}{more}")


# --- parsing ------------------------------------------------------------------------------------


def parse_batch(body: bytes) -> list[SupplyChainEvent]:
    """Parse a ``{"events": [...]}`` body; raise BatchInvalid with every problem found."""
    try:
        document = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        # UnicodeDecodeError and JSONDecodeError are ValueErrors.
        raise BatchInvalid([FieldError(None, "body", f"not valid JSON: {exc}")]) from None
    if not isinstance(document, dict):
        raise BatchInvalid([FieldError(None, "body", f"must be a JSON object, got {_describe(document)}")])
    if "events" not in document:
        raise BatchInvalid([FieldError(None, "events", "is required")])
    raw_events = document["events"]
    if not isinstance(raw_events, list):
        raise BatchInvalid([FieldError(None, "events", f"must be an array, got {_describe(raw_events)}")])
    if not 1 <= len(raw_events) <= MAX_EVENTS:
        raise BatchInvalid(
            [FieldError(None, "events", f"must hold 1 to {MAX_EVENTS} events, got {len(raw_events)}")]
        )

    errors: list[FieldError] = []
    events: list[SupplyChainEvent] = []
    first_index_of: dict[str, int] = {}
    for index, raw in enumerate(raw_events):
        reader = _EventReader(index, errors)
        # Text the database cannot store fails the whole event, wherever it is (extra fields too).
        problem = find_json_problem(raw, max_depth=MAX_EVENT_DEPTH)
        if problem is not None:
            reader.error(problem.path, problem.message)
            continue
        event = reader.event(raw)
        event_id = raw.get("eventId") if isinstance(raw, dict) else None
        if isinstance(event_id, str):
            if event_id in first_index_of:
                reader.error(
                    "eventId", f"duplicate of events[{first_index_of[event_id]}].eventId {event_id!r}"
                )
            else:
                first_index_of[event_id] = index
        if event is not None and not reader.failed:
            events.append(event)
    if errors:
        raise BatchInvalid(errors)
    return events


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number")


def _short_number(value: int | float | Decimal) -> str:
    text = str(value)  # a JSON integer may have up to 4300 digits
    return text if len(text) <= 40 else f"{text[:20]}...({len(text)} digits)"


def _quoted(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _describe(value: object) -> str:
    """A JSON value as a sender would recognise it in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int | float | Decimal):
        return f"number {_short_number(value)}"
    if isinstance(value, str):
        return f"string {_quoted(value)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_DECIMAL_RE = re.compile(r"-?\d+(\.\d+)?")
_MONEY_TEXT_MAX = 32  # "999999999999.99" has 15 characters
_INT_DIGITS = 18  # Decimal.adjusted() of anything past int64: refused before int()
_MM_DD_RE = re.compile(r"(\d{2})-(\d{2})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

Obj: TypeAlias = Mapping[str, object]
# Stands in for an object that is missing or malformed (already reported): its fields are not
# reported again as missing.
_ABSENT: Obj = MappingProxyType({})


class _EventReader:
    """Reads one event, recording problems; on a problem a reader returns a harmless stand-in
    value so parsing goes on and finds the other problems (the event is discarded anyway)."""

    def __init__(self, index: int, errors: list[FieldError]) -> None:
        self.index = index
        self.errors = errors
        self.failed = False

    def error(self, path: str, message: str) -> None:
        self.failed = True
        self.errors.append(FieldError(self.index, path, message))

    # -- primitives

    def _get(self, obj: Obj, key: str, path: str, *, nullable: bool) -> tuple[bool, object]:
        """(present, value): present is False when the value is absent or (if nullable) null."""
        if obj is _ABSENT:
            return False, None
        if key not in obj:
            if not nullable:
                self.error(path, "is required")
            return False, None
        value = obj[key]
        if value is None:
            if not nullable:
                self.error(path, "must not be null")
            return False, None
        return True, value

    def text(self, obj: Obj, key: str, path: str, *, max_len: int, allow_empty: bool = False) -> str:
        present, value = self._get(obj, key, path, nullable=False)
        return self._text_value(value, path, max_len=max_len, allow_empty=allow_empty) if present else ""

    def optional_text(self, obj: Obj, key: str, path: str, *, max_len: int) -> str | None:
        present, value = self._get(obj, key, path, nullable=True)
        return self._text_value(value, path, max_len=max_len, allow_empty=False) if present else None

    def _text_value(self, value: object, path: str, *, max_len: int, allow_empty: bool) -> str:
        if not isinstance(value, str):
            self.error(path, f"must be a string, got {_describe(value)}")
            return ""
        if not allow_empty and not value.strip():
            self.error(path, "must not be empty")
        elif len(value) > max_len:
            self.error(path, f"must be at most {max_len} characters, got {len(value)}")
        return value

    def boolean(self, obj: Obj, key: str, path: str) -> bool:
        present, value = self._get(obj, key, path, nullable=False)
        if present and not isinstance(value, bool):
            self.error(path, f"must be true or false, got {_describe(value)}")
            return False
        return bool(value)

    def integer(self, obj: Obj, key: str, path: str, *, minimum: int, maximum: int | None = None) -> int:
        present, value = self._get(obj, key, path, nullable=False)
        return self._integer_value(value, path, minimum=minimum, maximum=maximum) if present else minimum

    def optional_integer(self, obj: Obj, key: str, path: str, *, minimum: int) -> int | None:
        present, value = self._get(obj, key, path, nullable=True)
        return self._integer_value(value, path, minimum=minimum, maximum=None) if present else None

    def _integer_value(self, value: object, path: str, *, minimum: int, maximum: int | None) -> int:
        if isinstance(value, Decimal):
            # Bound first: int() of 1e300000 builds a 300 000-digit integer (seconds of CPU).
            if not value.is_finite() or value.adjusted() > _INT_DIGITS:
                self.error(path, f"must be an integer of at most {INT_MAX}, got {_short_number(value)}")
                return minimum
            if value == value.to_integral_value():
                value = int(value)  # 3.0 is an integer written by a sender that only has floats
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, f"must be an integer, got {_describe(value)}")
            return minimum
        if maximum is not None and not minimum <= value <= maximum:
            self.error(path, f"must be between {minimum} and {maximum}, got {_short_number(value)}")
        elif value > INT_MAX:
            self.error(path, f"must be at most {INT_MAX}, got {_short_number(value)}")
        elif value < minimum:
            self.error(path, f"must be at least {minimum}, got {_short_number(value)}")
        return value

    def money(self, obj: Obj, key: str, path: str) -> Decimal:
        present, value = self._get(obj, key, path, nullable=False)
        if not present:
            return Decimal(0)
        amount: Decimal | None = None
        if isinstance(value, str):
            amount = (
                Decimal(value) if len(value) <= _MONEY_TEXT_MAX and _DECIMAL_RE.fullmatch(value) else None
            )
        elif isinstance(value, Decimal | int) and not isinstance(value, bool):
            amount = Decimal(value)
        if amount is None:
            self.error(path, f'must be a decimal amount such as "199.00" or 199.00, got {_describe(value)}')
            return Decimal(0)
        try:
            if amount < 0:
                self.error(path, f"must not be negative, got {_describe(value)}")
            elif amount > MONEY_MAX:
                self.error(path, f"must be at most {MONEY_MAX}, got {_describe(value)}")
            elif amount != amount.quantize(Decimal("0.01")):
                self.error(path, f"must have at most 2 decimal places, got {_describe(value)}")
        except InvalidOperation:
            self.error(path, f"is not a usable amount: {_describe(value)}")
        return amount

    def time(self, obj: Obj, key: str, path: str) -> datetime:
        present, value = self._get(obj, key, path, nullable=False)
        return self._time_value(value, path) if present else _EPOCH

    def optional_time(self, obj: Obj, key: str, path: str) -> datetime | None:
        present, value = self._get(obj, key, path, nullable=True)
        return self._time_value(value, path) if present else None

    def _time_value(self, value: object, path: str) -> datetime:
        expected = "must be an ISO 8601 time with an offset, such as 2026-11-20T09:30:00+08:00"
        if not isinstance(value, str):
            self.error(path, f"{expected}, got {_describe(value)}")
            return _EPOCH
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.error(path, f"{expected}, got {_quoted(value)}")
            return _EPOCH
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            self.error(path, f"must be an ISO 8601 time with an offset, got {_quoted(value)}")
            return _EPOCH
        try:
            in_range = EARLIEST <= parsed.astimezone(UTC) < LATEST
        except OverflowError:  # 0001-01-01T00:00+08:00 is before year 1 in UTC
            in_range = False
        if not in_range:
            self.error(path, f"must be from {EARLIEST.year} up to {LATEST.year}, got {_quoted(value)}")
            return _EPOCH
        return parsed

    def optional_date(self, obj: Obj, key: str, path: str) -> date | None:
        present, value = self._get(obj, key, path, nullable=True)
        if not present:
            return None
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                pass
            else:
                if EARLIEST.date() <= parsed < LATEST.date():
                    return parsed
                self.error(path, f"must be from {EARLIEST.year} up to {LATEST.year}, got {_describe(value)}")
                return None
        self.error(path, f"must be a date YYYY-MM-DD, got {_describe(value)}")
        return None

    def obj(self, parent: Obj, key: str, path: str) -> Obj:
        present, value = self._get(parent, key, path, nullable=False)
        if not present:
            return _ABSENT
        if not isinstance(value, dict):
            self.error(path, f"must be an object, got {_describe(value)}")
            return _ABSENT
        return value

    def array(
        self, parent: Obj, key: str, path: str, *, min_items: int, required: bool = True
    ) -> list[object]:
        present, value = self._get(parent, key, path, nullable=not required)
        if not present:
            return []
        if not isinstance(value, list):
            self.error(path, f"must be an array, got {_describe(value)}")
            return []
        if len(value) < min_items:
            self.error(path, f"must hold at least {min_items} entr{'y' if min_items == 1 else 'ies'}")
        return value

    def objects(
        self, parent: Obj, key: str, path: str, *, min_items: int, required: bool = True
    ) -> list[Obj]:
        """An array of objects; entries that are not objects are reported and skipped."""
        result: list[Obj] = []
        for position, entry in enumerate(
            self.array(parent, key, path, min_items=min_items, required=required)
        ):
            if isinstance(entry, dict):
                result.append(entry)
            else:
                self.error(f"{path}[{position}]", f"must be an object, got {_describe(entry)}")
        return result

    def node(self, obj: Obj, key: str, path: str) -> str:
        value = self.text(obj, key, path, max_len=ID_MAX)
        if value and value not in NODE_ORDER:
            self.error(path, f"unknown node {value!r}; expected one of {', '.join(NODE_ORDER)}")
        return value

    # -- events

    def event(self, raw: object) -> SupplyChainEvent | None:
        if not isinstance(raw, dict):
            self.error("event", f"must be an object, got {_describe(raw)}")
            return None
        event_id = self.text(raw, "eventId", "eventId", max_len=EVENT_ID_MAX)
        occurred_at = self.time(raw, "occurredAt", "occurredAt")
        present, event_type = self._get(raw, "type", "type", nullable=False)
        if not present:
            return None
        if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
            shown = repr(event_type) if isinstance(event_type, str) else _describe(event_type)
            self.error("type", f"unknown event type {shown}; expected one of {', '.join(EVENT_TYPES)}")
            return None
        return _READERS[event_type](self, raw, event_id, occurred_at)

    def _order_placed(self, raw: Obj, event_id: str, occurred_at: datetime) -> OrderPlaced:
        order = self.obj(raw, "order", "order")
        items: list[Item] = []
        for position, item in enumerate(self.objects(order, "items", "order.items", min_items=1)):
            at = f"order.items[{position}]"
            items.append(
                Item(
                    sku_code=self.text(item, "skuCode", f"{at}.skuCode", max_len=ID_MAX),
                    name=self.text(item, "name", f"{at}.name", max_len=NAME_MAX),
                    quantity=self.integer(item, "quantity", f"{at}.quantity", minimum=1),
                    unit_price=self.money(item, "unitPrice", f"{at}.unitPrice"),
                )
            )
        return OrderPlaced(
            event_id=event_id,
            occurred_at=occurred_at,
            order=PlacedOrder(
                order_no=self.text(order, "orderNo", "order.orderNo", max_len=ID_MAX),
                openid=self.text(order, "openid", "order.openid", max_len=ID_MAX),
                placed_at=self.time(order, "placedAt", "order.placedAt"),
                total_amount=self.money(order, "totalAmount", "order.totalAmount"),
                region=self.text(order, "region", "order.region", max_len=REGION_MAX),
                warehouse=self.text(order, "warehouse", "order.warehouse", max_len=NAME_MAX),
                presale=self.boolean(order, "presale", "order.presale"),
                items=tuple(items),
            ),
        )

    def _order_paid(self, raw: Obj, event_id: str, occurred_at: datetime) -> OrderPaid:
        return OrderPaid(
            event_id=event_id,
            occurred_at=occurred_at,
            order_no=self.text(raw, "orderNo", "orderNo", max_len=ID_MAX),
            paid_at=self.time(raw, "paidAt", "paidAt"),
            transaction_id=self.text(raw, "transactionId", "transactionId", max_len=ID_MAX),
        )

    def _order_node(self, raw: Obj, event_id: str, occurred_at: datetime) -> OrderNode:
        node = self.node(raw, "node", "node")
        carrier = self.optional_text(raw, "carrier", "carrier", max_len=NAME_MAX)
        tracking_no = self.optional_text(raw, "trackingNo", "trackingNo", max_len=ID_MAX)
        estimated_arrival = self.optional_time(raw, "estimatedArrival", "estimatedArrival")
        if node in NODE_ORDER and node not in SHIPPED_NODES:
            for key, value in (
                ("carrier", carrier),
                ("trackingNo", tracking_no),
                ("estimatedArrival", estimated_arrival),
            ):
                if value is not None:
                    self.error(key, f"only OUTBOUND and later nodes carry it, this node is {node}")

        expected: list[ExpectedNode] = []
        seen: set[str] = set()
        for position, entry in enumerate(
            self.objects(raw, "expected", "expected", min_items=0, required=False)
        ):
            at = f"expected[{position}]"
            ahead = self.node(entry, "node", f"{at}.node")
            expected_at = self.time(entry, "expectedAt", f"{at}.expectedAt")
            if ahead in seen:
                self.error(f"{at}.node", f"{ahead} is listed twice")
            elif (
                ahead in NODE_ORDER
                and node in NODE_ORDER
                and NODE_ORDER.index(ahead) <= NODE_ORDER.index(node)
            ):
                self.error(f"{at}.node", f"{ahead} is not ahead of this event's node {node}")
            seen.add(ahead)
            expected.append(ExpectedNode(node=ahead, expected_at=expected_at))

        return OrderNode(
            event_id=event_id,
            occurred_at=occurred_at,
            order_no=self.text(raw, "orderNo", "orderNo", max_len=ID_MAX),
            node=node,
            location=self.text(raw, "location", "location", max_len=NAME_MAX),
            note=self.text(raw, "note", "note", max_len=TEXT_MAX, allow_empty=True),
            carrier=carrier,
            tracking_no=tracking_no,
            estimated_arrival=estimated_arrival,
            expected=tuple(expected),
        )

    def _order_presale_progress(self, raw: Obj, event_id: str, occurred_at: datetime) -> PresaleProgress:
        return PresaleProgress(
            event_id=event_id,
            occurred_at=occurred_at,
            order_no=self.text(raw, "orderNo", "orderNo", max_len=ID_MAX),
            stage=self.text(raw, "stage", "stage", max_len=NAME_MAX),
            progress_percent=self.integer(raw, "progressPercent", "progressPercent", minimum=0, maximum=100),
            expected_ship_date=self.optional_date(raw, "expectedShipDate", "expectedShipDate"),
        )

    def _order_delivery_slots(self, raw: Obj, event_id: str, occurred_at: datetime) -> DeliverySlots:
        slots: list[Slot] = []
        first_with_id: dict[str, int] = {}
        for position, entry in enumerate(self.objects(raw, "slots", "slots", min_items=1)):
            at = f"slots[{position}]"
            slot = Slot(
                id=self.text(entry, "id", f"{at}.id", max_len=ID_MAX),
                label=self.text(entry, "label", f"{at}.label", max_len=NAME_MAX),
                starts_at=self.time(entry, "startsAt", f"{at}.startsAt"),
                ends_at=self.time(entry, "endsAt", f"{at}.endsAt"),
            )
            if slot.id in first_with_id:
                self.error(f"{at}.id", f"duplicate of slots[{first_with_id[slot.id]}].id {slot.id!r}")
            elif slot.id:
                first_with_id[slot.id] = position
            if slot.starts_at is not _EPOCH and slot.ends_at is not _EPOCH and slot.ends_at <= slot.starts_at:
                self.error(f"{at}.endsAt", "must be after startsAt")
            slots.append(slot)
        default_slot_id = self.text(raw, "defaultSlotId", "defaultSlotId", max_len=ID_MAX)
        if default_slot_id and slots and default_slot_id not in first_with_id:
            self.error("defaultSlotId", f"{default_slot_id!r} is not the id of one of the slots")
        return DeliverySlots(
            event_id=event_id,
            occurred_at=occurred_at,
            order_no=self.text(raw, "orderNo", "orderNo", max_len=ID_MAX),
            deadline=self.time(raw, "deadline", "deadline"),
            default_slot_id=default_slot_id,
            slots=tuple(slots),
        )

    def _order_exception(self, raw: Obj, event_id: str, occurred_at: datetime) -> OrderException:
        kind = self.text(raw, "kind", "kind", max_len=ID_MAX)
        if kind and kind not in EXCEPTION_KINDS:
            self.error(
                "kind", f"unknown exception kind {kind!r}; expected one of {', '.join(EXCEPTION_KINDS)}"
            )

        options: list[Option] = []
        first_with_code: dict[str, int] = {}
        for position, entry in enumerate(self.objects(raw, "options", "options", min_items=1)):
            at = f"options[{position}]"
            option = Option(
                code=self.text(entry, "code", f"{at}.code", max_len=ID_MAX),
                label=self.text(entry, "label", f"{at}.label", max_len=NAME_MAX),
            )
            if option.code in first_with_code:
                self.error(f"{at}.code", f"duplicate of options[{first_with_code[option.code]}].code")
            elif option.code:
                first_with_code[option.code] = position
            options.append(option)
        default_option = self.text(raw, "defaultOption", "defaultOption", max_len=ID_MAX)
        if default_option and options and default_option not in first_with_code:
            self.error("defaultOption", f"{default_option!r} is not the code of one of the options")

        order_nos, scope = self._exception_targets(raw)
        return OrderException(
            event_id=event_id,
            occurred_at=occurred_at,
            exception_id=self.text(raw, "exceptionId", "exceptionId", max_len=ID_MAX),
            kind=kind,
            reason=self.text(raw, "reason", "reason", max_len=TEXT_MAX),
            deadline=self.time(raw, "deadline", "deadline"),
            default_option=default_option,
            options=tuple(options),
            order_nos=order_nos,
            scope=scope,
        )

    def _exception_targets(self, raw: Obj) -> tuple[tuple[str, ...] | None, ExceptionScope | None]:
        has_order_nos = raw.get("orderNos") is not None
        has_scope = raw.get("scope") is not None
        if has_order_nos and has_scope:
            self.error("scope", "give either orderNos or scope, not both")
            return None, None
        if not has_order_nos and not has_scope:
            self.error(
                "orderNos", "is required unless scope is given (give exactly one of orderNos and scope)"
            )
            return None, None
        if has_order_nos:
            order_nos: list[str] = []
            for position, value in enumerate(self.array(raw, "orderNos", "orderNos", min_items=1)):
                order_no = self._text_value(value, f"orderNos[{position}]", max_len=ID_MAX, allow_empty=False)
                if order_no and order_no not in order_nos:
                    order_nos.append(order_no)
            return tuple(order_nos), None
        scope_raw = self.obj(raw, "scope", "scope")
        scope = ExceptionScope(
            warehouse=self.optional_text(scope_raw, "warehouse", "scope.warehouse", max_len=NAME_MAX),
            sku_code=self.optional_text(scope_raw, "skuCode", "scope.skuCode", max_len=ID_MAX),
            region=self.optional_text(scope_raw, "region", "scope.region", max_len=REGION_MAX),
        )
        if isinstance(raw.get("scope"), dict) and not any(
            scope_raw.get(key) is not None for key in ("warehouse", "skuCode", "region")
        ):
            self.error("scope", "must name at least one of warehouse, skuCode, region")
        return None, scope

    def _order_cancelled(self, raw: Obj, event_id: str, occurred_at: datetime) -> OrderCancelled:
        return OrderCancelled(
            event_id=event_id,
            occurred_at=occurred_at,
            order_no=self.text(raw, "orderNo", "orderNo", max_len=ID_MAX),
            reason=self.text(raw, "reason", "reason", max_len=TEXT_MAX, allow_empty=True),
        )

    def _sku_upsert(self, raw: Obj, event_id: str, occurred_at: datetime) -> SkuUpsert:
        sku = self.obj(raw, "sku", "sku")
        maintenance: list[Maintenance] = []
        for position, entry in enumerate(self.objects(sku, "maintenance", "sku.maintenance", min_items=0)):
            at = f"sku.maintenance[{position}]"
            maintenance.append(
                Maintenance(
                    after_days=self.integer(entry, "afterDays", f"{at}.afterDays", minimum=1),
                    title=self.text(entry, "title", f"{at}.title", max_len=NAME_MAX),
                )
            )
        return SkuUpsert(
            event_id=event_id,
            occurred_at=occurred_at,
            sku=Sku(
                sku_code=self.text(sku, "skuCode", "sku.skuCode", max_len=ID_MAX),
                name=self.text(sku, "name", "sku.name", max_len=NAME_MAX),
                category=self.text(sku, "category", "sku.category", max_len=NAME_MAX),
                consumable=self.boolean(sku, "consumable", "sku.consumable"),
                usage_days_per_unit=self.optional_integer(
                    sku, "usageDaysPerUnit", "sku.usageDaysPerUnit", minimum=1
                ),
                maintenance=tuple(maintenance),
                renewal_after_days=self.optional_integer(
                    sku, "renewalAfterDays", "sku.renewalAfterDays", minimum=1
                ),
            ),
        )

    def _member_upsert(self, raw: Obj, event_id: str, occurred_at: datetime) -> MemberUpsert:
        member = self.obj(raw, "member", "member")
        return MemberUpsert(
            event_id=event_id,
            occurred_at=occurred_at,
            member=Member(
                openid=self.text(member, "openid", "member.openid", max_len=ID_MAX),
                member_tier=self.text(member, "memberTier", "member.memberTier", max_len=MEMBER_TIER_MAX),
                points=self.integer(member, "points", "member.points", minimum=0),
                points_expire_at=self.optional_time(member, "pointsExpireAt", "member.pointsExpireAt"),
                birthday=self._birthday(member),
                region=self.optional_text(member, "region", "member.region", max_len=REGION_MAX),
            ),
        )

    def _birthday(self, member: Obj) -> str | None:
        present, value = self._get(member, "birthday", "member.birthday", nullable=True)
        if not present:
            return None
        match = _MM_DD_RE.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            self.error("member.birthday", f"must be MM-DD (such as 09-30) or null, got {_describe(value)}")
            return None
        month, day = int(match[1]), int(match[2])
        if not (1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]):
            self.error("member.birthday", f"{value!r} is not a day of the year")
            return None
        return str(value)


_READERS: Mapping[str, Callable[[_EventReader, Obj, str, datetime], SupplyChainEvent]] = {
    OrderPlaced.TYPE: _EventReader._order_placed,
    OrderPaid.TYPE: _EventReader._order_paid,
    OrderNode.TYPE: _EventReader._order_node,
    PresaleProgress.TYPE: _EventReader._order_presale_progress,
    DeliverySlots.TYPE: _EventReader._order_delivery_slots,
    OrderException.TYPE: _EventReader._order_exception,
    OrderCancelled.TYPE: _EventReader._order_cancelled,
    SkuUpsert.TYPE: _EventReader._sku_upsert,
    MemberUpsert.TYPE: _EventReader._member_upsert,
}


def payloads_of(body: bytes) -> list[dict[str, Any]]:
    """The events of a body that `parse_batch` accepted, as JSON objects (what is stored)."""
    document = json.loads(body)
    return [dict(raw) for raw in document["events"]]


def reparse(payload: Mapping[str, Any]) -> SupplyChainEvent:
    """A stored payload back into its typed event (it was valid when stored)."""
    return parse_batch(json.dumps({"events": [payload]}).encode())[0]
