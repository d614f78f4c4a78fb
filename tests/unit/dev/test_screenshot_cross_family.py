"""The one-pass cross-family report: its figures and its verdict line."""

from __future__ import annotations

from pathlib import Path

from scrm_dev.screenshot_calibration import Measured
from scrm_dev.screenshot_cross_family import cpu_p95, row
from services.screenshots.domain.analysis import Analysis
from services.screenshots.domain.reuse import Fingerprint
from services.screenshots.domain.verdicts import Evidence
from services.screenshots.service_layer.evaluation import ManifestLine, Score


def measured(cpu: float | None) -> Measured:
    line = ManifestLine(1, "a.jpg", Path("a.jpg"), Path("p.png"), "q", "c", "u", "genuine")
    analysis = None if cpu is None else Analysis(Evidence(), Fingerprint("x", None), cpu_ms=cpu)
    return Measured(line, analysis, 0.0)


def test_cpu_p95_counts_only_analysed_pictures() -> None:
    assert cpu_p95([measured(float(n)) for n in range(1, 101)] + [measured(None)]) == 96.0
    assert cpu_p95([]) == 0.0


def test_the_row_says_whether_the_goals_are_met() -> None:
    good = Score(images=100, genuine=50, approved=49, approved_genuine=49, genuine_approved_or_reviewed=50, reviewed=2)
    assert row("x", good, 140.0).startswith("x: meets — precision 100.00%, recall 98.00%, review 2.00%")
    assert "MISSES" in row("x", good, 160.0)  # over the latency goal
    bad = Score(images=100, genuine=50, approved=50, approved_genuine=49, genuine_approved_or_reviewed=49, reviewed=0)
    assert "false approvals 1, genuine rejected 1" in row("x", bad, 100.0)
