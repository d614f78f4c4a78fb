from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

__all__ = ["Clock"]


class Clock:
    """Time as the client sees it: monotonic seconds for spacing calls, wall time for token expiry
    (shared between processes, so it has to be a wall clock), and sleeping.

    Tests pass a subclass whose ``sleep`` advances a fake time instead of waiting.
    """

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
