"""Worker jobs are counted where Prometheus scrapes: a web process's /metrics shows every worker's runs."""

from __future__ import annotations

from typing import Any

import httpx
from arq import Retry
from arq.connections import ArqRedis
from tortoise.context import TortoiseContext

from tasks.worker import FUNCTIONS, counted
from tests.conftest import WorkerFactory


async def flaky(ctx: dict[str, Any], mode: str) -> str:
    if mode == "retry":
        raise Retry(defer=0)
    if mode == "fail":
        raise ValueError("boom")
    return "ok"


def series(text: str, name: str) -> dict[str, float]:
    """`{labels: value}` of one metric in Prometheus text."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, _, value = line.rpartition(" ")
            found[labels.removeprefix(name)] = float(value)
    return found


async def test_web_metrics_count_the_workers_jobs_by_outcome(
    db: TortoiseContext, arq_pool: ArqRedis, worker: WorkerFactory, client: httpx.AsyncClient
) -> None:
    # given two workers: one ran a heartbeat and a job that succeeded, the other a job that failed
    # and one that asked to be retried (and then ran out of tries)
    first = await worker(functions=[*FUNCTIONS, counted(flaky)], max_tries=1)
    second = await worker(functions=[*FUNCTIONS, counted(flaky)], max_tries=1)
    await arq_pool.enqueue_job("heartbeat")
    await arq_pool.enqueue_job("flaky", "ok")
    await first.async_run()
    await arq_pool.enqueue_job("flaky", "fail")
    await arq_pool.enqueue_job("flaky", "retry")
    await second.async_run()

    # when Prometheus scrapes the web process
    response = await client.get("/metrics")

    # then it reports both workers' runs, and where time went
    assert response.status_code == 200
    jobs = series(response.text, "lvyue_jobs_total")
    assert jobs == {
        '{job="flaky",outcome="failure"}': 1.0,
        '{job="flaky",outcome="retry"}': 1.0,
        '{job="flaky",outcome="success"}': 1.0,
        '{job="heartbeat",outcome="success"}': 1.0,
    }
    assert series(response.text, "lvyue_job_seconds_count") == {
        '{job="flaky"}': 3.0,
        '{job="heartbeat"}': 1.0,
    }
    assert series(response.text, "lvyue_queue_jobs") == {'{queue="arq:queue"}': 0.0}
