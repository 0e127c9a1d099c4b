"""Prometheus metrics of the service (text exposition at GET /metrics of every web process).

HTTP metrics are per process (each web process counts what it answered). Job metrics come from
worker processes, which are not reachable over HTTP on Procfile-style platforms: each worker adds
its counts to two Redis hashes (constants.METRICS_JOBS_KEY, METRICS_JOB_SECONDS_KEY) and any web
process renders the totals of all workers from there, so scraping the web processes is enough.
Those job series are cluster-wide: every web process reports the same values, so aggregate them
with max() rather than sum() across scraped instances (docs/configuration.md, "Metrics").
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from enum import StrEnum

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from bff import constants

log = logging.getLogger("lvyue.metrics")

HTTP_REQUESTS = Counter("lvyue_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_LATENCY = Histogram("lvyue_http_request_seconds", "HTTP request latency", ["route"])

QUEUES = (constants.DEFAULT_QUEUE,)


class JobOutcome(StrEnum):
    SUCCESS = "success"
    RETRY = "retry"  # the job asked arq to run it again later (arq.Retry)
    FAILURE = "failure"  # it raised; arq retries or gives up per the function's max_tries
    CANCELLED = "cancelled"  # timed out or the worker stopped mid-job


async def record_job(redis: Redis, job: str, outcome: JobOutcome, seconds: float) -> None:
    """Add one run of `job` to the cluster-wide counters. Never fails the job."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(constants.METRICS_JOBS_KEY, f"{job}|{outcome.value}", 1)
            pipe.hincrbyfloat(constants.METRICS_JOB_SECONDS_KEY, job, seconds)
            await pipe.execute()
    except Exception as exc:  # a metrics write must not turn a sent message into a failed job
        log.warning("cannot record metrics of job %s: %s", job, exc)


class _JobTotals(Collector):
    """The job counters read from Redis for one scrape."""

    def __init__(self, runs: dict[str, int], seconds: dict[str, float], queued: dict[str, int]) -> None:
        self.runs = runs
        self.seconds = seconds
        self.queued = queued

    def collect(self) -> Iterable[Metric]:
        jobs = CounterMetricFamily(
            "lvyue_jobs", "Worker jobs run, by job and outcome (all workers)", labels=["job", "outcome"]
        )
        counts: dict[str, int] = {}
        for field, value in sorted(self.runs.items()):
            job, _, outcome = field.rpartition("|")
            jobs.add_metric([job, outcome], value)
            counts[job] = counts.get(job, 0) + value
        yield jobs
        duration = SummaryMetricFamily(
            "lvyue_job_seconds", "Time spent in worker jobs, by job (all workers)", labels=["job"]
        )
        for job, total in sorted(self.seconds.items()):
            duration.add_metric([job], count_value=counts.get(job, 0), sum_value=total)
        yield duration
        queued = GaugeMetricFamily("lvyue_queue_jobs", "Jobs waiting in an arq queue", labels=["queue"])
        for queue, size in self.queued.items():
            queued.add_metric([queue], size)
        yield queued


async def render_metrics(redis: Redis) -> bytes:
    """This process's metrics plus the workers' job totals and queue sizes from Redis."""
    text = generate_latest(REGISTRY)
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(constants.METRICS_JOBS_KEY)
            pipe.hgetall(constants.METRICS_JOB_SECONDS_KEY)
            for queue in QUEUES:
                pipe.zcard(queue)
            runs, seconds, *sizes = await pipe.execute()
        queued = {queue: int(size) for queue, size in zip(QUEUES, sizes, strict=True)}
    except Exception as exc:  # /metrics still answers the process's own series when Redis is down
        log.warning("cannot read job metrics from Redis: %s", exc)
        return text
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        _JobTotals(
            {_text(k): int(v) for k, v in runs.items()},
            {_text(k): float(v) for k, v in seconds.items()},
            queued,
        )
    )
    return text + generate_latest(registry)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
