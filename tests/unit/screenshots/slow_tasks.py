"""Analyses for the pool's time-limit tests, importable by its (spawned) worker processes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from services.screenshots.domain.analysis import Analysis
from services.screenshots.domain.reuse import Fingerprint
from services.screenshots.domain.verdicts import Evidence, QrMatch

__all__ = ["HANG", "stuck_on_marker"]

#: A screenshot starting with this never finishes its analysis.
HANG = b"hang"


def stuck_on_marker(screenshot: bytes, poster: bytes, payload: str) -> tuple[Analysis, float]:
    """Hangs (as native code might) on :data:`HANG` pictures, after writing its pid to ``payload``
    when that is a path; otherwise answers at once with its pid in place of the milliseconds."""
    if screenshot.startswith(HANG):
        if payload.startswith("/"):
            Path(payload).write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(3600)
    if screenshot.startswith(b"slow"):
        time.sleep(0.3)
    evidence = Evidence(qr=QrMatch.OWN, artwork_score=0.9, poster_share=0.5)
    return Analysis(evidence, Fingerprint(screenshot.hex(), None)), float(os.getpid())
