"""Logs, metrics and health for every process.

- :func:`configure_logging`: structured logs through structlog (JSON in production, readable in
  development), with secrets redacted by key name as a last line of defence; :func:`member_ref` is
  how a log line names a member (a hash of the openid, never the openid).
- :func:`instrument_app` / :func:`health_router`: ``/healthz`` (alive), ``/readyz`` (dependencies
  answer) and ``/metrics`` (Prometheus) on every HTTP service, plus request metrics.
- :class:`HealthServer`: the same three endpoints on a small port inside a worker's event loop.
"""

from shared.observability._health import (
    OPENTELEMETRY_OFF,
    HealthServer,
    ReadinessCheck,
    RequestMetrics,
    health_router,
    instrument_app,
)
from shared.observability._logging import configure_logging, get_logger, member_ref, redact_secrets
from shared.observability._metrics import (
    EVENTS_CONSUMED,
    EVENTS_DEADLETTERED,
    EVENTS_PUBLISHED,
    HANDLER_SECONDS,
    HTTP_REQUEST_SECONDS,
    HTTP_REQUESTS,
)

__all__ = [
    "EVENTS_CONSUMED",
    "EVENTS_DEADLETTERED",
    "EVENTS_PUBLISHED",
    "HANDLER_SECONDS",
    "HTTP_REQUESTS",
    "HTTP_REQUEST_SECONDS",
    "OPENTELEMETRY_OFF",
    "HealthServer",
    "ReadinessCheck",
    "RequestMetrics",
    "configure_logging",
    "get_logger",
    "health_router",
    "instrument_app",
    "member_ref",
    "redact_secrets",
]
