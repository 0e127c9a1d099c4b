"""When a FAILED notice may be sent again: the rule both the search (``canResend``) and the
``resendNotice`` mutation apply, over facts loaded for a whole page at once.

A notice may be resent when, in this order:

1. it is FAILED (SENT or with a msgid or sent_at: ALREADY_SENT; any other state: NOT_FAILED) —
   FAILED means WeChat did not deliver it: every FAILED outcome of the sender is an answer that
   says so, or a refusal before any call;
2. it has not expired (EXPIRED);
3. its failure reason says a later try can work (REASON_FORBIDS otherwise):
   - allowed: RETRIES_EXHAUSTED (WeChat was busy every time), CREDENTIALS and REFRESH_TOKEN (our
     credentials, fixed since), TEMPLATE_BUG (the template was broken: allowed once an operator
     resumed it, see 4), TEMPLATE_NOT_CONFIGURED (the templates file lacked it), DROP_RECIPIENT
     (40003: allowed once the user's flag is cleared, see 5);
   - forbidden: QUOTA_EXHAUSTED (43101: the user refused the message or has no subscription
     left with WeChat; WeChat voided their units), DATA_BUG (WeChat or our validation refused the
     notice's data, and a resend sends the same data), and any other reason;
4. its template is not stopped now (TEMPLATE_STOPPED; `bff stops resume-template` clears it);
5. its user is not flagged with an invalid openid (OPENID_INVALID; `bff stops clear-user`);
6. the user has a consent unit for its template now, not banned (NO_UNIT).

A resend is the same row going FAILED → QUEUED through the normal sender, which reserves the
unit and asks the policy again (withdrawal) as for any send; this rule only refuses what the
sender would refuse anyway or what must not be tried again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bff.models.consent import ConsentLedger
from bff.models.notices import Notice, NoticeStatus, StoppedTemplate
from bff.models.users import User

__all__ = [
    "RESENDABLE_REASONS",
    "Refusal",
    "ResendFacts",
    "load_resend_facts",
    "resend_refusal",
]

# Failure reasons a resend can overcome (the sender's reasons, bff/notices/sender.py).
RESENDABLE_REASONS = frozenset(
    {
        "RETRIES_EXHAUSTED",
        "CREDENTIALS",
        "REFRESH_TOKEN",
        "TEMPLATE_BUG",
        "TEMPLATE_NOT_CONFIGURED",
        "DROP_RECIPIENT",
    }
)
_FORBIDDEN_WHY = {
    "QUOTA_EXHAUSTED": "WeChat answered 43101: the user refused the message or has no subscription left",
    "DATA_BUG": "the notice's data was refused; a resend would send the same data",
}


@dataclass(frozen=True)
class Refusal:
    """Why an operator's action was not done: a stable code and words for the operator."""

    code: str
    message: str


@dataclass(frozen=True)
class ResendFacts:
    """What the rule needs beyond the notice row, as of now."""

    unit_left: bool  # a consent unit of (user, template) is left and the template is not banned
    template_stopped: bool
    openid_invalid: bool


def resend_refusal(notice: Notice, facts: ResendFacts | None, now: datetime) -> Refusal | None:
    """None when ``notice`` may be resent; otherwise why not (see the module docstring).
    ``facts`` may be None for a notice that is not FAILED (they are not needed then)."""
    if notice.status is NoticeStatus.SENT or notice.msgid is not None or notice.sent_at is not None:
        return Refusal("ALREADY_SENT", f"notice {notice.id} was sent; it is never sent twice")
    if notice.status is not NoticeStatus.FAILED:
        return Refusal(
            "NOT_FAILED", f"notice {notice.id} is {notice.status.value}; only FAILED notices are resent"
        )
    if notice.expires_at is not None and notice.expires_at <= now:
        return Refusal("EXPIRED", f"notice {notice.id} expired at {notice.expires_at.isoformat()}")
    reason = notice.reason or ""
    if reason not in RESENDABLE_REASONS:
        why = _FORBIDDEN_WHY.get(
            reason, f"a notice that failed with {reason or 'no reason'} is not sent again"
        )
        return Refusal("REASON_FORBIDS", why)
    assert facts is not None, "facts are loaded for every FAILED notice"
    if facts.template_stopped:
        return Refusal(
            "TEMPLATE_STOPPED", f"template {notice.template_id} is stopped; resume it first (bff stops)"
        )
    if facts.openid_invalid:
        return Refusal(
            "OPENID_INVALID", "WeChat called the user's openid invalid; clear the flag first (bff stops)"
        )
    if not facts.unit_left:
        return Refusal("NO_UNIT", f"the user has no consent unit left for template {notice.template_id}")
    return None


async def load_resend_facts(notices: Sequence[Notice]) -> dict[int, ResendFacts]:
    """The facts of every FAILED notice of ``notices`` (three queries, whatever their number)."""
    failed = [n for n in notices if n.status is NoticeStatus.FAILED]
    if not failed:
        return {}
    user_ids = sorted({n.user_id for n in failed})
    template_ids = sorted({n.template_id for n in failed})
    ledgers = await ConsentLedger.filter(user_id__in=user_ids, template_id__in=template_ids).values(
        "user_id", "template_id", "granted", "spent", "banned"
    )
    units = {
        (row["user_id"], row["template_id"])
        for row in ledgers
        if row["granted"] - row["spent"] > 0 and not row["banned"]
    }
    stopped: set[str] = {
        str(row["template_id"])
        for row in await StoppedTemplate.filter(template_id__in=template_ids, cleared_at__isnull=True).values(
            "template_id"
        )
    }
    flagged: set[int] = {
        int(row["id"])
        for row in await User.filter(id__in=user_ids, openid_invalid_at__isnull=False).values("id")
    }
    return {
        n.id: ResendFacts(
            unit_left=(n.user_id, n.template_id) in units,
            template_stopped=n.template_id in stopped,
            openid_invalid=n.user_id in flagged,
        )
        for n in failed
    }
