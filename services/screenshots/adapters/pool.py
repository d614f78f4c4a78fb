"""Screenshot analysis in worker processes, one per core by default, each single-threaded.

OpenCV and tesseract would otherwise start threads of their own in every worker and fight over the
same cores; ``cv2.setNumThreads(1)`` and ``OMP_THREAD_LIMIT=1`` keep one worker on one core, which is
also what makes per-image latency measurable. Each worker builds its OCR engine once (loading the
Chinese model costs ~100 ms) and caches the posters it has seen.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from services.screenshots.adapters.analyzer import Analyzer
from services.screenshots.adapters.images import ImageLimits
from services.screenshots.adapters.ocr import OcrEngineName, create_engine
from services.screenshots.domain.analysis import Analysis
from services.screenshots.domain.verdicts import DecisionThresholds
from services.screenshots.service_layer.ports import TimedAnalysis

__all__ = ["AnalysisPool", "AnalysisWorkerLost", "default_workers"]

_analyzer: Analyzer | None = None


class AnalysisWorkerLost(RuntimeError):
    """A worker process died (killed, out of memory); the pool is rebuilt and the caller may retry."""


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _start_worker(
    engine: OcrEngineName, tessdata: str | None, limits: ImageLimits, thresholds: DecisionThresholds | None = None
) -> None:
    # Before tesseract (OpenMP) loads: it reads the limit once, at start-up.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import cv2

    cv2.setNumThreads(1)
    global _analyzer
    _analyzer = Analyzer(create_engine(engine, Path(tessdata) if tessdata else None), limits, thresholds=thresholds)


def _analyze(screenshot: bytes, poster: bytes, payload: str) -> tuple[Analysis, float]:
    assert _analyzer is not None, "worker not initialized"
    started = time.perf_counter()
    analysis = _analyzer.analyze(screenshot, poster, payload)
    return analysis, (time.perf_counter() - started) * 1000


class AnalysisPool:
    """Runs :meth:`Analyzer.analyze` in ``workers`` processes; awaitable from an event loop."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        engine: OcrEngineName = "tesserocr",
        tessdata: Path | None = None,
        limits: ImageLimits | None = None,
        thresholds: DecisionThresholds | None = None,
    ) -> None:
        self.workers = workers or default_workers()
        # The analysis reads one threshold too (no OCR once a picture is too wide to be a post's).
        self._init_args = (engine, str(tessdata) if tessdata else None, limits or ImageLimits(), thresholds)
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=self._init_args,
        )

    def submit(self, screenshot: bytes, poster: bytes, payload: str) -> Future[TimedAnalysis]:
        return self._executor.submit(_analyze, screenshot, poster, payload)

    async def analyze(self, screenshot: bytes, poster: bytes, payload: str) -> TimedAnalysis:
        try:
            return await asyncio.wrap_future(self.submit(screenshot, poster, payload))
        except BrokenProcessPool:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            raise AnalysisWorkerLost("a screenshot analysis worker died; retry") from None

    def warm_up(self) -> None:
        """Start every worker now (model loading) rather than on the first screenshots."""
        for future in [self._executor.submit(_noop) for _ in range(self.workers)]:
            future.result()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def _noop() -> None:
    return None
