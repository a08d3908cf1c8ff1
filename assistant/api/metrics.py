"""Prometheus metrics, one registry per app (tests build many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "campo_http_requests_total",
            "HTTP requests",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "campo_http_request_seconds",
            "HTTP request latency",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.answers = Counter("campo_answers_total", "Answers given", ["abstained"], registry=self.registry)
        self.jobs = Counter(
            "campo_ingestion_jobs_total", "Ingestion jobs", ["kind", "status"], registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
