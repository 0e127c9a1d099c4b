"""The one-accept rule: every order in which a report and a push of the same accept can arrive."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bff.consent import ledger
from bff.consent.matching import MATCH_WINDOW, push_key, record_accept, report_key
from bff.models import ConsentCredit, CreditSource, User

T = "tmpl-order-shipping-0001"
T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


async def report(user: User, request_id: str, at: datetime, template_id: str = T) -> bool:
    outcome = await record_accept(
        user.id,
        template_id,
        source=CreditSource.REPORT,
        source_key=report_key(request_id, template_id),
        occurred_at=at,
    )
    return outcome.granted


async def push(user: User, at: datetime, template_id: str = T) -> bool:
    create_time = int(at.timestamp())
    outcome = await record_accept(
        user.id,
        template_id,
        source=CreditSource.PUSH,
        source_key=push_key(user.openid, template_id, create_time, "accept", "0"),
        occurred_at=at,
    )
    return outcome.granted


async def test_report_then_push_counts_one_unit(user: User) -> None:
    # when the mini-program reports the accept, then WeChat pushes it
    await report(user, "req-1", T0 + timedelta(seconds=2))
    await push(user, T0)

    # then
    assert await ledger.remaining(user.id, T) == 1


async def test_push_then_report_counts_one_unit(user: User) -> None:
    # when
    await push(user, T0)
    await report(user, "req-1", T0 + timedelta(seconds=3))

    # then
    assert await ledger.remaining(user.id, T) == 1


async def test_the_same_report_twice_counts_once(user: User) -> None:
    # when the mini-program retries its report (same requestId)
    first = await report(user, "req-1", T0)
    second = await report(user, "req-1", T0 + timedelta(seconds=5))

    # then
    assert (first, second) == (True, False)
    assert await ledger.remaining(user.id, T) == 1


async def test_the_same_push_twice_counts_once(user: User) -> None:
    # when WeChat retries the push (same body)
    await push(user, T0)
    await push(user, T0)

    # then
    assert await ledger.remaining(user.id, T) == 1
    assert await ConsentCredit.filter(user_id=user.id).count() == 1


async def test_a_retried_push_after_its_report_still_counts_once(user: User) -> None:
    # when report, push, and the push again
    await report(user, "req-1", T0)
    await push(user, T0)
    await push(user, T0)

    # then
    assert await ledger.remaining(user.id, T) == 1


async def test_two_popups_accepted_give_two_units_in_any_order(user: User) -> None:
    # given two popups a minute apart, each reported and pushed
    first, second = T0, T0 + timedelta(minutes=1)

    # when everything arrives interleaved: both reports first, then both pushes
    await report(user, "req-1", first)
    await report(user, "req-2", second)
    await push(user, second)
    await push(user, first)

    # then
    assert await ledger.remaining(user.id, T) == 2


async def test_two_popups_where_the_pushes_come_first_give_two_units(user: User) -> None:
    # when
    await push(user, T0)
    await push(user, T0 + timedelta(minutes=1))
    await report(user, "req-1", T0 + timedelta(seconds=1))
    await report(user, "req-2", T0 + timedelta(minutes=1, seconds=1))

    # then
    assert await ledger.remaining(user.id, T) == 2


async def test_a_push_without_a_report_counts_one_unit(user: User) -> None:
    # when the client never reported (closed the app, or no request at all)
    granted = await push(user, T0)

    # then
    assert granted is True
    assert await ledger.remaining(user.id, T) == 1


async def test_a_report_without_a_push_counts_one_unit(user: User) -> None:
    # when WeChat never pushes ("always keep" answers silently, without a popup)
    granted = await report(user, "req-1", T0)

    # then
    assert granted is True
    assert await ledger.remaining(user.id, T) == 1


async def test_a_push_after_the_window_counts_separately(user: User) -> None:
    # given a report
    await report(user, "req-1", T0)

    # when the push of that accept arrives more than the window later
    granted = await push(user, T0 + MATCH_WINDOW + timedelta(seconds=1))

    # then it counts as its own accept (the documented over-count of one)
    assert granted is True
    assert await ledger.remaining(user.id, T) == 2


async def test_a_push_just_inside_the_window_is_matched(user: User) -> None:
    # given
    await report(user, "req-1", T0)

    # when
    granted = await push(user, T0 + MATCH_WINDOW)

    # then
    assert granted is False
    assert await ledger.remaining(user.id, T) == 1


async def test_reports_never_match_reports_and_pushes_never_match_pushes(user: User) -> None:
    # when two reports of two requests and two distinct pushes arrive close together
    await report(user, "req-1", T0)
    await report(user, "req-2", T0 + timedelta(seconds=1))
    await push(user, T0 + timedelta(seconds=2), template_id="tmpl-b")
    await push(user, T0 + timedelta(seconds=3), template_id="tmpl-b")

    # then each is an accept of its own
    assert await ledger.remaining(user.id, T) == 2
    assert await ledger.remaining(user.id, "tmpl-b") == 2


async def test_a_report_and_a_push_of_different_templates_do_not_match(user: User) -> None:
    # when
    await report(user, "req-1", T0, template_id=T)
    await push(user, T0, template_id="tmpl-b")

    # then
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.remaining(user.id, "tmpl-b") == 1


async def test_a_report_and_a_push_of_different_users_do_not_match(user: User, other_user: User) -> None:
    # when
    await report(user, "req-1", T0)
    await push(other_user, T0)

    # then
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.remaining(other_user.id, T) == 1


async def test_a_push_pairs_with_the_report_closest_in_time(user: User) -> None:
    # given two unmatched reports 5 minutes apart
    await report(user, "req-1", T0)
    await report(user, "req-2", T0 + timedelta(minutes=5))

    # when a push close to the second arrives
    await push(user, T0 + timedelta(minutes=5, seconds=2))

    # then it is paired with the second report, and the first stays unmatched
    req1 = await ConsentCredit.get(source_key=report_key("req-1", T))
    req2 = await ConsentCredit.get(source_key=report_key("req-2", T))
    assert req1.matched_id is None
    assert req2.matched_id is not None
    assert await ledger.remaining(user.id, T) == 2


async def test_concurrent_arrivals_of_one_accept_count_once(user: User) -> None:
    """A report, a push and their retries at the same moment: one unit.

    On PostgreSQL these run in concurrent transactions and the ledger-row lock is what keeps them
    from both granting; on SQLite tortoise serialises the transactions, so it proves less there.
    """
    # when
    await asyncio.gather(
        report(user, "req-1", T0),
        push(user, T0),
        report(user, "req-1", T0),
        push(user, T0),
    )

    # then
    assert await ledger.remaining(user.id, T) == 1


async def test_many_concurrent_popups_each_reported_and_pushed_count_once_each(user: User) -> None:
    """Ten accepts a minute apart, their reports and pushes racing: ten units (PostgreSQL proves it)."""
    # when
    moments = [T0 + timedelta(minutes=i) for i in range(10)]
    await asyncio.gather(
        *(report(user, f"req-{i}", at) for i, at in enumerate(moments)),
        *(push(user, at) for at in moments),
    )

    # then
    assert await ledger.remaining(user.id, T) == 10
    assert await ConsentCredit.filter(user_id=user.id, granted=True).count() == 10
