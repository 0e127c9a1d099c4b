"""Prometheus metrics of the service (text exposition at GET /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "lvyue_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram("lvyue_http_request_seconds", "HTTP request latency", ["route"])
JOBS = Counter("lvyue_jobs_total", "Worker jobs run", ["job", "outcome"])
