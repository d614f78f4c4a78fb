"""What verification needs from the outside world: something that analyses screenshots.

The analysis is CPU-bound and runs in worker processes (:class:`~services.screenshots.adapters.pool.
AnalysisPool`); the service layer only hands work over and collects the results.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol

from services.screenshots.domain.analysis import Analysis

__all__ = ["AnalysisSubmitter", "TimedAnalysis"]

#: An analysis and the milliseconds it took in its worker.
TimedAnalysis = tuple[Analysis, float]


class AnalysisSubmitter(Protocol):
    """Starts analyses in the background; ``workers`` of them run at once."""

    workers: int

    def submit(self, screenshot: bytes, poster: bytes, payload: str) -> Future[TimedAnalysis]: ...
