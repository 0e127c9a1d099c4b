"""Why a notice was not sent (yet): the stable codes kept in ``Notice.reason``.

The policy (bff/notices/policy.py) checks them in the order below and stops at the first that
applies, so a notice carries the most fundamental reason. The codes are part of what operators
and the mini-program see; never rename one.
"""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    # The notice is about something that no longer matters (its expires_at has passed).
    EXPIRED = "EXPIRED"
    # WeChat's subscription main switch is off for the user: nothing can be delivered.
    MAIN_SWITCH_OFF = "MAIN_SWITCH_OFF"
    # The user switched the topic off (only topics that may be switched off).
    TOPIC_OFF = "TOPIC_OFF"
    # WeChat answered "ban" for the template: it is unusable for this user.
    TEMPLATE_BANNED = "TEMPLATE_BANNED"
    # The order was cancelled: what was still to tell about it is moot.
    ORDER_CANCELLED = "ORDER_CANCELLED"
    # A later node of the same order is known: this older node's notice is stale (likewise a
    # presale-progress notice once a later stage of the order is known).
    SUPERSEDED = "SUPERSEDED"
    # The user already did what the notice asks for: confirmed receipt, chose a delivery slot,
    # decided the exception. Added after the others, so the codes before it keep their order.
    ANSWERED = "ANSWERED"
    # No consent unit of the template is left (after the notices already queued for it).
    NO_UNITS = "NO_UNITS"
    # The units left are fewer than, or as many as, the more important notices known to be ahead
    # that share the template: they are kept for those (docs/architecture.md, "Notices: spending
    # consent where it matters").
    SAVED_FOR_HIGHER_PRIORITY = "SAVED_FOR_HIGHER_PRIORITY"
    # A lifecycle or member notice, and the user's weekly limit is reached.
    WEEKLY_LIMIT = "WEEKLY_LIMIT"
    # The user is in the holdout of an experiment on the notice's topic: recorded, never sent, no
    # unit spent (bff/notices/experiments).
    EXPERIMENT_HOLDOUT = "EXPERIMENT_HOLDOUT"
    # Deferred, not dropped: kept on a SCHEDULED notice until its quiet hours end.
    QUIET_HOURS = "QUIET_HOURS"
    # Deferred, not dropped: a lifecycle or member notice waits for the user's best hour
    # (bff/notices/timing/send_time.py); when it comes the notice is not deferred for it again.
    BEST_HOUR = "BEST_HOUR"


# The order in which the policy checks them (the first that applies is kept).
CHECK_ORDER: tuple[Reason, ...] = tuple(Reason)
