"""Prometheus metrics shared by all services, on the default registry that ``/metrics`` serves."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter("scrm_http_requests_total", "HTTP requests served", ["service", "method", "route", "status"])
HTTP_REQUEST_SECONDS = Histogram(
    "scrm_http_request_seconds",
    "Time to answer an HTTP request",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
EVENTS_PUBLISHED = Counter("scrm_events_published_total", "Envelopes acknowledged by Kafka", ["topic", "type"])
EVENTS_CONSUMED = Counter(
    "scrm_events_consumed_total",
    "Envelopes handled by a consumer, by outcome (processed, duplicate, deadlettered)",
    ["consumer", "type", "outcome"],
)
EVENTS_DEADLETTERED = Counter(
    "scrm_events_deadlettered_total", "Messages sent to the dead-letter topic", ["consumer", "reason"]
)
HANDLER_SECONDS = Histogram(
    "scrm_handler_seconds",
    "Time a consumer spends on one message or one batch of them, retries included",
    ["consumer"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30),
)
