"""A worker killed with SIGKILL in the middle of 1,000 sends: after a restart every notice is settled
and none was sent twice, as the WeChat sandbox's inbox shows.

Real processes: the sandbox served by uvicorn (`python -m wxsandbox`, each send taking it 100 ms)
and `python -m bff.cli worker` against the test's database and Redis. 1,000 queued notices of 200
users (each with the units for them) are enqueued; the first worker is killed while a send is in
flight once a quarter of them have arrived; a second worker is started. It re-runs what the first
left behind: arq re-runs the killed jobs after their in-progress key expires (largest job timeout
+ 10 s = 30 s), the sweeper re-queues notices claimed but never sent and marks those killed
during the call as "outcome unknown" — never resent. Those then wait for WeChat's sent event or
the outcome timeout (10 minutes in production); this test has no push receiver, so it lets the
timeout pass by running the sweeper's settlement with a zero timeout once the second worker is
done.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from bff.catalog.topics import Topic, topic_info
from bff.consent import ledger
from bff.models import ConsentLedger, Notice, NoticeStatus, User
from bff.notices.jobs import enqueue_send
from bff.notices.open_tokens import verify_open_token
from bff.notices.settlement import ASSUMED_SENT
from bff.notices.sweeper import sweep
from bff.runtime.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("db")]

REPO = Path(__file__).resolve().parents[2]
USERS = 200
PER_USER = 5  # notices: 2 order-progress, 2 shipping, 1 delivery
NOTICES = USERS * PER_USER
KILL_AFTER = NOTICES // 4  # delivered cards before the SIGKILL
TEMPLATES = {
    "tmpl-order-progress-0001": (2, Topic.NODE_PRODUCTION_STARTED),
    "tmpl-order-shipping-0001": (2, Topic.NODE_OUTBOUND),
    "tmpl-order-delivery-0001": (1, Topic.NODE_OUT_FOR_DELIVERY),
}
VALUES = {
    "node_phrase": "已出库",
    "occurred_at": "2026年11月20日 09:30",
    "note": "杭州仓已发出",
    "location": "杭州仓",
    "carrier": "顺丰速运",
    "tracking_no": "SF1234567890",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child process we started; stopped (and waited for) however the test ends."""
    with log.open("wb") as out:
        child = subprocess.Popen(args, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait(timeout=15)


async def wait_for(
    what: str, check: Callable[[], Awaitable[bool]], deadline_s: float, *, poll_s: float = 0.2
) -> float:
    """Poll ``check`` until it holds; returns the seconds it took (fails after ``deadline_s``)."""
    start = time.monotonic()
    while not await check():
        if time.monotonic() - start > deadline_s:
            raise AssertionError(f"{what}: not reached within {deadline_s:.0f}s")
        await asyncio.sleep(poll_s)
    return time.monotonic() - start


async def seed(sandbox: httpx.AsyncClient) -> None:
    """200 users known to WeChat and to the BFF, with the units for their 5 notices on both sides."""
    users = []
    for index in range(USERS):
        users.append(User(openid=f"oCRASH{index:06d}_0000000000000000"))
    await User.bulk_create(users)
    by_openid = {u.openid: u.id for u in await User.filter(openid__startswith="oCRASH")}

    async def wechat_side(openid: str) -> None:
        assert (await sandbox.post("/sandbox/login-code", json={"openid": openid})).status_code == 200
        for round_ in range(max(units for units, _ in TEMPLATES.values())):
            answers = {tid: "accept" for tid, (units, _) in TEMPLATES.items() if units > round_}
            body = {"openid": openid, "answers": answers, "push": False}
            assert (await sandbox.post("/sandbox/subscribe", json=body)).status_code == 200

    openids = list(by_openid)
    for start in range(0, len(openids), 50):
        await asyncio.gather(*(wechat_side(openid) for openid in openids[start : start + 50]))

    now = datetime.now(UTC)
    notices = []
    for openid, user_id in by_openid.items():
        for template_id, (units, topic) in TEMPLATES.items():
            await ledger.credit(user_id, template_id, units)
            for n in range(units):
                order_no = f"SOC{user_id:06d}{n}{template_id[11:14]}"
                notices.append(
                    Notice(
                        user_id=user_id,
                        order_no=order_no,
                        topic=topic,
                        template_id=template_id,
                        dedupe_key=f"crash:{openid}:{template_id}:{n}",
                        priority=topic_info(topic).priority,
                        status=NoticeStatus.QUEUED,
                        values={**VALUES, "order_no": order_no},
                        occurred_at=now,
                        expires_at=now + timedelta(days=3),
                    )
                )
    await Notice.bulk_create(notices, batch_size=500)


async def test_a_worker_killed_mid_run_leaves_every_notice_settled_and_none_sent_twice(
    settings: Settings, arq_pool: ArqRedis, orm: TortoiseContext, tmp_path: Path
) -> None:
    began = time.monotonic()
    port = free_port()
    api_base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "WECHAT_API_BASE": api_base,
        "SANDBOX_SEND_LATENCY_MS": "100",
        "SANDBOX_SEED": "7",
    }
    env.pop("SANDBOX_PUSH_URL", None)
    sandbox_cmd = [sys.executable, "-m", "wxsandbox", "--host", "127.0.0.1", "--port", str(port)]
    worker_cmd = [sys.executable, "-m", "bff.cli", "worker"]
    figures: dict[str, Any] = {}

    async with httpx.AsyncClient(base_url=api_base, timeout=10) as sandbox:

        async def inbox_count() -> int:
            return int((await sandbox.get("/sandbox/stats")).json()["inbox"])

        async def sandbox_up() -> bool:
            try:
                return (await sandbox.get("/sandbox/stats")).status_code == 200
            except httpx.TransportError:
                return False

        with process(sandbox_cmd, env, tmp_path / "sandbox.log"):
            await wait_for("sandbox up", sandbox_up, 20)
            # given 1,000 queued notices, each with its send job
            await seed(sandbox)
            # in the order notices of many users would come in: user after user, not all of one user's at once
            rows = await Notice.all().order_by("id").values_list("id", "user_id")
            assert len(rows) == NOTICES
            rank: Counter[int] = Counter()
            order = []
            for notice_id, user_id in rows:
                order.append((rank[user_id], notice_id))
                rank[user_id] += 1
            for _, notice_id in sorted(order):
                assert await enqueue_send(arq_pool, int(notice_id))  # type: ignore[call-overload]
            figures["seeded_s"] = time.monotonic() - began

            # when a worker is killed with SIGKILL a quarter of the way through
            with process(worker_cmd, env, tmp_path / "worker-1.log") as first:

                async def quarter_delivered() -> bool:
                    assert first.poll() is None, (tmp_path / "worker-1.log").read_text()[-3000:]
                    return await inbox_count() >= KILL_AFTER

                async def call_in_flight() -> bool:
                    return await Notice.filter(
                        status=NoticeStatus.SENDING, call_started_at__isnull=False
                    ).exists()

                await wait_for("a quarter delivered", quarter_delivered, 60)
                # kill while WeChat is being called (each send takes the sandbox 100 ms)
                await wait_for("a call in flight", call_in_flight, 10, poll_s=0.005)
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=10)
            figures["delivered_before_kill"] = await inbox_count()
            in_flight = await Notice.filter(status=NoticeStatus.SENDING).count()
            figures["sending_at_kill"] = in_flight
            assert figures["delivered_before_kill"] < NOTICES, "the worker finished before the kill"

            # and a new worker takes over
            restarted = time.monotonic()
            with process(worker_cmd, env, tmp_path / "worker-2.log") as second:

                async def worker_done() -> bool:
                    assert second.poll() is None, (tmp_path / "worker-2.log").read_text()[-3000:]
                    open_rows = await Notice.filter(
                        status__in=[NoticeStatus.QUEUED, NoticeStatus.SENDING],
                        outcome_unknown_at__isnull=True,
                    ).count()
                    queued = await arq_pool.zrange("arq:queue", 0, -1)
                    sends_queued = [job_id for job_id in queued if job_id.startswith(b"send:")]
                    return open_rows == 0 and not sends_queued

                figures["recovery_s"] = await wait_for(
                    "every notice settled or awaiting its outcome", worker_done, 120
                )
            figures["restart_to_settled_s"] = time.monotonic() - restarted
            # and the outcome timeout passes for sends killed during the call
            figures["unknown_outcomes"] = (await sweep(arq_pool, outcome_timeout=timedelta(0))).assumed_sent

            messages = (await sandbox.get("/sandbox/inbox")).json()

    figures["total_s"] = time.monotonic() - began
    print(
        "worker crash figures:", {k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}
    )
    # then every notice is settled as sent (each had its unit)
    notices = {n.id: n for n in await Notice.all()}
    assert Counter(n.status for n in notices.values()) == {NoticeStatus.SENT: NOTICES}
    # and no card arrived twice; every card is one of our notices
    delivered = Counter(
        verify_open_token(settings.session_secret, m["page"].split("&n=")[1]) for m in messages
    )
    assert None not in delivered
    assert max(delivered.values()) == 1
    # and every send WeChat answered arrived; only sends killed mid-call may have been lost
    answered = {i for i, n in notices.items() if n.reason != ASSUMED_SENT}
    assert answered <= set(delivered)
    assert len(notices) - len(answered) == figures["unknown_outcomes"]
    # and the ledger spent one unit per notice
    assert sum(row.spent for row in await ConsentLedger.all()) == NOTICES
    # and the kill did interrupt sends in flight
    assert figures["sending_at_kill"] > 0
