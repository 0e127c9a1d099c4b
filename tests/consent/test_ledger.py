from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bff.consent import ledger
from bff.consent.ledger import utcnow
from bff.models import ConsentLedger, User, WeChatStatus

T = "tmpl-order-shipping-0001"


async def test_a_template_never_granted_has_nothing_left_and_was_not_asked(user: User) -> None:
    # when
    entry = await ledger.entry(user.id, T)

    # then
    assert entry.remaining == 0
    assert entry.wechat_status is WeChatStatus.NOT_ASKED
    assert await ledger.reserve_unit(user.id, T) is False


async def test_each_credit_buys_one_send(user: User) -> None:
    # given two accepts
    await ledger.credit(user.id, T)
    await ledger.credit(user.id, T)

    # when three sends try to reserve
    results = [await ledger.reserve_unit(user.id, T) for _ in range(3)]

    # then two get a unit and nothing is left
    assert results == [True, True, False]
    assert await ledger.remaining(user.id, T) == 0
    assert await ledger.status(user.id, T) is WeChatStatus.ACCEPT


async def test_units_belong_to_one_user_and_one_template(user: User, other_user: User) -> None:
    # given
    await ledger.credit(user.id, T, 2)

    # then
    assert await ledger.remaining(other_user.id, T) == 0
    assert await ledger.remaining(user.id, "tmpl-other") == 0
    assert await ledger.reserve_unit(other_user.id, T) is False


async def test_100_concurrent_reserves_against_5_units_spend_exactly_5(user: User) -> None:
    """100 tasks race for 5 units; exactly 5 win and the ledger ends at 0 remaining.

    On PostgreSQL the tasks run on a connection pool and their UPDATEs really overlap, so this
    proves the conditional UPDATE cannot oversell. On SQLite tortoise serialises every statement
    on its single connection, so the same test passes even for a naive read-then-write: there it
    only proves the counting, not the concurrency (stack-notes §3.3).
    """
    # given
    await ledger.credit(user.id, T, 5)

    # when
    results = await asyncio.gather(*(ledger.reserve_unit(user.id, T) for _ in range(100)))

    # then
    assert sum(results) == 5
    row = await ConsentLedger.get(user_id=user.id, template_id=T)
    assert (row.granted, row.spent) == (5, 5)
    assert await ledger.remaining(user.id, T) == 0


async def test_concurrent_credits_and_reserves_never_go_negative(user: User) -> None:
    """Credits racing reserves (and the first credit creating the row): no lost grants, no oversell.

    Meaningful on PostgreSQL (concurrent transactions); on SQLite the statements are serialised.
    """
    # when 20 credits race 40 reserves on a template nobody has a row for yet
    credits = [ledger.credit(user.id, T) for _ in range(20)]
    reserves = [ledger.reserve_unit(user.id, T) for _ in range(40)]
    results = await asyncio.gather(*credits, *reserves)

    # then every credit counted, and spent never passed granted
    reserved = sum(1 for result in results[20:] if result)
    row = await ConsentLedger.get(user_id=user.id, template_id=T)
    assert row.granted == 20
    assert row.spent == reserved <= 20
    assert await ledger.remaining(user.id, T) == 20 - reserved
    assert await ConsentLedger.filter(user_id=user.id).count() == 1


async def test_release_gives_the_unit_back(user: User) -> None:
    # given a unit reserved for a send that then failed in a retryable way
    await ledger.credit(user.id, T)
    assert await ledger.reserve_unit(user.id, T)

    # when
    released = await ledger.release_unit(user.id, T)

    # then it can be used again
    assert released is True
    assert await ledger.remaining(user.id, T) == 1


async def test_release_never_makes_spent_negative(user: User) -> None:
    # given nothing was reserved
    await ledger.credit(user.id, T)

    # when
    released = await ledger.release_unit(user.id, T)

    # then
    assert released is False
    row = await ConsentLedger.get(user_id=user.id, template_id=T)
    assert (row.granted, row.spent) == (1, 0)


async def test_release_after_units_were_voided_gives_nothing_back(user: User) -> None:
    # given a unit reserved, then the user turned the template off in WeChat's settings
    await ledger.credit(user.id, T, 3)
    reserved_at = datetime.now(UTC)
    assert await ledger.reserve_unit(user.id, T)
    await ledger.zero_units(user.id, T, WeChatStatus.REJECT)

    # when the send that held the unit gives it back
    released = await ledger.release_unit(user.id, T, reserved_at=reserved_at)

    # then nothing reappears
    assert released is False
    assert await ledger.remaining(user.id, T) == 0


async def test_zero_units_voids_what_is_left_and_sets_the_status(user: User) -> None:
    # given
    await ledger.credit(user.id, T, 3)

    # when WeChat said the user turned it off
    await ledger.zero_units(user.id, T, WeChatStatus.REJECT)

    # then
    assert await ledger.remaining(user.id, T) == 0
    assert await ledger.status(user.id, T) is WeChatStatus.REJECT
    assert await ledger.reserve_unit(user.id, T) is False


async def test_zero_units_keeps_units_of_an_accept_newer_than_the_refusal(user: User) -> None:
    # given a refusal at 10:00 that is processed after an accept at 10:05
    refused_at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    await ledger.credit(user.id, T, at=refused_at + timedelta(minutes=5))

    # when
    changed = await ledger.zero_units(user.id, T, WeChatStatus.REJECT, as_of=refused_at)

    # then the newer unit survives and the status stays ACCEPT
    assert changed is False
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.status(user.id, T) is WeChatStatus.ACCEPT


async def test_a_banned_template_cannot_be_reserved_until_wechat_accepts_again(user: User) -> None:
    # given units, then WeChat bans the template
    await ledger.credit(user.id, T, 2)
    await ledger.ban(user.id, T)

    # then
    assert await ledger.reserve_unit(user.id, T) is False
    assert (await ledger.entry(user.id, T)).refused_for_good

    # when WeChat later accepts again
    await ledger.credit(user.id, T)

    # then the template is usable with all its units
    assert await ledger.status(user.id, T) is WeChatStatus.ACCEPT
    assert await ledger.remaining(user.id, T) == 3


async def test_entries_reads_several_templates_at_once(user: User) -> None:
    # given
    await ledger.credit(user.id, T, 2)
    await ledger.set_status(user.id, "tmpl-b", WeChatStatus.REJECT, always_keep=True)

    # when
    found = await ledger.entries(user.id, [T, "tmpl-b", "tmpl-c"])

    # then
    assert found[T].remaining == 2
    assert found["tmpl-b"].refused_for_good
    assert found["tmpl-c"].wechat_status is WeChatStatus.NOT_ASKED


# ---------------------------------------------------------------- voids handled late (issue 8, item 4)


async def test_a_void_handled_after_a_newer_accept_voids_the_older_units_and_keeps_the_newer(
    user: User,
) -> None:
    # given two units from accepts long ago, the user turned the template off at 10:00 and
    # accepted it again at 10:05; the accept was handled first
    refused_at = utcnow() - timedelta(minutes=30)
    await ledger.credit(user.id, T, 2, at=refused_at - timedelta(days=2))
    await ledger.credit(user.id, T, at=refused_at + timedelta(minutes=5))

    # when the change event of 10:00 is handled
    voided = await ledger.zero_units(user.id, T, WeChatStatus.REJECT, as_of=refused_at)

    # then the two older units are gone, the newer one is left, and the newer accept's status stands
    assert voided is True
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.status(user.id, T) is WeChatStatus.ACCEPT


async def test_a_void_handled_before_the_newer_accept_ends_the_same(user: User) -> None:
    # given the same story, handled in the order it happened
    refused_at = utcnow() - timedelta(minutes=30)
    await ledger.credit(user.id, T, 2, at=refused_at - timedelta(days=2))

    # when
    await ledger.zero_units(user.id, T, WeChatStatus.REJECT, as_of=refused_at)
    await ledger.credit(user.id, T, at=refused_at + timedelta(minutes=5))

    # then
    assert await ledger.remaining(user.id, T) == 1
    assert await ledger.status(user.id, T) is WeChatStatus.ACCEPT


async def test_a_late_void_counts_a_send_that_used_the_newer_unit(user: User) -> None:
    # given old units, a void at 10:00, a new accept at 10:05, and a send after it that used it
    refused_at = utcnow() - timedelta(minutes=30)
    await ledger.credit(user.id, T, 2, at=refused_at - timedelta(days=2))
    await ledger.credit(user.id, T, at=refused_at + timedelta(minutes=5))
    assert await ledger.reserve_unit(user.id, T)

    # when the void is handled
    await ledger.zero_units(user.id, T, WeChatStatus.REJECT, as_of=refused_at)

    # then WeChat holds nothing: the old units are void and the new one is spent
    assert await ledger.remaining(user.id, T) == 0


async def test_a_43101_handled_after_a_newer_accept_keeps_only_the_newer_unit(user: User) -> None:
    # given units our ledger believed in, a send started and answered 43101; meanwhile the user
    # accepted again
    await ledger.credit(user.id, T, 3, at=utcnow() - timedelta(days=1))
    assert await ledger.reserve_unit(user.id, T)
    call_started_at = utcnow()
    await ledger.credit(user.id, T, at=call_started_at + timedelta(seconds=2))

    # when the 43101 is handled
    await ledger.zero_units(user.id, T, as_of=call_started_at)

    # then only the newer accept's unit is left
    assert await ledger.remaining(user.id, T) == 1


async def test_an_older_void_handled_after_a_newer_one_changes_nothing_more(user: User) -> None:
    # given a void at 10:10 already handled, then an accept at 10:20
    ten = utcnow() - timedelta(hours=1)
    await ledger.credit(user.id, T, 2, at=ten - timedelta(days=1))
    await ledger.zero_units(user.id, T, WeChatStatus.REJECT, as_of=ten + timedelta(minutes=10))
    await ledger.credit(user.id, T, at=ten + timedelta(minutes=20))

    # when a void of 10:00 arrives late
    await ledger.zero_units(user.id, T, WeChatStatus.REJECT, as_of=ten)

    # then the accept of 10:20 stands
    assert await ledger.remaining(user.id, T) == 1


async def test_a_send_reserved_after_a_late_void_moment_is_given_back_when_it_fails(user: User) -> None:
    # given a void at 10:00 handled after a new accept (10:05) and a reservation of that unit
    refused_at = utcnow() - timedelta(minutes=30)
    await ledger.credit(user.id, T, 2, at=refused_at - timedelta(days=2))
    await ledger.credit(user.id, T, at=refused_at + timedelta(minutes=5))
    reserved_at = utcnow()
    assert await ledger.reserve_unit(user.id, T)
    await ledger.zero_units(user.id, T, WeChatStatus.REJECT, as_of=refused_at)
    assert await ledger.remaining(user.id, T) == 0

    # when that send fails and gives its unit back
    released = await ledger.release_unit(user.id, T, reserved_at=reserved_at)

    # then the newer accept's unit is there again, and not more
    assert released is True
    assert await ledger.remaining(user.id, T) == 1


@pytest.mark.postgres_only
async def test_a_change_event_racing_a_newer_accept_leaves_exactly_the_newer_unit(user: User) -> None:
    """The change event (void as of 10:00) and the newer accept (10:05) are handled at the same
    time, many times over; on PostgreSQL they really overlap. Each time one unit is left."""
    refused_at = utcnow() - timedelta(minutes=30)
    templates = [f"tmpl-race-{index}" for index in range(20)]
    for template_id in templates:
        await ledger.credit(user.id, template_id, 2, at=refused_at - timedelta(days=2))

    # when
    await asyncio.gather(
        *(
            step
            for template_id in templates
            for step in (
                ledger.zero_units(user.id, template_id, WeChatStatus.REJECT, as_of=refused_at),
                ledger.credit(user.id, template_id, at=refused_at + timedelta(minutes=5)),
            )
        )
    )

    # then
    assert [await ledger.remaining(user.id, template_id) for template_id in templates] == [1] * 20
