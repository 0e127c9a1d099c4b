"""The send job's state machine, with a scripted WeChat client and the real ledger, DB and Redis."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff import constants
from bff.models import Notice, NoticeStatus
from bff.notices.locks import acquire_openid_lock
from bff.notices.open_tokens import verify_open_token
from bff.notices.sender import SendOutcome, next_day_at
from bff.notices.sweeper import sweep
from bff.runtime.resources import HTTP_TIMEOUT
from bff.runtime.settings import Settings
from bff.wechat.errors import WeChatAPIError, WeChatTransportError
from bff.wechat.tokens import TokenCache
from tests.notices.send_fixtures import (
    ORDER_PROGRESS,
    FakeClient,
    SentCall,
    make_notice,
    make_sender,
    make_user,
    progress_values,
    remaining,
    utcnow,
)
from tests.wechat.client_harness import DeadlineASGITransport, running_sandbox
from wxsandbox import defaults

pytestmark = pytest.mark.usefixtures("db")


def api_error(errcode: int, errmsg: str = "") -> WeChatAPIError:
    return WeChatAPIError.from_response(
        "subscribe_send", errcode, errmsg or f"error {errcode} rid: 1a2b3c4d-1a2b3c4d-1a2b3c4d"
    )


async def test_a_queued_notice_is_sent_once_with_rendered_keywords_and_a_signed_page(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a user with one unit of the order-progress template and a queued notice
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user, order_no="SO20261120000042")
    client = FakeClient(script=["9007199254740993123"])

    # when it is sent
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then WeChat got the template's keywords and a page carrying the notice's open token
    assert outcome.status is NoticeStatus.SENT
    [call] = client.calls
    assert call.openid == user.openid
    assert call.template_id == ORDER_PROGRESS
    assert call.data == {
        "character_string1": "SO20261120000042",
        "phrase2": "已投产",
        "time3": "2026年11月20日 09:30",
        "thing4": "您的订单已开始生产",
    }
    assert call.page is not None and call.page.startswith("pages/order/detail?orderNo=SO20261120000042&n=")
    token = parse_qs(urlsplit(call.page).query)["n"][0]
    assert verify_open_token(settings.session_secret, token) == notice.id
    # and the notice is SENT with WeChat's msgid, its unit spent
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENT
    assert notice.msgid == "9007199254740993123"
    assert notice.sent_at is not None and notice.attempts == 1
    assert await remaining(user) == 0


async def test_a_long_note_is_shortened_to_the_keyword_limit(settings: Settings, arq_pool: ArqRedis) -> None:
    # given a note longer than a thing keyword allows (20 characters)
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user, values=progress_values("SO20261120000001", note="您的订单" * 10))
    client = FakeClient()

    # when it is sent
    await make_sender(settings, arq_pool, client).send(notice.id)

    # then the note was cut to 19 characters and an ellipsis
    assert client.calls[0].data["thing4"] == ("您的订单" * 5)[:19] + "…"


@pytest.mark.parametrize(
    "status", [NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.SUPPRESSED, NoticeStatus.PLANNED]
)
async def test_a_notice_that_is_not_queued_is_not_sent(
    settings: Settings, arq_pool: ArqRedis, status: NoticeStatus
) -> None:
    # given a notice that is settled or not decided yet
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user, status=status)
    client = FakeClient()

    # when its send job runs
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then nothing is sent and no unit is used
    assert client.calls == []
    assert outcome.retry_in is None
    assert await remaining(user) == 1


async def test_two_runs_of_the_same_notice_at_once_call_wechat_once(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a queued notice and a slow WeChat
    user = await make_user(units={ORDER_PROGRESS: 3})
    notice = await make_notice(user)

    async def slow(call: SentCall) -> None:
        await asyncio.sleep(0.05)

    client = FakeClient(script=[slow])
    sender = make_sender(settings, arq_pool, client)

    # when two runs race (a retried job and a re-enqueue, say)
    outcomes = await asyncio.gather(sender.send(notice.id), sender.send(notice.id))

    # then one call was made, and the other run did nothing
    assert len(client.calls) == 1
    assert NoticeStatus.SENT in [o.status for o in outcomes]
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENT and notice.attempts == 1
    assert await remaining(user) == 2


async def test_while_another_send_to_the_user_runs_the_notice_waits_briefly(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given another sender holds the user's openid lock
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    assert await acquire_openid_lock(arq_pool, user.openid, 30) is not None
    client = FakeClient()

    # when the notice's job runs
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then it asks to run again shortly, untouched and without calling WeChat
    assert client.calls == []
    assert outcome.retry_in is not None and 0 < outcome.retry_in <= 1.0
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.QUEUED and notice.attempts == 0
    assert await remaining(user) == 1


async def test_sends_to_one_user_never_overlap(settings: Settings, arq_pool: ArqRedis) -> None:
    # given three queued notices of one user and a WeChat that notices overlapping sends
    user = await make_user(units={ORDER_PROGRESS: 3})
    notices = [await make_notice(user) for _ in range(3)]
    in_flight = 0
    overlaps = 0

    async def watch(call: SentCall) -> None:
        nonlocal in_flight, overlaps
        in_flight += 1
        overlaps += in_flight > 1
        await asyncio.sleep(0.02)
        in_flight -= 1

    client = FakeClient(script=[watch, watch, watch])
    sender = make_sender(settings, arq_pool, client)

    # when their jobs run at once, each retried as the sender asks
    async def run(notice_id: int) -> None:
        for _ in range(200):
            outcome = await sender.send(notice_id)
            if outcome.retry_in is None:
                return
            await asyncio.sleep(outcome.retry_in)
        raise AssertionError("never sent")

    await asyncio.gather(*(run(n.id) for n in notices))

    # then all three went out, one after the other
    assert len(client.calls) == 3 and overlaps == 0
    assert await Notice.filter(status=NoticeStatus.SENT).count() == 3


async def test_without_units_the_notice_is_suppressed_and_wechat_is_not_called(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a user who never accepted the template
    user = await make_user()
    notice = await make_notice(user)
    client = FakeClient()

    # when the notice's job runs
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then it is suppressed for want of units
    assert client.calls == []
    assert (outcome.status, outcome.reason) == (NoticeStatus.SUPPRESSED, "NO_UNITS")
    await notice.refresh_from_db()
    assert (notice.status, notice.reason, notice.unit_reserved) == (
        NoticeStatus.SUPPRESSED,
        "NO_UNITS",
        False,
    )


async def test_an_expired_notice_is_suppressed_without_spending(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a queued notice whose moment has passed
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user, expires_at=utcnow() - timedelta(minutes=1))
    client = FakeClient()

    # when its job runs
    await make_sender(settings, arq_pool, client).send(notice.id)

    # then it is suppressed as expired and the unit is kept
    await notice.refresh_from_db()
    assert (notice.status, notice.reason) == (NoticeStatus.SUPPRESSED, "EXPIRED")
    assert client.calls == [] and await remaining(user) == 1


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"order_no": "SO1", "node_phrase": "已投产", "occurred_at": "2026年11月20日 09:30"}, "{note}"),
        (progress_values("订单一号"), "character_string1"),
    ],
    ids=["missing placeholder", "value breaks the keyword rule"],
)
async def test_data_wechat_would_refuse_fails_before_any_call(
    settings: Settings, arq_pool: ArqRedis, values: dict[str, str], words: str
) -> None:
    # given a notice whose values cannot make a valid message
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user, values=values)
    client = FakeClient()

    # when its job runs
    await make_sender(settings, arq_pool, client).send(notice.id)

    # then it fails as a data bug naming the problem, nothing is sent and no unit is used
    await notice.refresh_from_db()
    assert (notice.status, notice.reason) == (NoticeStatus.FAILED, "DATA_BUG")
    assert notice.detail is not None and words in notice.detail
    assert client.calls == [] and await remaining(user) == 1


async def test_a_template_missing_from_the_file_fails_the_notice(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a notice for a template the templates file does not have
    user = await make_user(units={"tmpl-gone": 1})
    notice = await make_notice(user, template_id="tmpl-gone")
    client = FakeClient()

    # when its job runs
    await make_sender(settings, arq_pool, client).send(notice.id)

    # then it fails and says why
    await notice.refresh_from_db()
    assert (notice.status, notice.reason) == (NoticeStatus.FAILED, "TEMPLATE_NOT_CONFIGURED")
    assert client.calls == [] and await remaining(user, "tmpl-gone") == 1


@pytest.mark.parametrize(
    ("error", "floor"),
    [
        (api_error(-1, "system error"), 1.0),
        (api_error(43108, "Cannot make concurrent calls to the same OpenID"), 1.0),
        (WeChatTransportError(api="subscribe_send", detail="ConnectError", outcome_unknown=False), 0.0),
        (api_error(99999, "something new"), 1.0),
    ],
    ids=["system error", "concurrent", "connect failure", "unknown errcode"],
)
async def test_a_transient_failure_gives_the_unit_back_and_retries_later(
    settings: Settings, arq_pool: ArqRedis, error: Exception, floor: float
) -> None:
    # given a send that WeChat fails in a way worth retrying
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    client = FakeClient(script=[error])
    sender = make_sender(settings, arq_pool, client)

    # when the job runs
    outcome = await sender.send(notice.id)

    # then the notice is queued again with its unit given back, to run after a backoff
    assert outcome.status is NoticeStatus.QUEUED
    assert outcome.retry_in is not None and outcome.retry_in >= floor
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.QUEUED and not notice.unit_reserved
    assert notice.call_started_at is None
    assert await remaining(user) == 1

    # and the next run sends it
    retry = await sender.send(notice.id)
    assert retry.status is NoticeStatus.SENT
    await notice.refresh_from_db()
    assert notice.attempts == 2 and await remaining(user) == 0


async def test_after_the_last_attempt_a_transient_failure_fails_the_notice_with_its_errcode(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given WeChat is busy every time
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    client = FakeClient(script=[api_error(-1, "system error rid: 1a2b3c4d-1a2b3c4d-1a2b3c4d")] * 10)
    sender = make_sender(settings, arq_pool, client)

    # when the job runs until it stops asking for retries
    outcomes: list[SendOutcome] = []
    while not outcomes or outcomes[-1].retry_in is not None:
        outcomes.append(await sender.send(notice.id))

    # then it made max_attempts calls and the notice FAILED with WeChat's reason, unit back
    assert len(client.calls) == sender.retry.max_attempts
    await notice.refresh_from_db()
    assert (notice.status, notice.reason, notice.errcode) == (NoticeStatus.FAILED, "RETRIES_EXHAUSTED", -1)
    assert notice.detail is not None and "system error" in notice.detail
    assert await remaining(user) == 1


@pytest.mark.parametrize(
    ("errcode", "reason"),
    [
        (40037, "TEMPLATE_BUG"),
        (41030, "TEMPLATE_BUG"),
        (47003, "DATA_BUG"),
        (45168, "DATA_BUG"),
        (40003, "DROP_RECIPIENT"),
        (40001, "REFRESH_TOKEN"),
        (40013, "CREDENTIALS"),
    ],
)
async def test_a_permanent_failure_fails_the_notice_with_errcode_and_message_and_gives_the_unit_back(
    settings: Settings, arq_pool: ArqRedis, errcode: int, reason: str
) -> None:
    # given WeChat refuses the send for good
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    client = FakeClient(script=[api_error(errcode, f"refused {errcode}")])

    # when the job runs
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then the notice failed with the errcode and WeChat's message, and the unit is back
    assert outcome.retry_in is None
    await notice.refresh_from_db()
    assert (notice.status, notice.reason, notice.errcode) == (NoticeStatus.FAILED, reason, errcode)
    assert notice.detail == f"refused {errcode}"
    assert await remaining(user) == 1


async def test_43101_voids_the_users_units_of_the_template(settings: Settings, arq_pool: ArqRedis) -> None:
    # given our ledger thinks there are 3 units, but WeChat says none are left
    user = await make_user(units={ORDER_PROGRESS: 3})
    notice = await make_notice(user)
    client = FakeClient(script=[api_error(43101, "user refuse to accept the msg")])

    # when the job runs
    await make_sender(settings, arq_pool, client).send(notice.id)

    # then the notice failed (QUOTA_EXHAUSTED) and no unit is left to promise
    await notice.refresh_from_db()
    assert (notice.status, notice.reason, notice.errcode) == (NoticeStatus.FAILED, "QUOTA_EXHAUSTED", 43101)
    assert not notice.unit_reserved
    assert await remaining(user) == 0


async def test_45009_defers_the_notice_to_tomorrow_morning(settings: Settings, arq_pool: ArqRedis) -> None:
    # given the app's daily API quota is used up
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    client = FakeClient(script=[api_error(45009, "reach max api daily quota limit")])

    # when the job runs
    before = utcnow()
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then the notice waits until 00:10 tomorrow (business time) with its unit back
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SCHEDULED
    assert notice.scheduled_for is not None
    local = notice.scheduled_for.astimezone(settings.zone)
    assert (local.hour, local.minute) == (0, 10)
    assert local.date() == before.astimezone(settings.zone).date() + timedelta(days=1)
    assert outcome.retry_in is not None and outcome.retry_in == pytest.approx(
        (notice.scheduled_for - before).total_seconds(), abs=5
    )
    assert await remaining(user) == 1


def test_next_day_at_follows_the_business_time_zone() -> None:
    # given 23:30 in Shanghai (15:30 UTC)
    zone = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)

    # then "tomorrow 00:10" is 40 minutes later, not a day and a half later
    assert next_day_at(now, zone) == datetime(2026, 11, 20, 16, 10, tzinfo=UTC)


async def test_an_unknown_outcome_keeps_the_unit_and_is_never_sent_again(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given the send timed out after it was written
    user = await make_user(units={ORDER_PROGRESS: 2})
    notice = await make_notice(user)
    client = FakeClient(
        script=[WeChatTransportError(api="subscribe_send", detail="ReadTimeout", outcome_unknown=True)]
    )
    sender = make_sender(settings, arq_pool, client)

    # when the job runs, and runs again
    first = await sender.send(notice.id)
    second = await sender.send(notice.id)

    # then it stays SENDING with an unknown outcome, the unit held, and WeChat was called once
    assert first.retry_in is None and second.retry_in is None
    assert len(client.calls) == 1
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENDING
    assert notice.outcome_unknown_at is not None and notice.unit_reserved
    assert await remaining(user) == 1


async def test_a_cancelled_call_is_treated_as_an_unknown_outcome(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given WeChat hangs and the job is cancelled (job timeout or shutdown) during the call
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    called = asyncio.Event()

    async def hang(call: SentCall) -> None:
        called.set()
        await asyncio.sleep(3600)

    client = FakeClient(script=[hang])
    task = asyncio.create_task(make_sender(settings, arq_pool, client).send(notice.id))
    await asyncio.wait_for(called.wait(), 5)

    # when the job is cancelled
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # then the notice waits for the outcome with its unit held, and the user's lock is free
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.SENDING and notice.outcome_unknown_at is not None
    assert notice.unit_reserved and await remaining(user) == 0
    assert await acquire_openid_lock(arq_pool, user.openid, 1) is not None


async def test_a_job_cancelled_before_the_call_puts_the_notice_back(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given the reservation is slow and the job is cancelled before WeChat is called
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    reserving = asyncio.Event()

    class SlowLedger:
        async def reserve_unit(self, user_id: int, template_id: str) -> bool:
            reserving.set()
            await asyncio.sleep(3600)
            return True

        async def release_unit(self, user_id: int, template_id: str, *, reserved_at: Any = None) -> bool:
            return True

        async def zero_units(
            self, user_id: int, template_id: str, status: Any = None, *, as_of: Any = None
        ) -> bool:
            return True

    client = FakeClient()
    task = asyncio.create_task(make_sender(settings, arq_pool, client, ledger=SlowLedger()).send(notice.id))
    await asyncio.wait_for(reserving.wait(), 5)

    # when the job is cancelled
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # then the notice is QUEUED again, holding nothing, and nothing was sent
    await notice.refresh_from_db()
    assert notice.status is NoticeStatus.QUEUED and not notice.unit_reserved
    assert client.calls == [] and await remaining(user) == 1


async def test_a_due_scheduled_notice_is_decided_again_then_sent(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a notice deferred until a moment that has passed
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(
        user, status=NoticeStatus.SCHEDULED, scheduled_for=utcnow() - timedelta(seconds=1)
    )
    decided: list[int] = []

    async def reconsider(row: Notice, now: datetime) -> None:
        decided.append(row.id)
        await Notice.filter(id=row.id).update(status=NoticeStatus.QUEUED)

    client = FakeClient()

    # when its job runs
    outcome = await make_sender(settings, arq_pool, client, reconsider=reconsider).send(notice.id)

    # then the policy decided again and the notice went out
    assert decided == [notice.id]
    assert outcome.status is NoticeStatus.SENT and len(client.calls) == 1


async def test_a_scheduled_notice_run_early_waits_for_its_time(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    # given a notice scheduled an hour ahead
    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(
        user, status=NoticeStatus.SCHEDULED, scheduled_for=utcnow() + timedelta(hours=1)
    )
    client = FakeClient()

    # when its job runs now
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then it asks to run again in about an hour, and nothing is sent
    assert outcome.retry_in == pytest.approx(3600, abs=5)
    assert client.calls == []


async def test_a_sent_event_that_arrives_before_the_answer_leaves_one_sent_notice(
    settings: Settings, arq_pool: ArqRedis, orm: TortoiseContext
) -> None:
    # given WeChat pushes subscribe_msg_sent_event before the send's own answer is read
    from bff.notices.delivery import SentEventMatch, record_sent_event
    from bff.wechat.events import SentEvent

    user = await make_user(units={ORDER_PROGRESS: 1})
    notice = await make_notice(user)
    matches: list[SentEventMatch] = []

    async def push_first(call: SentCall) -> str:
        event = SentEvent(
            openid=user.openid,
            template_id=ORDER_PROGRESS,
            msgid="777",
            error_code=0,
            error_status="success",
            create_time=int(utcnow().timestamp()),
        )
        matches.append(await record_sent_event(event, user))
        return "777"

    client = FakeClient(script=[push_first])

    # when the send completes
    outcome = await make_sender(settings, arq_pool, client).send(notice.id)

    # then the notice is SENT once with that msgid, its delivery recorded
    assert matches == [SentEventMatch.RECONCILED]
    assert outcome.status is NoticeStatus.SENT
    await notice.refresh_from_db()
    assert (notice.status, notice.msgid, notice.reason, notice.delivery_status) == (
        NoticeStatus.SENT,
        "777",
        None,
        "success",
    )
    assert await remaining(user) == 0


# --- failures before the send request (the access token) -------------------------------------

TOKEN_FAULTS = {
    "token endpoint times out": {"token_timeout_share": 1.0, "timeout_hold_ms": 3000},
    "token endpoint answers 502": {"token_server_error_share": 1.0},
    "token endpoint answers no JSON": {"token_not_json_share": 1.0},
}


@pytest.mark.parametrize("faults", TOKEN_FAULTS.values(), ids=TOKEN_FAULTS.keys())
async def test_a_failed_token_fetch_retries_the_notice_with_its_unit_back(
    settings: Settings, arq_pool: ArqRedis, faults: dict[str, Any]
) -> None:
    async with running_sandbox(
        transport=DeadlineASGITransport, http_timeout=httpx.Timeout(5.0, read=0.3)
    ) as sb:
        # given a user with one unit, and WeChat's token endpoint failing this way
        user = await make_user(units={ORDER_PROGRESS: 1})
        await sb.subscribe(user.openid, {ORDER_PROGRESS: "accept"}, push=False)
        notice = await make_notice(user)
        await sb.faults(**faults)
        sender = make_sender(settings, arq_pool, sb.client(arq_pool))

        # when the notice's job runs
        outcome = await sender.send(notice.id)

        # then nothing reached WeChat: the notice is queued for a retry with its unit back
        assert outcome.status is NoticeStatus.QUEUED and outcome.retry_in is not None
        await notice.refresh_from_db()
        assert notice.status is NoticeStatus.QUEUED and not notice.unit_reserved
        assert notice.call_started_at is None and notice.outcome_unknown_at is None
        assert await remaining(user) == 1
        assert await sb.inbox() == []

        # and long after the outcome timeout the sweeper has not counted it as sent
        report = await sweep(arq_pool, now=utcnow() + timedelta(hours=1), outcome_timeout=timedelta(0))
        assert report.assumed_sent == 0

        # and once the token endpoint works again the retry sends it, spending the unit once
        await sb.faults(**dict.fromkeys(faults, 0))
        assert (await sender.send(notice.id)).status is NoticeStatus.SENT
        assert len(await sb.inbox(user.openid)) == 1
        assert await remaining(user) == 0


async def test_a_job_cancelled_while_another_process_refreshes_the_token_puts_the_notice_back(
    settings: Settings, arq_pool: ArqRedis
) -> None:
    async with running_sandbox() as sb:
        # given another process is refreshing the access token (it holds the lock, nothing cached)
        user = await make_user(units={ORDER_PROGRESS: 1})
        await sb.subscribe(user.openid, {ORDER_PROGRESS: "accept"}, push=False)
        notice = await make_notice(user)
        await arq_pool.set(f"{constants.WECHAT_TOKEN_LOCK_KEY}:{defaults.APPID}", "other", px=60_000)
        waiting = asyncio.Event()

        class WatchedTokens(TokenCache):
            async def get(self, fetch: Any) -> str:
                waiting.set()
                return await super().get(fetch)

        client = sb.client(arq_pool, token_cache=WatchedTokens(arq_pool, defaults.APPID))
        task = asyncio.create_task(make_sender(settings, arq_pool, client).send(notice.id))
        await asyncio.wait_for(waiting.wait(), 5)

        # when the job is cancelled while it waits for that token (arq's job timeout)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        # then the notice is QUEUED again, holding nothing, and nothing was sent
        await notice.refresh_from_db()
        assert notice.status is NoticeStatus.QUEUED and not notice.unit_reserved
        assert notice.call_started_at is None and notice.outcome_unknown_at is None
        assert await remaining(user) == 1
        assert await sb.inbox() == []


def test_a_send_job_outlasts_the_token_wait_with_room_for_its_own_call() -> None:
    # a job that waited the longest for another process's token still has a whole send call's
    # connect and read timeouts before arq cancels it
    call = (HTTP_TIMEOUT.connect or 0) + (HTTP_TIMEOUT.read or 0)
    assert constants.WECHAT_TOKEN_WAIT_S + call <= constants.SEND_JOB_TIMEOUT_S
    assert constants.WECHAT_TOKEN_WAIT_S < constants.WECHAT_TOKEN_LOCK_TTL_S
