from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a consumer retries a failing message before dead-lettering it.

    ``attempts`` counts the first try. Delays grow exponentially from ``initial_delay`` up to
    ``max_delay``. Infrastructure outages (storage unavailable) are not the message's fault: they are
    retried without limit at ``max_delay`` so an outage never floods the dead-letter topic.
    """

    attempts: int = 5
    initial_delay: float = 0.2
    max_delay: float = 5.0
    multiplier: float = 2.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.max_delay, self.initial_delay * self.multiplier ** (attempt - 1)))
