"""Screenshot analysis in worker processes, one per core by default, each single-threaded.

OpenCV and tesseract would otherwise start threads of their own in every worker and fight over the
same cores; ``cv2.setNumThreads(1)`` and ``OMP_THREAD_LIMIT=1`` keep one worker on one core, which is
also what makes per-image latency measurable. Each worker builds its OCR engine once (loading the
Chinese model costs ~100 ms) and caches the posters it has seen.

Every image gets ``time_limit`` seconds in its worker. A picture that makes OpenCV or tesseract hang
(or crawl) would otherwise hold a core and its message forever, and no signal interrupts native code:
so each worker is a process of its own (a one-process executor, a *slot*), the pool hands out work
itself, one image per slot at a time, and a watchdog thread kills the process of an image past its
limit, starts a fresh one in its place and fails that image with :class:`AnalysisTimedOut` (the
caller sends it to review). The other slots and the images queued behind are not touched. A slot
is warmed up (process started, models loaded) before its first image, so start-up never counts
against an image's limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import structlog

from services.screenshots.adapters.analyzer import Analyzer
from services.screenshots.adapters.images import ImageLimits
from services.screenshots.adapters.metrics import SCREENSHOT_WORKERS_REPLACED
from services.screenshots.adapters.ocr import OcrEngineName, create_engine
from services.screenshots.domain.analysis import Analysis
from services.screenshots.domain.verdicts import DecisionThresholds
from services.screenshots.service_layer.ports import AnalysisTimedOut, TimedAnalysis

__all__ = ["DEFAULT_TIME_LIMIT", "AnalysisPool", "AnalysisTimedOut", "AnalysisWorkerLost", "default_workers"]

log = structlog.get_logger("screenshots.pool")

#: Seconds an image may take in its worker: far above the p95 (~150 ms), so only a stuck one hits it.
DEFAULT_TIME_LIMIT = 2.0

_analyzer: Analyzer | None = None

#: What a slot runs for one image: (screenshot, poster, payload) -> (analysis, milliseconds).
Task = Callable[[bytes, bytes, str], TimedAnalysis]


class AnalysisWorkerLost(RuntimeError):
    """A worker process died (killed, out of memory); it is replaced and the caller may retry."""


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
    started, cpu = time.perf_counter(), time.process_time()
    analysis = _analyzer.analyze(screenshot, poster, payload)
    return replace(analysis, cpu_ms=(time.process_time() - cpu) * 1000), (time.perf_counter() - started) * 1000


@dataclass(eq=False)
class _Job:
    args: tuple[bytes, bytes, str]
    outer: Future[TimedAnalysis]


@dataclass(eq=False)
class _Slot:
    """One worker process (a one-process executor) and the image it is working on."""

    executor: ProcessPoolExecutor
    ready: bool = False
    warming: Future[None] | None = None
    job: _Job | None = None
    deadline: float = 0.0
    started: float = 0.0


class AnalysisPool:
    """Runs :meth:`Analyzer.analyze` in ``workers`` processes; awaitable from an event loop.

    ``time_limit`` (seconds, None for none) bounds each image's analysis; ``task`` replaces the
    analysis itself (tests: a picture that hangs)."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        engine: OcrEngineName = "tesserocr",
        tessdata: Path | None = None,
        limits: ImageLimits | None = None,
        time_limit: float | None = DEFAULT_TIME_LIMIT,
        task: Task = _analyze,
        thresholds: DecisionThresholds | None = None,
    ) -> None:
        if time_limit is not None and time_limit <= 0:
            raise ValueError("time_limit must be positive")
        self.workers = workers or default_workers()
        self.time_limit = time_limit
        self._task = task
        # The analysis reads one threshold too (no OCR once a picture is too wide to be a post's).
        self._init_args = (engine, str(tessdata) if tessdata else None, limits or ImageLimits(), thresholds)
        # Re-entrant: a future that is already done runs its callback at once, in the caller's thread.
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[_Job] = deque()
        # Processes start on the first image (or warm_up), not here: most pushes are not pictures.
        self._slots = [_Slot(self._new_executor()) for _ in range(self.workers)]
        self._closed = False
        self._watchdog: threading.Thread | None = None
        self.timeouts = 0

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=self._init_args,
        )

    # -- handing out work (every _method below runs with the lock held) ----------------------------

    def submit(self, screenshot: bytes, poster: bytes, payload: str) -> Future[TimedAnalysis]:
        outer: Future[TimedAnalysis] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the analysis pool is closed")
            if self._watchdog is None and self.time_limit is not None:
                self._watchdog = threading.Thread(target=self._watch, name="screenshot-watchdog", daemon=True)
                self._watchdog.start()
            self._queue.append(_Job((screenshot, poster, payload), outer))
            self._dispatch()
        return outer

    def _dispatch(self) -> None:
        for slot in self._slots:
            if not self._queue:
                return
            if slot.job is not None:
                continue
            if not slot.ready:
                self._warm(slot)
                continue
            job = self._next_job()
            if job is None:
                return
            executor = slot.executor
            slot.job, slot.started = job, time.monotonic()
            slot.deadline = slot.started + (self.time_limit or 0.0)
            try:
                inner = executor.submit(self._task, *job.args)
            except (BrokenProcessPool, RuntimeError):
                slot.job = None
                self._replace(slot)
                job.outer.set_exception(AnalysisWorkerLost("a screenshot analysis worker died; retry"))
                continue
            inner.add_done_callback(partial(self._finished, slot, executor, job))
            self._wake.notify_all()

    def _next_job(self) -> _Job | None:
        while self._queue:
            job = self._queue.popleft()
            if job.outer.set_running_or_notify_cancel():  # False: the caller gave up on it
                return job
        return None

    def _warm(self, slot: _Slot) -> Future[None]:
        if slot.warming is None:
            executor = slot.executor
            slot.warming = executor.submit(_noop)
            slot.warming.add_done_callback(partial(self._warmed, slot, executor))
        return slot.warming

    def _warmed(self, slot: _Slot, executor: ProcessPoolExecutor, started: Future[None]) -> None:
        failed: list[_Job] = []
        with self._lock:
            if slot.executor is not executor or self._closed:
                return  # replaced meanwhile, or closing (its shutdown cancelled the warm-up)
            slot.warming = None
            if started.cancelled() or started.exception() is not None:
                # The worker cannot start (no OCR model, say): the images waiting would wait forever.
                self._replace(slot)
                failed, self._queue = list(self._queue), deque()
            else:
                slot.ready = True
                self._dispatch()
        for job in failed:
            if job.outer.set_running_or_notify_cancel():
                job.outer.set_exception(AnalysisWorkerLost("a screenshot analysis worker could not start"))

    def _finished(self, slot: _Slot, executor: ProcessPoolExecutor, job: _Job, inner: Future[TimedAnalysis]) -> None:
        with self._lock:
            if slot.job is not job or slot.executor is not executor:
                return  # timed out: the image has its answer and the slot a new worker
            slot.job = None
            outcome: TimedAnalysis | BaseException
            if inner.cancelled():
                outcome = CancelledError()
            elif (error := inner.exception()) is not None:
                outcome = error
                if isinstance(error, BrokenProcessPool):
                    SCREENSHOT_WORKERS_REPLACED.labels("died").inc()
                    self._replace(slot)
                    outcome = AnalysisWorkerLost("a screenshot analysis worker died; retry")
            else:
                outcome = inner.result()
            self._dispatch()
            self._wake.notify_all()  # close() may be waiting for the running images
        _resolve(job.outer, outcome)

    def _replace(self, slot: _Slot) -> None:
        """A fresh worker process in the slot; the old one is killed (it may be stuck in native code).
        Closing, the slot keeps the old executor: close() shuts it down."""
        old = slot.executor
        if not self._closed:
            slot.executor, slot.ready, slot.warming = self._new_executor(), False, None
        processes = list(getattr(old, "_processes", None) or {})
        for pid in processes:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        old.shutdown(wait=False, cancel_futures=True)

    # -- the watchdog --------------------------------------------------------------------------------

    def _watch(self) -> None:
        while True:
            expired: list[tuple[Future[TimedAnalysis], AnalysisTimedOut]] = []
            with self._wake:
                busy = [slot for slot in self._slots if slot.job is not None]
                if self._closed and not busy:
                    return
                now = time.monotonic()
                expired = [self._expire(slot, now) for slot in busy if slot.deadline <= now]
                if expired:
                    self._dispatch()
                else:
                    self._wake.wait(min(slot.deadline for slot in busy) - now + 0.005 if busy else None)
            for outer, error in expired:  # outside the lock: a caller's callback may submit again
                _resolve(outer, error)

    def _expire(self, slot: _Slot, now: float) -> tuple[Future[TimedAnalysis], AnalysisTimedOut]:
        job = slot.job
        assert job is not None
        slot.job = None
        seconds = now - slot.started
        self._replace(slot)
        self.timeouts += 1
        SCREENSHOT_WORKERS_REPLACED.labels("timeout").inc()
        log.warning("screenshot analysis over its time limit: worker replaced", seconds=round(seconds, 2))
        return job.outer, AnalysisTimedOut(self.time_limit or 0.0, seconds)

    # -- the callers' side ---------------------------------------------------------------------------

    async def analyze(self, screenshot: bytes, poster: bytes, payload: str) -> TimedAnalysis:
        """Raises :class:`AnalysisTimedOut` past the time limit, :class:`AnalysisWorkerLost` when the
        worker died, and whatever the analysis raises (``ReferenceUnusable``)."""
        return await asyncio.wrap_future(self.submit(screenshot, poster, payload))

    def warm_up(self) -> None:
        """Start every worker now (model loading) rather than on the first screenshots."""
        for future in self.start_warming():
            future.result()

    def start_warming(self) -> list[Future[None]]:
        """Start every worker without waiting for them (a worker process warming up at its start)."""
        with self._lock:
            if self._closed:
                return []
            return [self._warm(slot) for slot in self._slots if not slot.ready]

    def close(self) -> None:
        """Refuse new images, drop the queued ones, let the running ones finish (or time out)."""
        with self._wake:
            self._closed = True
            waiting, self._queue = list(self._queue), deque()
            self._wake.notify_all()
        for job in waiting:
            job.outer.cancel()
        if self._watchdog is not None:
            self._watchdog.join()
        with self._lock:
            executors = [slot.executor for slot in self._slots]
        for executor in executors:
            executor.shutdown(wait=True, cancel_futures=True)


def _resolve(outer: Future[TimedAnalysis], outcome: TimedAnalysis | BaseException) -> None:
    if outer.done():
        return
    if isinstance(outcome, BaseException):
        outer.set_exception(outcome)
    else:
        outer.set_result(outcome)


def _noop() -> None:
    return None
