"""Prometheus metrics of screenshot verification: decisions by reason, and time per screenshot."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["SCREENSHOT_DECISIONS", "SCREENSHOT_SECONDS", "SCREENSHOT_WORKERS_REPLACED"]

SCREENSHOT_DECISIONS = Counter(
    "scrm_screenshot_decisions_total",
    "Share-screenshot decisions; reason is 'none' for clean approvals",
    ["decision", "reason", "by"],
)
SCREENSHOT_SECONDS = Histogram(
    "scrm_screenshot_analysis_seconds",
    "Analysis time per screenshot in its worker process",
    buckets=(0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0),
)
SCREENSHOT_WORKERS_REPLACED = Counter(
    "scrm_screenshot_workers_replaced_total",
    "Analysis worker processes replaced: 'timeout' (killed past the time limit) or 'died'",
    ["cause"],
)
