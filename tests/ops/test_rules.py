"""The resend rule (bff/ops/rules.py), over real rows: which FAILED notices may be sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.context import TortoiseContext

from bff.consent import ledger
from bff.models import Notice, NoticeStatus
from bff.notices.stops import flag_invalid_openid, resume_template, stop_template
from bff.ops.rules import load_resend_facts, resend_refusal
from tests.notices.send_fixtures import ORDER_PROGRESS, make_notice, make_user
from tests.ops.fixtures import failed_notice


async def refusal_code(notice: Notice) -> str | None:
    facts = await load_resend_facts([notice])
    refusal = resend_refusal(notice, facts.get(notice.id), datetime.now(UTC))
    return None if refusal is None else refusal.code


@pytest.mark.parametrize(
    "reason", ["RETRIES_EXHAUSTED", "CREDENTIALS", "REFRESH_TOKEN", "TEMPLATE_BUG", "TEMPLATE_NOT_CONFIGURED"]
)
async def test_a_failure_a_later_try_can_overcome_may_be_resent_while_a_unit_is_left(
    db: TortoiseContext, reason: str
) -> None:
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await failed_notice(user, reason=reason)
    assert await refusal_code(notice) is None


@pytest.mark.parametrize("reason", ["QUOTA_EXHAUSTED", "DATA_BUG", "RELOGIN", "SOMETHING_NEW"])
async def test_a_refusal_by_the_user_or_of_the_data_forbids_a_resend(
    db: TortoiseContext, reason: str
) -> None:
    # given a user with units (so only the reason can forbid it)
    user = await make_user(units={ORDER_PROGRESS: 2})
    notice = await failed_notice(user, reason=reason, errcode=43101 if reason == "QUOTA_EXHAUSTED" else None)
    assert await refusal_code(notice) == "REASON_FORBIDS"


async def test_without_a_unit_or_with_the_template_banned_there_is_no_resend(db: TortoiseContext) -> None:
    none_left = await failed_notice(await make_user())
    banned_user = await make_user(units={ORDER_PROGRESS: 1})
    await ledger.ban(banned_user.id, ORDER_PROGRESS)
    banned = await failed_notice(banned_user)
    assert await refusal_code(none_left) == "NO_UNIT"
    assert await refusal_code(banned) == "NO_UNIT"


async def test_a_stopped_template_forbids_a_resend_until_it_is_resumed(db: TortoiseContext) -> None:
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await failed_notice(user, reason="TEMPLATE_BUG", errcode=43107)
    await stop_template(ORDER_PROGRESS, errcode=43107, detail="banned template")
    assert await refusal_code(notice) == "TEMPLATE_STOPPED"
    await resume_template(ORDER_PROGRESS)
    assert await refusal_code(notice) is None


async def test_a_user_flagged_with_an_invalid_openid_gets_no_resend(db: TortoiseContext) -> None:
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await failed_notice(user, reason="DROP_RECIPIENT", errcode=40003)
    await flag_invalid_openid(user.id)
    assert await refusal_code(notice) == "OPENID_INVALID"


async def test_only_failed_notices_never_sent_and_not_expired_qualify(db: TortoiseContext) -> None:
    user = await make_user(units={ORDER_PROGRESS: 3})
    sent = await make_notice(user, status=NoticeStatus.SENT)
    queued = await make_notice(user, status=NoticeStatus.QUEUED)
    with_msgid = await failed_notice(user, msgid="123")
    expired = await failed_notice(user, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    assert await refusal_code(sent) == "ALREADY_SENT"
    assert await refusal_code(with_msgid) == "ALREADY_SENT"
    assert await refusal_code(queued) == "NOT_FAILED"
    assert await refusal_code(expired) == "EXPIRED"
