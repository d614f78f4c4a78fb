from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a consumer retries a failing message before dead-lettering it.

    ``attempts`` counts the first try. Delays grow exponentially from ``initial_delay`` up to
    ``max_delay``. Storage trouble (an outage, a transaction conflict) is not the message's fault: it
    is retried without limit, first after ``transient_initial_delay`` (a conflict with another
    partition's transaction clears in milliseconds) and then longer, up to ``max_delay`` (an outage),
    so an outage never floods the dead-letter topic nor a conflict holds a partition for seconds.
    """

    attempts: int = 5
    initial_delay: float = 0.2
    max_delay: float = 5.0
    multiplier: float = 2.0
    transient_initial_delay: float = 0.02

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1)))

    def transient_delay(self, retries: int, jitter: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``retries`` (1-based) of storage trouble. Jittered, between
        half and all of the step: two handlers that conflicted do not retry in lockstep."""
        step = min(self.max_delay, self.transient_initial_delay * self.multiplier ** (retries - 1))
        return float(step * (0.5 + 0.5 * (jitter or _JITTER).random()))


_JITTER = random.Random()  # noqa: S311 (timing jitter, not security)
