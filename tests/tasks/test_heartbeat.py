from __future__ import annotations

from arq.connections import ArqRedis

from bff.runtime.heartbeat import latest_beat
from bff.runtime.resources import Resources
from tests.conftest import WorkerFactory


async def test_heartbeat_job_records_the_worker_in_the_database(
    resources: Resources, arq_pool: ArqRedis, worker: WorkerFactory
) -> None:
    # given two heartbeat jobs on the queue
    await arq_pool.enqueue_job("heartbeat")
    await arq_pool.enqueue_job("heartbeat")

    # when a burst worker runs them
    w = await worker()
    completed = await w.run_check()

    # then the worker's row counts both beats
    assert completed == 2
    beat = await latest_beat()
    assert beat is not None
    assert beat.worker_id == "test-worker"
    assert beat.beats == 2
