"""Sent events and unknown outcomes: every send WeChat may have made ends SENT once, never resent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from arq.connections import ArqRedis

from bff.models import Notice, NoticeStatus, User
from bff.notices.delivery import SentEventMatch, record_sent_event, settle_unknown_outcomes
from bff.runtime.settings import Settings
from bff.wechat.errors import WeChatTransportError
from bff.wechat.events import SentEvent
from tests.notices.send_fixtures import (
    ORDER_PROGRESS,
    ORDER_SHIPPING,
    FakeClient,
    SentCall,
    make_notice,
    make_sender,
    make_user,
    progress_values,
    remaining,
    utcnow,
)

pytestmark = pytest.mark.usefixtures("db")

READ_TIMEOUT = WeChatTransportError(api="subscribe_send", detail="ReadTimeout", outcome_unknown=True)


def sent_event(
    user: User, msgid: str, *, template_id: str = ORDER_PROGRESS, error_code: int = 0
) -> SentEvent:
    return SentEvent(
        openid=user.openid,
        template_id=template_id,
        msgid=msgid,
        error_code=error_code,
        error_status="success" if error_code == 0 else "fail: user blocked",
        create_time=int(utcnow().timestamp()),
    )


async def unknown_outcome_notice(settings: Settings, redis: ArqRedis, user: User, **kwargs: object) -> Notice:
    """A notice whose send timed out after it was written."""
    notice = await make_notice(user, **kwargs)  # type: ignore[arg-type]
    await make_sender(settings, redis, FakeClient(script=[READ_TIMEOUT])).send(notice.id)
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENDING and notice.outcome_unknown_at is not None
    return notice


async def test_a_sent_event_records_the_delivery_on_the_notice_with_its_msgid(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a notice sent with msgid 123
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    await make_sender(settings, arq_pool, FakeClient(script=["123"])).send(notice.id)

    # when WeChat pushes its sent event, twice (pushes are retried)
    first = await record_sent_event(sent_event(user, "123"), user)
    second = await record_sent_event(sent_event(user, "123"), user)

    # then the delivery is recorded on that notice, which stays SENT once
    assert first is second is SentEventMatch.BY_MSGID
    await notice.refresh_from_db()
    assert (notice.status, notice.msgid, notice.delivery_status) == (NoticeStatus.SENT, "123", "success")
    assert notice.delivered_at is not None
    assert await remaining(user) == 0


async def test_an_asynchronous_delivery_failure_is_kept_with_its_code(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a sent notice
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    await make_sender(settings, arq_pool, FakeClient(script=["124"])).send(notice.id)

    # when WeChat reports that delivery failed afterwards
    await record_sent_event(sent_event(user, "124", error_code=1), user)

    # then the failure is visible on the notice, which still counts as sent (the unit was used)
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENT
    assert notice.delivery_status == "1 fail: user blocked"


async def test_a_sent_event_settles_a_send_whose_answer_was_lost(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a send that timed out after it was written
    user = await make_user(units={ORDER_PROGRESS: 2})
    notice = await unknown_outcome_notice(settings, arq_pool, user)

    # when WeChat's sent event for it arrives
    match = await record_sent_event(sent_event(user, "555"), user)

    # then the notice is SENT with the event's msgid, its unit spent
    assert match is SentEventMatch.RECONCILED
    await notice.refresh_from_db()
    assert (notice.status, notice.msgid, notice.reason) == (NoticeStatus.SENT, "555", "RECONCILED")
    assert await remaining(user) == 1


async def test_the_oldest_unanswered_send_of_the_template_is_matched_first(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given two unanswered sends of one template and one of another template
    user = await make_user(units={ORDER_PROGRESS: 3, ORDER_SHIPPING: 1})
    older = await unknown_outcome_notice(settings, arq_pool, user)
    newer = await unknown_outcome_notice(settings, arq_pool, user)
    shipping = {**progress_values("SO20261120000077"), "node_phrase": "已出库", "location": "杭州仓"}
    other = await unknown_outcome_notice(
        settings, arq_pool, user, template_id=ORDER_SHIPPING, values=shipping
    )

    # when one sent event of the first template arrives
    await record_sent_event(sent_event(user, "601"), user)

    # then the older send took it; the others still wait
    statuses = {n.id: (n.status, n.msgid) for n in await Notice.all()}
    assert statuses[older.id] == (NoticeStatus.SENT, "601")
    assert statuses[newer.id] == (NoticeStatus.SENDING, None)
    assert statuses[other.id] == (NoticeStatus.SENDING, None)


async def test_a_late_sent_event_gives_an_assumed_send_its_msgid(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given an unanswered send already settled as sent after the timeout
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await unknown_outcome_notice(settings, arq_pool, user)
    assert await settle_unknown_outcomes(after=timedelta(0)) == 1

    # when its sent event finally arrives
    match = await record_sent_event(sent_event(user, "702"), user)

    # then the notice keeps its single SENT state and gains the msgid
    assert match is SentEventMatch.RECONCILED
    await notice.refresh_from_db()
    assert (notice.status, notice.msgid) == (NoticeStatus.SENT, "702")
    assert await remaining(user) == 0


async def test_a_sent_event_of_nothing_we_sent_changes_nothing(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a user whose only notice was answered normally
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    await make_sender(settings, arq_pool, FakeClient(script=["800"])).send(notice.id)

    # when an event with an unknown msgid arrives
    match = await record_sent_event(sent_event(user, "999"), user)

    # then nothing matches and the notice keeps its own msgid
    assert match is SentEventMatch.UNMATCHED
    await notice.refresh_from_db()
    assert notice.msgid == "800" and notice.delivery_status is None


async def test_unknown_outcomes_are_assumed_sent_only_after_the_timeout(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given an unanswered send
    user = await make_user(units={ORDER_PROGRESS: 2})
    notice = await unknown_outcome_notice(settings, arq_pool, user)

    # when the outcome timeout has not passed, then it keeps waiting
    assert await settle_unknown_outcomes(after=timedelta(minutes=10)) == 0
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENDING

    # when it has passed, then it is SENT (assumed) and its unit stays spent
    later = utcnow() + timedelta(minutes=11)
    assert await settle_unknown_outcomes(now=later, after=timedelta(minutes=10)) == 1
    await notice.refresh_from_db()
    assert (notice.status, notice.reason) == (NoticeStatus.SENT, "ASSUMED_SENT")
    assert await remaining(user) == 1


async def test_a_wrong_guess_is_undone_when_the_real_answer_names_the_msgid(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given an older send whose outcome is unknown (WeChat never got it)
    user = await make_user(units={ORDER_PROGRESS: 2})
    lost = await unknown_outcome_notice(settings, arq_pool, user)
    current = await make_notice(user)

    async def event_then_answer(call: SentCall) -> str:
        # the current send's sent event arrives before its answer, and is matched to the older send
        await record_sent_event(sent_event(user, "901"), user)
        return "901"

    # when the current send completes with that msgid
    await make_sender(settings, arq_pool, FakeClient(script=[event_then_answer])).send(current.id)

    # then the current notice owns the msgid and the older one is back to "assumed sent"
    await current.refresh_from_db()
    await lost.refresh_from_db()
    assert (current.status, current.msgid) == (NoticeStatus.SENT, "901")
    assert (lost.status, lost.msgid, lost.reason) == (NoticeStatus.SENT, None, "ASSUMED_SENT")
    assert await Notice.filter(msgid="901").count() == 1
    assert await remaining(user) == 0
