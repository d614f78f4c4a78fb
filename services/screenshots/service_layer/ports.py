"""What verification needs from the outside world: something that analyses screenshots.

The analysis is CPU-bound and runs in worker processes (:class:`~services.screenshots.adapters.pool.
AnalysisPool`); the service layer only hands work over and collects the results.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import Protocol

from services.screenshots.domain.analysis import Analysis

__all__ = ["AnalysisSubmitter", "AnalysisTimedOut", "TimedAnalysis"]

#: An analysis and the milliseconds it took in its worker.
TimedAnalysis = tuple[Analysis, float]


class AnalysisTimedOut(TimeoutError):
    """The analysis of one image went past its time limit; its worker was replaced. The image goes
    to review (``analysis_timeout``): a person decides what the machine could not in time."""

    def __init__(self, limit: float, seconds: float) -> None:
        super().__init__(f"screenshot analysis took over its limit of {limit:g} s")
        self.limit = limit
        self.seconds = seconds


class AnalysisSubmitter(Protocol):
    """Starts analyses in the background; ``workers`` of them run at once."""

    workers: int

    def submit(self, screenshot: bytes, poster: bytes, payload: str) -> Future[TimedAnalysis]: ...
