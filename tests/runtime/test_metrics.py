"""/metrics beyond the sends: the queue's backlog and families, supply-chain commands by status,
scan progress, failed token fetches, and the per-process cache of what costs a query."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.models import User
from bff.models.commands import CommandStatus, CommandType, OutboxCommand
from bff.runtime.metrics import job_family
from bff.runtime.settings import Settings
from bff.supply_chain.outbox import add_command, new_command_id
from bff.wechat.tokens import FetchedToken, TokenCache
from tasks.lifecycle import scan_replenishment
from tasks.offers import scan_offers
from tests.runtime.test_metrics_sends import series


async def scrape(client: httpx.AsyncClient) -> str:
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    return answer.text


async def test_the_queue_shows_its_backlog_and_its_families(
    db: TortoiseContext, arq_pool: ArqRedis, client: httpx.AsyncClient
) -> None:
    # given two sends and a planning job due now, a command due in an hour and an unnamed job
    await arq_pool.enqueue_job("send_notice", 1, _job_id="send:1")
    await arq_pool.enqueue_job("send_notice", 2, _job_id="send:2")
    await arq_pool.enqueue_job("plan_notices_for_event", 3, _job_id="plan:3")
    await arq_pool.enqueue_job("send_command", "x", _job_id="command:x", _defer_by=3600)
    await arq_pool.enqueue_job("heartbeat")

    # when Prometheus scrapes
    text = await scrape(client)

    # then the queue's size, what is due of it, and its families are shown
    assert series(text, "lvyue_queue_jobs") == {'{queue="arq:queue"}': 5.0}
    assert series(text, "lvyue_queue_due_jobs") == {'{queue="arq:queue"}': 4.0}
    assert series(text, "lvyue_queue_family_jobs") == {
        '{family="command",queue="arq:queue"}': 1.0,
        '{family="other",queue="arq:queue"}': 1.0,
        '{family="plan",queue="arq:queue"}': 1.0,
        '{family="send",queue="arq:queue"}': 2.0,
    }
    assert series(text, "lvyue_queue_family_counted_jobs") == {'{queue="arq:queue"}': 5.0}


def test_a_job_family_is_its_id_prefix() -> None:
    assert [job_family(i) for i in ("send:42", "cron:heartbeat:1700", "0123abcdef", ":x")] == [
        "send",
        "cron",
        "other",
        "other",
    ]


async def test_supply_chain_commands_are_shown_by_status(
    db: TortoiseContext, arq_pool: ArqRedis, client: httpx.AsyncClient
) -> None:
    # given three decisions written to the outbox, one of which the receiver refused for good
    ids = [new_command_id() for _ in range(3)]
    for index, command_id in enumerate(ids):
        await add_command(
            command_id=command_id,
            command_type=CommandType.RECEIPT_CONFIRMED,
            decision_key=f"metrics:{command_id}",
            order_no=f"SOM{index}",
            payload={"orderNo": f"SOM{index}"},
            now=datetime.now(UTC),
        )
    await OutboxCommand.filter(command_id=ids[0]).update(status=CommandStatus.FAILED)

    # when Prometheus scrapes
    text = await scrape(client)

    # then each status has its gauge, the empty ones at zero
    assert series(text, "lvyue_supply_chain_commands") == {
        '{status="FAILED"}': 1.0,
        '{status="PENDING"}': 2.0,
        '{status="SENDING"}': 0.0,
        '{status="SENT"}': 0.0,
    }


async def test_the_database_figures_are_read_once_per_few_seconds_per_process(
    db: TortoiseContext, arq_pool: ArqRedis, app: object, client: httpx.AsyncClient
) -> None:
    # given a scrape that saw no command
    assert series(await scrape(client), "lvyue_supply_chain_commands")['{status="PENDING"}'] == 0.0
    # when a command is written and Prometheus scrapes again at once
    await add_command(
        command_id=new_command_id(),
        command_type=CommandType.RECEIPT_CONFIRMED,
        decision_key="metrics:cached",
        order_no="SOC1",
        payload={"orderNo": "SOC1"},
        now=datetime.now(UTC),
    )
    cached = series(await scrape(client), "lvyue_supply_chain_commands")
    # then the figure is the cached one until the cache is cleared (its time is up)
    assert cached['{status="PENDING"}'] == 0.0
    app.state.metrics_cache.clear()  # type: ignore[attr-defined]
    assert series(await scrape(client), "lvyue_supply_chain_commands")['{status="PENDING"}'] == 1.0


async def test_scans_show_when_their_last_run_started_and_ended_and_the_rows_it_walked(
    db: TortoiseContext, arq_pool: ArqRedis, settings: Settings, client: httpx.AsyncClient
) -> None:
    # given three users, and the offers scan and the replenishment scan run once each
    for index in range(3):
        await User.create(openid=f"oMETRICS_scan_user_{index:09d}")
    before = time.time()
    ctx = {"settings": settings, "redis": arq_pool}
    await scan_offers(ctx)
    await scan_replenishment(ctx)
    after = time.time()

    # when Prometheus scrapes
    text = await scrape(client)

    # then the offers scan walked the three users in one run that finished its pass
    assert series(text, "lvyue_scan_last_rows") == {'{scan="offers"}': 3.0, '{scan="replenishment"}': 0.0}
    assert series(text, "lvyue_scan_rows_total")['{scan="offers"}'] == 3.0
    assert series(text, "lvyue_scan_runs_total") == {'{scan="offers"}': 1.0, '{scan="replenishment"}': 1.0}
    assert series(text, "lvyue_scan_passes_total") == {'{scan="offers"}': 1.0, '{scan="replenishment"}': 1.0}
    started = series(text, "lvyue_scan_last_started_timestamp_seconds")['{scan="offers"}']
    finished = series(text, "lvyue_scan_last_finished_timestamp_seconds")['{scan="offers"}']
    assert before <= started <= finished <= after
    # and no pass is half done
    assert set(series(text, "lvyue_scan_cursor").values()) == {0.0}


async def test_a_failed_token_fetch_is_counted(
    db: TortoiseContext, arq_pool: ArqRedis, client: httpx.AsyncClient
) -> None:
    # given a token fetch that failed (WeChat did not answer)
    async def unanswered() -> FetchedToken:
        raise TimeoutError("stable_token: no answer")

    with pytest.raises(TimeoutError):
        await TokenCache(arq_pool, "wxmetrics").get(unanswered)

    # then it is on /metrics
    assert series(await scrape(client), "lvyue_wechat_token_refreshes_total") == {'{outcome="failed"}': 1.0}
