"""Both cross-family directions, each set analysed once: ``python -m scrm_dev.screenshot_cross_family``.

The same figures as the cross-family rows of ``scrm bench --only screenshots``, for a machine too busy
for the bench's run (which analyses the frozen sets once per threshold set, with the 2-second time
limit a loaded machine's waits can exceed). Every set is analysed once, without a time limit and with
nothing skipped (:func:`scrm_dev.screenshot_calibration.measure`); thresholds are calibrated on each
family's *tuning* measurements only (the tuning sets are read through ``read_for_tuning``, which
refuses frozen ones); the frozen sets' measurements are only replayed, with the thresholds tuned on
the other family and with the defaults. Replaying decides exactly as a run with those thresholds
would: what the analysis skips under a threshold is only ever skipped once the outcome is a rejection.
Latency is the CPU time of each analysis in its single-threaded worker.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scrm_dev.screenshot_calibration import Measured, _permissive, calibrate, measure, replay
from scrm_dev.screenshot_sets import SETS, Family, materialise, read_for_tuning
from services.screenshots.adapters.pool import AnalysisPool, default_workers
from services.screenshots.domain.verdicts import DecisionThresholds
from services.screenshots.service_layer.evaluation import Score, read_manifest

__all__ = ["cpu_p95", "main", "row"]


def cpu_p95(measured: list[Measured]) -> float:
    values = sorted(item.analysis.cpu_ms for item in measured if item.analysis is not None)
    return values[min(len(values) - 1, int(0.95 * len(values)))] if values else 0.0


def row(label: str, result: Score, p95: float) -> str:
    false_approvals = result.approved - result.approved_genuine
    genuine_rejected = result.genuine - result.genuine_approved_or_reviewed
    meets = result.precision >= 0.995 and result.recall >= 0.97 and result.review_rate <= 0.05 and p95 <= 150
    return (
        f"{label}: {'meets' if meets else 'MISSES'} — precision {result.precision:.2%}, recall {result.recall:.2%}, "
        f"review {result.review_rate:.2%}, false approvals {false_approvals}, genuine rejected {genuine_rejected}, "
        f"p95 CPU {p95:.0f} ms ({result.images} images, {result.genuine} genuine)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scrm_dev.screenshot_cross_family")
    parser.add_argument("--state", type=Path, default=Path(".scrm"), help="where the sets are (bench/screenshot-sets)")
    parser.add_argument("--workers", type=int, default=default_workers())
    args = parser.parse_args(argv)
    root = args.state / "bench" / "screenshot-sets"
    families: tuple[Family, Family] = ("A", "B")
    pool = AnalysisPool(args.workers, thresholds=_permissive(), time_limit=None)
    measured: dict[tuple[Family, str], list[Measured]] = {}
    try:
        pool.warm_up()
        for (family, split), spec in SETS.items():
            manifest = materialise(spec, root)
            # Tuning sets through the door that refuses frozen ones; frozen sets are only measured.
            lines = read_for_tuning(manifest) if split == "tuning" else read_manifest(manifest)
            measured[family, split] = measure(lines, pool)
            sys.stdout.write(f"measured {spec.tag}: {len(lines)} images\n")
    finally:
        pool.close()
    tuned: dict[Family, DecisionThresholds] = {}
    for family in families:
        calibration = calibrate(measured[family, "tuning"])
        tuned[family] = calibration.thresholds
        changed = {
            name: value
            for name, value in vars(calibration.thresholds).items()
            if value != getattr(DecisionThresholds(), name)
        }
        sys.stdout.write(
            f"calibrated on {family}'s tuning set: {changed or 'the defaults'}; "
            + row("on that set", calibration.tuned, cpu_p95(measured[family, "tuning"]))
            + "\n"
        )
    for source, target in ((families[0], families[1]), (families[1], families[0])):
        frozen = measured[target, "frozen"]
        judged = replay(frozen, tuned[source])
        sys.stdout.write(row(f"tuned on {source} → frozen {target}", judged, cpu_p95(frozen)) + "\n")
    for family in families:
        frozen = measured[family, "frozen"]
        sys.stdout.write(
            row(f"defaults → frozen {family}", replay(frozen, DecisionThresholds()), cpu_p95(frozen)) + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
