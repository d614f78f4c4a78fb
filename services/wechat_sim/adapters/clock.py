"""The clock of a running simulator: the system's, plus whatever ``/sim/clock/advance`` added."""

from __future__ import annotations

import threading
import time


class SystemClock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._offset += seconds
