"""scripts/replay_events.py against a real `bff web`: the demo moves on, stamped when it happens."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from tortoise.context import TortoiseContext

from bff.demo import orders as demo
from bff.demo.seed import seed
from bff.models import DeliverySlotOffer, Order, OrderException, OrderNodeEvent, OrderStatus
from bff.runtime.settings import Settings
from tests.test_processes import ROOT, free_port, start


@pytest.fixture
def web(settings: Settings, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []
    start(processes, "web", "--host", "127.0.0.1", "--port", str(port), log=tmp_path / "web.log")
    yield port
    processes[0].kill()
    processes[0].wait(timeout=10)


async def wait_ready(port: int) -> None:
    async with httpx.AsyncClient(timeout=2.0) as http:
        for _ in range(150):
            try:
                if (await http.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError("web did not become ready")


async def test_replayed_events_are_never_stamped_after_they_arrive(db: TortoiseContext, web: int) -> None:
    # given the seeded demo user and a running web process
    await seed(if_empty=False)
    await wait_ready(web)

    # when the replay script sends its story without pauses
    script = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "scripts" / "replay_events.py"),
        "--url",
        f"http://127.0.0.1:{web}/hooks/supply-chain",
        "--delay",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await script.communicate()
    finished = datetime.now(UTC)

    # then the demo moved on
    assert script.returncode == 0, output.decode()
    assert (await Order.get(order_no=demo.IN_TRANSIT)).status == OrderStatus.DELIVERED

    # and no replayed moment lies after the script finished
    moments: list[datetime] = [
        *(row.occurred_at for row in await OrderNodeEvent.all()),
        *(row.occurred_at for row in await OrderException.all()),
        *(row.offered_at for row in await DeliverySlotOffer.all()),
        *(row.updated_at for row in await Order.all()),
    ]
    assert moments
    later = [moment for moment in moments if moment > finished]
    assert later == [], f"stamped after {finished.isoformat()}: {later}"
