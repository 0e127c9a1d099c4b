"""What the people on call see of sends on /metrics, after real sends through the WeChat sandbox.

The BFF, the sandbox and real arq workers run as in tests/e2e/world.py; the sends are counted by
the workers into Redis and shown by the web process's /metrics.
"""

from __future__ import annotations

import pytest
from arq.connections import ArqRedis

from bff.models import Notice, NoticeStatus
from bff.notices.jobs import enqueue_send
from bff.runtime.settings import Settings
from tests.conftest import WorkerFactory
from tests.e2e.world import World, open_world
from tests.notices.send_fixtures import ORDER_PROGRESS, make_notice, make_user

pytestmark = pytest.mark.usefixtures("db")

ACCEPTED = "oMETRICS_accepted_user_00001"
UNKNOWN_TO_WECHAT = "oMETRICS_unknown_user_000002"
WITHOUT_UNITS = "oMETRICS_no_units_user_00003"


def series(text: str, name: str) -> dict[str, float]:
    """`{labels: value}` of one metric in Prometheus text (`{}` key for a series without labels)."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, _, value = line.rpartition(" ")
            found[labels.removeprefix(name) or "{}"] = float(value)
    return found


async def scrape(world: World) -> str:
    answer = await world.bff.get("/metrics")
    assert answer.status_code == 200
    return answer.text


async def send(world: World, openid: str, units: int) -> Notice:
    user = await make_user(units={ORDER_PROGRESS: units}, openid=openid)
    notice = await make_notice(user)
    await enqueue_send(world.arq, notice.id)
    await world.settle()
    return await Notice.get(id=notice.id)


async def test_sends_are_counted_by_outcome_and_errcode_with_their_latency(
    settings: Settings, arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    async with open_world(settings, arq_pool, worker) as world:
        # given a user who accepted the template on WeChat, one WeChat does not know (40003),
        # and one without any unit left
        await world.sandbox.subscribe(ACCEPTED, {ORDER_PROGRESS: "accept"})
        await world.sandbox.pushes()

        # when a notice is sent to each of them
        sent = await send(world, ACCEPTED, units=1)
        refused = await send(world, UNKNOWN_TO_WECHAT, units=1)
        suppressed = await send(world, WITHOUT_UNITS, units=0)
        assert (sent.status, refused.status, suppressed.status) == (
            NoticeStatus.SENT,
            NoticeStatus.FAILED,
            NoticeStatus.SUPPRESSED,
        )

        # then /metrics counts each send by its outcome and WeChat's errcode
        text = await scrape(world)
        assert series(text, "lvyue_notice_sends_total") == {
            '{errcode="0",outcome="sent"}': 1.0,
            '{errcode="40003",outcome="failed"}': 1.0,
            '{errcode="",outcome="suppressed"}': 1.0,
        }
        # and times the two calls WeChat answered, and the one notice from planning to sent
        assert series(text, "lvyue_wechat_send_seconds_count") == {"{}": 2.0}
        assert series(text, "lvyue_wechat_send_seconds_bucket")['{le="+Inf"}'] == 2.0
        assert series(text, "lvyue_notice_planned_to_sent_seconds_count") == {"{}": 1.0}
        # and the access token the first send needed was fetched once
        assert series(text, "lvyue_wechat_token_refreshes_total") == {'{outcome="fetched"}': 1.0}
        # and every send job's run is counted as a job too
        assert series(text, "lvyue_jobs_total")['{job="send_notice",outcome="success"}'] == 3.0


async def test_a_token_killed_elsewhere_is_counted_as_refetched_and_a_transient_failure_as_a_retry(
    settings: Settings, arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    async with open_world(settings, arq_pool, worker) as world:
        # given a user with two units on both sides, and a first send that fetched the token
        await world.sandbox.subscribe(ACCEPTED, {ORDER_PROGRESS: "accept"})
        await world.sandbox.subscribe(ACCEPTED, {ORDER_PROGRESS: "accept"})
        await world.sandbox.pushes()
        user = await make_user(units={ORDER_PROGRESS: 2}, openid=ACCEPTED)
        first = await make_notice(user)
        await enqueue_send(world.arq, first.id)
        await world.settle()

        # when another party force-refreshes the token, and WeChat answers -1 to the next call once
        await world.sandbox.force_refresh_elsewhere()
        await world.sandbox.faults(system_error_share=1.0)
        second = await make_notice(user)
        await enqueue_send(world.arq, second.id)
        worker_run = await world.make_worker(
            ctx={
                "settings": world.settings,
                "http": world.sandbox.http,
                "worker_id": "metrics",
                "notice_retry_policy": world.retry,
                "notice_lock_wait": world.lock_wait,
            },
            max_jobs=1,
            burst=True,
            max_burst_jobs=1,
        )
        await worker_run.run_check()
        await world.sandbox.faults(system_error_share=0.0)
        await world.settle()

        # then the fetch after WeChat refused the token (40001) is counted apart from the first
        text = await scrape(world)
        assert series(text, "lvyue_wechat_token_refreshes_total") == {
            '{outcome="fetched"}': 1.0,
            '{outcome="refetched"}': 1.0,
        }
        # and the -1 as a retry with its errcode, before both notices were sent
        assert series(text, "lvyue_notice_sends_total") == {
            '{errcode="0",outcome="sent"}': 2.0,
            '{errcode="-1",outcome="retry"}': 1.0,
        }
        assert (await Notice.get(id=second.id)).status is NoticeStatus.SENT
