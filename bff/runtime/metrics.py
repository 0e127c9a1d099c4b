"""Prometheus metrics of the service (text exposition at GET /metrics of every web process).

HTTP metrics are per process (each web process counts what it answered). Job metrics come from
worker processes, which are not reachable over HTTP on Procfile-style platforms: each worker adds
its counts to Redis hashes (constants.METRICS_*_KEY) and any web process renders the totals of
all workers from there, so scraping the web processes is enough. Those series are cluster-wide:
every web process reports the same values, so aggregate them with max() rather than sum() across
scraped instances (docs/operators.md, "Metrics").

What a job observes besides its own run (a notice's send outcome, the WeChat call's duration …) is
gathered in a ``Tally`` and written in the same pipelined Redis call as the job's run
(``record_job``): no extra round trip per send. The queue's families and the supply-chain
commands by status are read at scrape time, at most once per METRICS_SCRAPE_CACHE_S per process
(``ScrapeCache``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter as CountOf
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bff import constants

log = logging.getLogger("lvyue.metrics")

HTTP_REQUESTS = Counter("lvyue_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
HTTP_LATENCY = Histogram("lvyue_http_request_seconds", "HTTP request latency", ["route"])

QUEUES = (constants.DEFAULT_QUEUE,)

# Scans whose progress /metrics shows, with the Redis key of their cursor (a user id; absent
# between passes).
SCAN_CURSORS: Mapping[str, str] = {
    "replenishment": f"{constants.LIFECYCLE_SCAN_CURSOR_KEY}:replenishment",
    "maintenance": f"{constants.LIFECYCLE_SCAN_CURSOR_KEY}:maintenance",
    "offers": constants.OFFERS_SCAN_CURSOR_KEY,
}


class JobOutcome(StrEnum):
    SUCCESS = "success"
    RETRY = "retry"  # the job asked arq to run it again later (arq.Retry)
    FAILURE = "failure"  # it raised; arq retries or gives up per the function's max_tries
    CANCELLED = "cancelled"  # timed out or the worker stopped mid-job


@dataclass(frozen=True)
class RedisHistogram:
    """A histogram whose buckets live in METRICS_HISTOGRAMS_KEY: one HINCRBY per observation (the
    bucket it falls in) and one HINCRBYFLOAT of the sum; rendered cumulative at scrape time."""

    name: str
    documentation: str
    buckets: tuple[float, ...]

    def bucket_of(self, value: float) -> str:
        for bound in self.buckets:
            if value <= bound:
                return _le(bound)
        return "+Inf"


def _le(bound: float) -> str:
    return repr(float(bound))


# The WeChat subscribeMessage.send call, from the moment the request is written (the access
# token at hand) to WeChat's answer; calls that got no answer are not observed.
WECHAT_SEND_SECONDS = RedisHistogram(
    "lvyue_wechat_send_seconds",
    "Duration of WeChat subscribeMessage.send calls (all workers)",
    (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
# A notice from its row's creation (planned) to the answer that made it SENT.
PLANNED_TO_SENT_SECONDS = RedisHistogram(
    "lvyue_notice_planned_to_sent_seconds",
    "Time from a notice's planning to its send (all workers)",
    (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0, 3 * 24 * 3600.0),
)
HISTOGRAMS = (WECHAT_SEND_SECONDS, PLANNED_TO_SENT_SECONDS)


@dataclass
class Tally:
    """Counts gathered during one job, written with the job's run in one pipeline."""

    counts: CountOf[tuple[str, str]] = field(default_factory=CountOf)
    sums: dict[tuple[str, str], float] = field(default_factory=dict)

    def count(self, key: str, field_name: str, amount: int = 1) -> None:
        self.counts[(key, field_name)] += amount

    def observe(self, histogram: RedisHistogram, value: float) -> None:
        self.count(constants.METRICS_HISTOGRAMS_KEY, f"{histogram.name}|{histogram.bucket_of(value)}")
        sum_field = (constants.METRICS_HISTOGRAMS_KEY, f"{histogram.name}|sum")
        self.sums[sum_field] = self.sums.get(sum_field, 0.0) + value

    def __bool__(self) -> bool:
        return bool(self.counts or self.sums)

    def write(self, pipe: Pipeline) -> None:
        for (key, field_name), amount in self.counts.items():
            pipe.hincrby(key, field_name, amount)
        for (key, field_name), total in self.sums.items():
            pipe.hincrbyfloat(key, field_name, total)


# The key of the job's Tally in arq's per-job ctx (set by tasks/worker.py's `counted`).
JOB_TALLY = "metrics_tally"


async def record_job(
    redis: Redis, job: str, outcome: JobOutcome, seconds: float, tally: Tally | None = None
) -> None:
    """Add one run of `job` (and what it tallied) to the cluster-wide counters. Never fails the job."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hincrby(constants.METRICS_JOBS_KEY, f"{job}|{outcome.value}", 1)
            pipe.hincrbyfloat(constants.METRICS_JOB_SECONDS_KEY, job, seconds)
            if tally:
                tally.write(pipe)
            await pipe.execute()
    except Exception as exc:  # a metrics write must not turn a sent message into a failed job
        log.warning("cannot record metrics of job %s: %s", job, exc)


async def write_tally(redis: Redis, tally: Tally) -> None:
    """Write a Tally on its own (a job run outside `counted`, e.g. in a test). Never fails."""
    if not tally:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            tally.write(pipe)
            await pipe.execute()
    except Exception as exc:
        log.warning("cannot record metrics: %s", exc)


class TokenRefresh(StrEnum):
    FETCHED = "fetched"  # no token cached (first use, or the cached one reached its end)
    REFETCHED = "refetched"  # WeChat refused the cached token (40001 …): a new one fetched
    FORCED = "forced"  # stable_token with force_refresh (WeChat still refused the new one)
    FAILED = "failed"  # the fetch raised (WeChat error, timeout)


async def record_token_refresh(redis: Redis, outcome: TokenRefresh) -> None:
    """One access_token refresh (rare: once per ~2 hours per appid). Never fails the caller."""
    try:
        await redis.hincrby(constants.METRICS_TOKEN_REFRESHES_KEY, outcome.value, 1)  # type: ignore[misc]
    except Exception as exc:
        log.warning("cannot record a token refresh: %s", exc)


async def record_scan(
    redis: Redis, scan: str, *, started: float, finished: float, rows: int, pass_done: bool
) -> None:
    """The end of one scan run (unix times): its last start/end and rows walked, and the totals."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.hset(
                constants.METRICS_SCANS_KEY,
                mapping={f"{scan}|started": started, f"{scan}|finished": finished, f"{scan}|rows": rows},
            )
            pipe.hincrby(constants.METRICS_SCANS_KEY, f"{scan}|rows_total", rows)
            pipe.hincrby(constants.METRICS_SCANS_KEY, f"{scan}|runs", 1)
            if pass_done:
                pipe.hincrby(constants.METRICS_SCANS_KEY, f"{scan}|passes", 1)
            await pipe.execute()
    except Exception as exc:
        log.warning("cannot record the progress of scan %s: %s", scan, exc)


# ------------------------------------------------------------------------------------ scraping


class ScrapeCache:
    """Values that cost a query, kept for `ttl_s` in one web process (one per app)."""

    def __init__(self, ttl_s: float = constants.METRICS_SCRAPE_CACHE_S) -> None:
        self.ttl_s = ttl_s
        self._values: dict[str, tuple[float, Any]] = {}

    async def get(self, name: str, load: Callable[[], Awaitable[Any]]) -> Any:
        now = time.monotonic()
        cached = self._values.get(name)
        if cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        value = await load()
        self._values[name] = (now, value)
        return value

    def clear(self) -> None:
        self._values.clear()


def job_family(job_id: str) -> str:
    """`send:42` → `send`, `cron:heartbeat:…` → `cron`; ids without a prefix (arq's random ids) → `other`."""
    prefix, colon, _ = job_id.partition(":")
    return prefix if colon and prefix else "other"


@dataclass(frozen=True)
class QueueFamilies:
    counted: int  # job ids examined (the queue's first METRICS_QUEUE_FAMILY_LIMIT)
    families: Mapping[str, int]


async def queue_families(
    redis: Redis, queue: str, limit: int = constants.METRICS_QUEUE_FAMILY_LIMIT
) -> QueueFamilies:
    """Jobs waiting in `queue` by family (job id prefix), over its first `limit` ids (soonest due)."""
    ids = await redis.zrange(queue, 0, limit - 1)
    families = CountOf(job_family(_text(job_id)) for job_id in ids)
    return QueueFamilies(len(ids), dict(families))


def gauge(name: str, documentation: str, label: str, values: Mapping[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


class _Collected(Collector):
    def __init__(self, metrics: Sequence[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics


@dataclass
class _Scraped:
    runs: dict[str, int]
    seconds: dict[str, float]
    queued: dict[str, int]
    due: dict[str, int]
    sends: dict[str, int]
    histograms: dict[str, float]
    refreshes: dict[str, int]
    scans: dict[str, float]
    cursors: dict[str, int]


def _job_metrics(s: _Scraped) -> Iterable[Metric]:
    jobs = CounterMetricFamily(
        "lvyue_jobs", "Worker jobs run, by job and outcome (all workers)", labels=["job", "outcome"]
    )
    counts: dict[str, int] = {}
    for field_name, value in sorted(s.runs.items()):
        job, _, outcome = field_name.rpartition("|")
        jobs.add_metric([job, outcome], value)
        counts[job] = counts.get(job, 0) + value
    yield jobs
    duration = SummaryMetricFamily(
        "lvyue_job_seconds", "Time spent in worker jobs, by job (all workers)", labels=["job"]
    )
    for job, total in sorted(s.seconds.items()):
        duration.add_metric([job], count_value=counts.get(job, 0), sum_value=total)
    yield duration
    yield gauge("lvyue_queue_jobs", "Jobs waiting in an arq queue", "queue", s.queued)
    yield gauge("lvyue_queue_due_jobs", "Jobs in an arq queue whose time has come (backlog)", "queue", s.due)


def _send_metrics(s: _Scraped) -> Iterable[Metric]:
    sends = CounterMetricFamily(
        "lvyue_notice_sends",
        "Notice send runs by outcome and WeChat errcode (all workers)",
        labels=["outcome", "errcode"],
    )
    for field_name, value in sorted(s.sends.items()):
        outcome, _, errcode = field_name.partition("|")
        sends.add_metric([outcome, errcode], value)
    yield sends
    for histogram in HISTOGRAMS:
        cumulative = 0.0
        buckets: list[tuple[str, float]] = []
        for bound in (*map(_le, histogram.buckets), "+Inf"):
            cumulative += s.histograms.get(f"{histogram.name}|{bound}", 0.0)
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily(
            histogram.name,
            histogram.documentation,
            buckets=buckets,
            sum_value=s.histograms.get(f"{histogram.name}|sum", 0.0),
        )
    refreshes = CounterMetricFamily(
        "lvyue_wechat_token_refreshes",
        "access_token fetches by outcome (all processes)",
        labels=["outcome"],
    )
    for outcome, value in sorted(s.refreshes.items()):
        refreshes.add_metric([outcome], value)
    yield refreshes


def _scan_metrics(s: _Scraped) -> Iterable[Metric]:
    def per_scan(suffix: str) -> dict[str, float]:
        found: dict[str, float] = {}
        for field_name, value in s.scans.items():
            scan, _, what = field_name.rpartition("|")
            if what == suffix:
                found[scan] = value
        return found

    yield gauge(
        "lvyue_scan_last_started_timestamp_seconds",
        "Start of the scan's last run (unix time)",
        "scan",
        per_scan("started"),
    )
    yield gauge(
        "lvyue_scan_last_finished_timestamp_seconds",
        "End of the scan's last run (unix time)",
        "scan",
        per_scan("finished"),
    )
    yield gauge("lvyue_scan_last_rows", "Rows the scan's last run walked", "scan", per_scan("rows"))
    for suffix, name, documentation in (
        ("rows_total", "lvyue_scan_rows", "Rows walked by the scan (all runs)"),
        ("runs", "lvyue_scan_runs", "Runs of the scan"),
        ("passes", "lvyue_scan_passes", "Completed passes of the scan over all users"),
    ):
        counter = CounterMetricFamily(name, documentation, labels=["scan"])
        for scan, value in sorted(per_scan(suffix).items()):
            counter.add_metric([scan], value)
        yield counter
    yield gauge(
        "lvyue_scan_cursor", "The user id the scan's pass has reached (0: between passes)", "scan", s.cursors
    )


async def render_metrics(
    redis: Redis,
    *,
    cache: ScrapeCache | None = None,
    database_gauges: Callable[[], Awaitable[Sequence[Metric]]] | None = None,
) -> bytes:
    """This process's metrics plus the workers' totals, queue sizes and scan progress from Redis,
    and what `database_gauges` reads (cached in `cache`)."""
    cache = cache or ScrapeCache(ttl_s=0.0)
    text = generate_latest(REGISTRY)
    try:
        scraped = await _read_redis(redis)
        families = {
            queue: await cache.get(f"families:{queue}", _families_loader(redis, queue)) for queue in QUEUES
        }
    except Exception as exc:  # /metrics still answers the process's own series when Redis is down
        log.warning("cannot read job metrics from Redis: %s", exc)
        return text
    metrics: list[Metric] = [*_job_metrics(scraped), *_send_metrics(scraped), *_scan_metrics(scraped)]
    by_family = GaugeMetricFamily(
        "lvyue_queue_family_jobs",
        "Jobs waiting in an arq queue by family (job id prefix), over its first "
        f"{constants.METRICS_QUEUE_FAMILY_LIMIT} jobs",
        labels=["queue", "family"],
    )
    examined = GaugeMetricFamily(
        "lvyue_queue_family_counted_jobs",
        "Jobs of the queue that lvyue_queue_family_jobs counted",
        labels=["queue"],
    )
    for queue, counted in families.items():
        for family, size in sorted(counted.families.items()):
            by_family.add_metric([queue, family], size)
        examined.add_metric([queue], counted.counted)
    metrics += [by_family, examined]
    if database_gauges is not None:
        try:
            metrics += await cache.get("database", database_gauges)
        except Exception as exc:  # the database away: the Redis series still answer
            log.warning("cannot read metrics from the database: %s", exc)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collected(metrics))
    return text + generate_latest(registry)


def _families_loader(redis: Redis, queue: str) -> Callable[[], Awaitable[QueueFamilies]]:
    async def load() -> QueueFamilies:
        return await queue_families(redis, queue)

    return load


async def _read_redis(redis: Redis) -> _Scraped:
    now_ms = int(time.time() * 1000)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(constants.METRICS_JOBS_KEY)
        pipe.hgetall(constants.METRICS_JOB_SECONDS_KEY)
        pipe.hgetall(constants.METRICS_SENDS_KEY)
        pipe.hgetall(constants.METRICS_HISTOGRAMS_KEY)
        pipe.hgetall(constants.METRICS_TOKEN_REFRESHES_KEY)
        pipe.hgetall(constants.METRICS_SCANS_KEY)
        for queue in QUEUES:
            pipe.zcard(queue)
            pipe.zcount(queue, "-inf", now_ms)  # arq scores are the due time in ms
        for key in SCAN_CURSORS.values():
            pipe.get(key)
        answers = await pipe.execute()
    runs, seconds, sends, histograms, refreshes, scans = answers[:6]
    per_queue = answers[6 : 6 + 2 * len(QUEUES)]
    cursors = answers[6 + 2 * len(QUEUES) :]
    return _Scraped(
        runs={_text(k): int(v) for k, v in runs.items()},
        seconds={_text(k): float(v) for k, v in seconds.items()},
        queued={queue: int(per_queue[2 * i]) for i, queue in enumerate(QUEUES)},
        due={queue: int(per_queue[2 * i + 1]) for i, queue in enumerate(QUEUES)},
        sends={_text(k): int(v) for k, v in sends.items()},
        histograms={_text(k): float(v) for k, v in histograms.items()},
        refreshes={_text(k): int(v) for k, v in refreshes.items()},
        scans={_text(k): float(v) for k, v in scans.items()},
        cursors={scan: int(value or 0) for scan, value in zip(SCAN_CURSORS, cursors, strict=True)},
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
