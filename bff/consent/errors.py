"""The stable codes of what is wrong with a consent input (preferences, subscribe reports)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ConsentErrorCode"]


class ConsentErrorCode(StrEnum):
    # updatePreferences
    TOO_MANY_TOPICS = "TOO_MANY_TOPICS"
    UNKNOWN_TOPIC = "UNKNOWN_TOPIC"
    TOPIC_REQUIRED = "TOPIC_REQUIRED"
    DUPLICATE_TOPIC = "DUPLICATE_TOPIC"
    INVALID_TIME = "INVALID_TIME"
    EMPTY_QUIET_HOURS = "EMPTY_QUIET_HOURS"
    WEEKLY_LIMIT_OUT_OF_RANGE = "WEEKLY_LIMIT_OUT_OF_RANGE"
    # reportSubscribeResult
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    UNKNOWN_REQUEST = "UNKNOWN_REQUEST"
    TEMPLATE_NOT_REQUESTED = "TEMPLATE_NOT_REQUESTED"
    UNKNOWN_STATUS = "UNKNOWN_STATUS"
    ALREADY_REPORTED = "ALREADY_REPORTED"
    DUPLICATE_TEMPLATE = "DUPLICATE_TEMPLATE"
