"""What a user wants to hear about, and when: topic switches, quiet hours, weekly limit.

Defaults (a user who never touched the subscription tab has no rows):
- every topic on (the user asked for notices by accepting a popup; switches only narrow that);
- quiet hours 22:00–08:00 in the business time zone (non-urgent notices wait until morning);
- weekly limit 5 (lifecycle and member notices only; order progress is never limited);
- WeChat main switch on, until the mini-program reports otherwise.

``ORDER_EXCEPTION`` cannot be switched off in-app (docs/design.md rule 5): a decision the user must
make is never hidden by a preference. It can still be refused in WeChat itself.

``update_preferences`` checks everything first and changes nothing when anything is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from tortoise.transactions import in_transaction

from bff.catalog.topics import TOPICS, Topic
from bff.consent.errors import ConsentErrorCode
from bff.models.consent import Preferences, TopicPreference

HHMM_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
WEEKLY_LIMIT_MIN = 0
WEEKLY_LIMIT_MAX = 50
DEFAULT_WEEKLY_LIMIT = 5
MAX_TOPIC_SWITCHES = 2 * len(Topic)  # every topic, even twice; more is not a real request


@dataclass(frozen=True)
class QuietHours:
    """A daily window as HH:MM in the business time zone; ``start > end`` crosses midnight."""

    start: str
    end: str

    @property
    def start_time(self) -> time:
        return _parse_hhmm(self.start)

    @property
    def end_time(self) -> time:
        return _parse_hhmm(self.end)

    @property
    def crosses_midnight(self) -> bool:
        return self.start_time > self.end_time

    def contains(self, moment: time) -> bool:
        """True if ``moment`` (a local wall-clock time) is inside the window; the end is excluded."""
        at = moment.replace(second=0, microsecond=0, tzinfo=None)
        if self.crosses_midnight:
            return at >= self.start_time or at < self.end_time
        return self.start_time <= at < self.end_time

    def ends_after(self, moment: datetime) -> datetime:
        """The first end of the window after an aware ``moment`` (in ``moment``'s zone)."""
        end = self.end_time
        candidate = moment.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if candidate <= moment:
            candidate += timedelta(days=1)
        return candidate


DEFAULT_QUIET_HOURS = QuietHours(start="22:00", end="08:00")


@dataclass(frozen=True)
class UserPreferences:
    main_switch: bool = True
    quiet_hours: QuietHours | None = DEFAULT_QUIET_HOURS
    weekly_limit: int = DEFAULT_WEEKLY_LIMIT
    # Only the topics the user switched; the rest are on.
    switched: Mapping[Topic, bool] = field(default_factory=lambda: MappingProxyType({}))

    def topic_enabled(self, topic: Topic | str) -> bool:
        key = Topic(topic)
        if not TOPICS[key].opt_out_allowed:
            return True
        return self.switched.get(key, True)

    def enabled_topics(self) -> frozenset[Topic]:
        return frozenset(topic for topic in Topic if self.topic_enabled(topic))


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with an update: a stable code, the input field (camelCase path), a message."""

    code: ConsentErrorCode
    field: str
    message: str


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()


@dataclass(frozen=True)
class TopicSwitch:
    key: str
    enabled: bool


@dataclass(frozen=True)
class PreferencesUpdate:
    """A change of preferences. ``None`` topics / weekly limit and UNSET quiet hours mean "keep";
    ``quiet_hours=None`` means "no quiet hours"."""

    topics: Sequence[TopicSwitch] | None = None
    quiet_hours: QuietHours | _Unset | None = UNSET
    weekly_limit: int | None = None


def _parse_hhmm(value: str) -> time:
    match = HHMM_RE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def validate_update(update: PreferencesUpdate) -> list[FieldProblem]:
    """Every problem of ``update`` (empty when it may be applied)."""
    problems: list[FieldProblem] = []
    if update.topics is not None and len(update.topics) > MAX_TOPIC_SWITCHES:
        return [
            FieldProblem(
                ConsentErrorCode.TOO_MANY_TOPICS, "topics", f"at most {MAX_TOPIC_SWITCHES} switches at once"
            )
        ]
    if update.topics is not None:
        seen: dict[Topic, bool] = {}
        for index, switch in enumerate(update.topics):
            where = f"topics[{index}].key"
            try:
                topic = Topic(switch.key)
            except ValueError:
                problems.append(
                    FieldProblem(ConsentErrorCode.UNKNOWN_TOPIC, where, f"{switch.key!r} is not a topic")
                )
                continue
            if not switch.enabled and not TOPICS[topic].opt_out_allowed:
                problems.append(
                    FieldProblem(
                        ConsentErrorCode.TOPIC_REQUIRED,
                        f"topics[{index}].enabled",
                        f"{topic} cannot be switched off here: it asks for decisions about your orders",
                    )
                )
            if topic in seen and seen[topic] != switch.enabled:
                problems.append(
                    FieldProblem(
                        ConsentErrorCode.DUPLICATE_TOPIC, where, f"{topic} is both switched on and off"
                    )
                )
            seen[topic] = switch.enabled
    if isinstance(update.quiet_hours, QuietHours):
        quiet = update.quiet_hours
        valid = True
        for name, value in (("start", quiet.start), ("end", quiet.end)):
            if not HHMM_RE.match(value):
                valid = False
                problems.append(
                    FieldProblem(
                        ConsentErrorCode.INVALID_TIME,
                        f"quietHours.{name}",
                        f"{value!r} is not a time as HH:MM (00:00 to 23:59)",
                    )
                )
        if valid and quiet.start == quiet.end:
            problems.append(
                FieldProblem(
                    ConsentErrorCode.EMPTY_QUIET_HOURS,
                    "quietHours.end",
                    "start and end are equal; send null for no quiet hours",
                )
            )
    if update.weekly_limit is not None and not (WEEKLY_LIMIT_MIN <= update.weekly_limit <= WEEKLY_LIMIT_MAX):
        problems.append(
            FieldProblem(
                ConsentErrorCode.WEEKLY_LIMIT_OUT_OF_RANGE,
                "weeklyLimit",
                f"must be between {WEEKLY_LIMIT_MIN} and {WEEKLY_LIMIT_MAX}, got {update.weekly_limit}",
            )
        )
    return problems


_ROW = ("user_id", "main_switch", "quiet_start", "quiet_end", "weekly_limit")


def _of(row: Mapping[str, Any] | None, switches: Iterable[tuple[Any, Any]]) -> UserPreferences:
    """From the ``values()`` of a preferences row (``_ROW``; None: no row) and (topic, enabled) pairs."""
    switched: dict[Topic, bool] = {}
    for topic, enabled in switches:
        try:
            switched[Topic(topic)] = bool(enabled)
        except ValueError:
            continue  # a topic removed from the code since; its row means nothing now
    if row is None:
        return UserPreferences(switched=MappingProxyType(switched))
    start, end = row["quiet_start"], row["quiet_end"]
    return UserPreferences(
        main_switch=bool(row["main_switch"]),
        quiet_hours=QuietHours(start=start, end=end) if start is not None and end is not None else None,
        weekly_limit=int(row["weekly_limit"]),
        switched=MappingProxyType(switched),
    )


def preferences_from(row: Mapping[str, Any] | None, switches: Iterable[tuple[Any, Any]]) -> UserPreferences:
    """The preferences of a user's rows as read elsewhere (the sender's one-statement facts on
    PostgreSQL, bff/notices/withdrawal.py), a row's columns by name and (topic, enabled) pairs:
    defaults filled in as ``get_preferences`` does."""
    return _of(row, switches)


async def get_preferences(user_id: int) -> UserPreferences:
    """The user's preferences, defaults filled in (two SELECTs, no model instances)."""
    rows = await Preferences.filter(user_id=user_id).limit(1).values(*_ROW)
    switches = await TopicPreference.filter(user_id=user_id).values_list("topic", "enabled")
    return _of(rows[0] if rows else None, switches)


async def preferences_of(user_ids: Iterable[int]) -> dict[int, UserPreferences]:
    """Preferences of many users in two queries (for the notice planner)."""
    ids = list(set(user_ids))
    rows = {int(row["user_id"]): row for row in await Preferences.filter(user_id__in=ids).values(*_ROW)}
    switches: dict[int, list[tuple[Any, Any]]] = {}
    for user_id, topic, enabled in await TopicPreference.filter(user_id__in=ids).values_list(
        "user_id", "topic", "enabled"
    ):
        switches.setdefault(int(user_id), []).append((topic, enabled))
    return {user_id: _of(rows.get(user_id), switches.get(user_id, [])) for user_id in ids}


async def update_preferences(
    user_id: int, update: PreferencesUpdate
) -> tuple[UserPreferences | None, list[FieldProblem]]:
    """Apply ``update`` if it is valid: (new preferences, []) or (None, problems) with nothing changed.

    Two writes whatever the update holds: one upsert of the preferences row (created with the
    defaults when missing, then the changed fields) and one upsert of every topic switch given;
    then the two reads of ``get_preferences``.
    """
    problems = validate_update(update)
    if problems:
        return None, problems
    changes: dict[str, object] = {}
    if not isinstance(update.quiet_hours, _Unset):
        quiet = update.quiet_hours
        changes["quiet_start"] = quiet.start if quiet is not None else None
        changes["quiet_end"] = quiet.end if quiet is not None else None
    if update.weekly_limit is not None:
        changes["weekly_limit"] = update.weekly_limit
    # validate_update refused a topic switched both on and off: the last word on each is the only one
    switches = {Topic(switch.key): switch.enabled for switch in update.topics or ()}
    async with in_transaction():
        await _upsert_row(user_id, changes)
        if switches:
            now = datetime.now(UTC)
            await TopicPreference.bulk_create(
                [
                    TopicPreference(user_id=user_id, topic=str(topic), enabled=enabled, updated_at=now)
                    for topic, enabled in switches.items()
                ],
                on_conflict=("user_id", "topic"),
                update_fields=("enabled",),
            )
    return await get_preferences(user_id), []


async def _upsert_row(user_id: int, changes: Mapping[str, object]) -> None:
    """The user's preferences row with ``changes`` applied, created with the defaults when missing:
    one INSERT … ON CONFLICT (user_id) DO UPDATE of the changed fields (DO NOTHING without any)."""
    row = Preferences(
        user_id=user_id,
        main_switch=True,
        quiet_start=DEFAULT_QUIET_HOURS.start,
        quiet_end=DEFAULT_QUIET_HOURS.end,
        weekly_limit=DEFAULT_WEEKLY_LIMIT,
        updated_at=datetime.now(UTC),
    )
    for name, value in changes.items():
        setattr(row, name, value)
    if changes:
        await Preferences.bulk_create([row], on_conflict=("user_id",), update_fields=tuple(changes))
    else:
        await Preferences.bulk_create([row], ignore_conflicts=True)


async def set_main_switch(user_id: int, on: bool) -> None:
    """Record WeChat's subscription main switch as the mini-program reported it."""
    await _upsert_row(user_id, {"main_switch": on})
