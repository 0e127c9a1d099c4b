from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bff.consent import ledger
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
