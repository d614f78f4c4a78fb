"""The analysis pool's time limit: an image past it fails with AnalysisTimedOut, its worker process
is killed and replaced, and the other workers and the images queued behind carry on."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from services.screenshots.adapters.pool import AnalysisPool, AnalysisTimedOut
from tests.unit.screenshots.slow_tasks import HANG, stuck_on_marker


@pytest.fixture(scope="module")
def pool() -> Iterator[AnalysisPool]:
    analysis = AnalysisPool(2, time_limit=0.6, task=stuck_on_marker)
    analysis.warm_up()  # start-up (model loading) never counts against an image's limit
    try:
        yield analysis
    finally:
        analysis.close()


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        # A killed child stays a zombie until its executor reaps it.
        try:
            if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_a_stuck_image_times_out_and_its_worker_is_replaced(pool: AnalysisPool, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    replaced = REGISTRY.get_sample_value("scrm_screenshot_workers_replaced_total", {"cause": "timeout"}) or 0.0
    started = time.monotonic()
    stuck = pool.submit(HANG, b"poster", str(marker))
    others = [pool.submit(f"ok-{n}".encode(), b"poster", "p") for n in range(6)]
    with pytest.raises(AnalysisTimedOut) as raised:
        stuck.result(timeout=30)
    assert 0.6 <= raised.value.seconds < 5 and raised.value.limit == 0.6
    assert time.monotonic() - started < 10
    # The other slot kept working meanwhile; the queued images were all answered.
    answers = [future.result(timeout=60) for future in others]
    assert all(analysis.evidence.qr.value == "own" for analysis, _ in answers)
    hung = int(marker.read_text(encoding="utf-8"))
    assert gone(hung)
    # Later images run on live workers, the replacement among them.
    later = {int(pool.submit(f"later-{n}".encode(), b"poster", "p").result(timeout=60)[1]) for n in range(8)}
    assert hung not in later and later
    assert pool.timeouts >= 1
    assert REGISTRY.get_sample_value("scrm_screenshot_workers_replaced_total", {"cause": "timeout"}) == replaced + 1


def test_an_image_within_its_limit_is_answered(pool: AnalysisPool) -> None:
    analysis, _ = pool.submit(b"slow picture", b"poster", "p").result(timeout=30)
    assert analysis.fingerprint.sha256 == b"slow picture".hex()


async def test_awaiting_a_stuck_image_raises_the_timeout(pool: AnalysisPool) -> None:
    with pytest.raises(AnalysisTimedOut):
        await asyncio.wait_for(pool.analyze(HANG + b"!", b"poster", "p"), timeout=30)
    analysis, _ = await pool.analyze(b"after", b"poster", "p")
    assert analysis.fingerprint.sha256 == b"after".hex()


def test_no_time_limit_and_a_bad_one() -> None:
    with pytest.raises(ValueError, match="time_limit"):
        AnalysisPool(1, time_limit=0)
    unlimited = AnalysisPool(1, time_limit=None, task=stuck_on_marker)
    try:
        assert unlimited.submit(b"slow", b"poster", "p").result(timeout=60)[0].fingerprint.sha256 == b"slow".hex()
    finally:
        unlimited.close()


def test_a_closed_pool_refuses_work() -> None:
    closing = AnalysisPool(1, task=stuck_on_marker)
    closing.close()
    with pytest.raises(RuntimeError, match="closed"):
        closing.submit(b"x", b"poster", "p")


def test_closing_waits_for_a_stuck_image_only_until_its_limit() -> None:
    closing = AnalysisPool(1, time_limit=0.5, task=stuck_on_marker)
    closing.warm_up()
    stuck = closing.submit(HANG, b"poster", "p")
    queued = closing.submit(b"never started", b"poster", "p")
    time.sleep(0.1)
    started = time.monotonic()
    closing.close()
    assert time.monotonic() - started < 10
    with pytest.raises(AnalysisTimedOut):
        stuck.result(timeout=1)
    assert queued.cancelled()


def test_start_warming_starts_every_worker_without_waiting() -> None:
    warming = AnalysisPool(2, task=stuck_on_marker)
    try:
        started = warming.start_warming()
        assert len(started) == 2
        for future in started:
            future.result(timeout=60)
        assert warming.start_warming() == []  # all ready: nothing left to start
        assert warming.submit(b"quick", b"", "").result(timeout=10) is not None
    finally:
        warming.close()
    assert warming.start_warming() == []  # closed: starts nothing
