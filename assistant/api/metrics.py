"""Prometheus metrics, one registry per app (tests build many apps)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


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

        self.review = {
            name: Gauge(f"campo_review_{name}", text, registry=self.registry)
            for name, text in [
                ("queue_items", "Review items waiting for staff"),
                ("queue_questions", "Questions grouped in the waiting review items"),
                ("answered_items", "Review items answered by staff"),
                ("dismissed_items", "Review items dismissed by staff"),
                ("median_seconds_to_answer", "Median time from a review item's first question to its answer"),
                ("served_share", "Share of this process's questions answered from reviewed answers"),
            ]
        }

    def update_review(self, stats: dict[str, Any]) -> None:
        """Set the review gauges from the queue's figures (at scrape time)."""
        self.review["queue_items"].set(stats["pending"])
        self.review["queue_questions"].set(stats["pending_questions"])
        self.review["answered_items"].set(stats["answered"])
        self.review["dismissed_items"].set(stats["dismissed"])
        self.review["median_seconds_to_answer"].set(stats["median_seconds_to_answer"] or 0)
        total = stats.get("served_total") or 0
        self.review["served_share"].set(stats.get("served_reviewed", 0) / total if total else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
