"""Time, injected: token expiry, windows, quotas and media expiry all read a :class:`Clock`."""

from __future__ import annotations

from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...

    def advance(self, seconds: float) -> None:
        """Move time forward (tests, and the sim-only clock endpoint)."""
        ...


class ManualClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_714_036_504.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._now += seconds
