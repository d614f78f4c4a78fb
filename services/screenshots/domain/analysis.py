"""What analysing one screenshot yields, and the one way it can fail that is not the member's doing."""

from __future__ import annotations

from dataclasses import dataclass

from services.screenshots.domain.reuse import Fingerprint
from services.screenshots.domain.verdicts import Evidence

__all__ = ["Analysis", "ReferenceUnusable"]


@dataclass(frozen=True)
class Analysis:
    """The measurements (evidence) and the fingerprints later submissions are compared with."""

    evidence: Evidence
    fingerprint: Fingerprint
    #: CPU time the analysis took in its (single-threaded) worker, in milliseconds: what one core
    #: spends on it, whatever else shares the machine (wall time also counts the waits for a core).
    cpu_ms: float = 0.0


class ReferenceUnusable(Exception):
    """The issued poster cannot serve as a reference (no decodable QR code in it)."""
