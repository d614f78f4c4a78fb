"""Hypothesis profiles for the fuzz tests: ``quick`` (the default, inside ``make test``: few examples,
derandomized so a run is repeatable) and ``faults`` (``make test-faults``: many random examples, kept
in ``.scrm/hypothesis`` so a failure found once is replayed first next time).

``SCRM_FUZZ_PROFILE`` picks one; ``SCRM_FUZZ_EXAMPLES`` overrides the example count of either.
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

_REPO = Path(__file__).resolve().parents[3]
_EXAMPLES = os.environ.get("SCRM_FUZZ_EXAMPLES")
# Every test of the tree has the autouse ``clean_environ`` fixture (function-scoped, idempotent): running
# it once for all the examples of a test is what we want. The apps are built once per module for speed.
_SUPPRESSED = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "quick",
    max_examples=int(_EXAMPLES or 25),
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
)
settings.register_profile(
    "faults",
    max_examples=int(_EXAMPLES or 2000),
    deadline=None,
    database=DirectoryBasedExampleDatabase(str(_REPO / ".scrm" / "hypothesis")),
    print_blob=True,
    suppress_health_check=_SUPPRESSED,
)
settings.load_profile(os.environ.get("SCRM_FUZZ_PROFILE", "quick"))
