"""Calibration: choose the verifier's thresholds on one family's tuning set, judge them on another's frozen set.

Every numeric field of :class:`~services.screenshots.domain.verdicts.DecisionThresholds` is a threshold.
The tuning set is analysed once (with a permissive analysis, so no check is skipped because of a
threshold still being tuned); then the decisions are replayed in manifest order for candidate
thresholds, one field at a time around the current best (coordinate search, two rounds). A candidate
must meet the precision goal; among those, the best recall minus half the review rate minus twice the
share of genuine screenshots rejected wins. A field
moves only when that improves on the current value; it then goes to the middle of the run of equally
good values (the margin another set is likeliest to forgive), not to the first value that worked.
The tuning set is read through :func:`scrm_dev.screenshot_sets.read_for_tuning`, which refuses frozen
sets.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scrm_dev.screenshot_sets import read_for_tuning
from services.screenshots.adapters.pool import AnalysisPool
from services.screenshots.domain.analysis import Analysis, ReferenceUnusable
from services.screenshots.domain.reuse import ReuseIndex
from services.screenshots.domain.verdicts import Decision, DecisionThresholds
from services.screenshots.service_layer.evaluation import ManifestLine, Score, Summary, evaluate_manifest, score
from services.screenshots.service_layer.verification import Analysed, Submission, conclude, prior_shot

__all__ = [
    "Calibration",
    "Measured",
    "calibrate",
    "calibrate_manifest",
    "judge",
    "measure",
    "replay",
    "threshold_fields",
]

#: The goals of issue 18.
PRECISION_GOAL = 0.995
#: Offsets tried around a threshold's current value.
_STEPS = (-0.3, -0.2, -0.15, -0.1, -0.05, -0.02, -0.01, 0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)


@dataclass(frozen=True)
class Measured:
    """One tuning line, analysed once; ``analysis`` None when the issued poster was unusable."""

    line: ManifestLine
    analysis: Analysis | None
    ms: float


@dataclass(frozen=True)
class Calibration:
    thresholds: DecisionThresholds
    #: The tuning set's score with the chosen thresholds, and with the defaults.
    tuned: Score
    default: Score

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self.thresholds), indent=2, sort_keys=True) + "\n"


def threshold_fields() -> list[str]:
    """The numeric fields of DecisionThresholds: what calibration may move."""
    return [f.name for f in dataclasses.fields(DecisionThresholds) if f.type in ("float", float)]


def _permissive() -> DecisionThresholds:
    # Reading the Moments UI is skipped when the outcome is already a rejection (a picture wider than
    # max_thumbnail_share, the member's code on other artwork); measure everything.
    return dataclasses.replace(
        DecisionThresholds(), max_thumbnail_share=10.0, artwork_mismatch=-1.0, artwork_cells_mismatch=-1.0
    )


def measure(lines: list[ManifestLine], pool: AnalysisPool) -> list[Measured]:
    futures = [pool.submit(line.screenshot.read_bytes(), line.poster.read_bytes(), line.qr_payload) for line in lines]
    out: list[Measured] = []
    for line, future in zip(lines, futures, strict=True):
        try:
            analysis, ms = future.result()
        except ReferenceUnusable:
            out.append(Measured(line, None, 0.0))
        else:
            out.append(Measured(line, analysis, ms))
    return out


def replay(measured: list[Measured], thresholds: DecisionThresholds) -> Score:
    """The decisions ``thresholds`` give on already analysed lines, in manifest order."""
    earlier: dict[str, ReuseIndex] = {}
    pairs: list[tuple[str, Decision]] = []
    for item in measured:
        line = item.line
        if item.analysis is None:
            decision = Decision.REVIEW
        else:
            submission = Submission(f"line-{line.number}", line.campaign, line.user)
            analysed = Analysed(submission, item.analysis.evidence, item.analysis.fingerprint, item.ms)
            index = earlier.setdefault(line.campaign, ReuseIndex())
            conclusion = conclude(analysed, index.candidates(item.analysis.fingerprint), thresholds)
            shot = prior_shot(conclusion)
            if shot is not None:
                index.add(shot)
            decision = conclusion.verdict.decision
        if line.truth in ("genuine", "negative"):
            pairs.append((line.truth, decision))
    return score(pairs)


def _utility(result: Score) -> tuple[int, float, float]:
    meets = result.precision >= PRECISION_GOAL
    # Below the precision goal only precision counts. Above it: recall, less half the review rate, less
    # twice the genuine members rejected (a wrong "no" is worse than a person's look: turning reviews of
    # genuine screenshots into rejections must not pay).
    genuine_rejected = (
        (result.genuine - result.genuine_approved_or_reviewed) / result.genuine if result.genuine else 0.0
    )
    value = result.recall - 0.5 * result.review_rate - 2.0 * genuine_rejected
    return (1, value, 0.0) if meets else (0, result.precision, result.recall)


def _plateau_middle(trials: list[tuple[float, Score]], top: tuple[int, float, float], base: float) -> float:
    """The middle of the run of best-scoring values nearest the default.

    Any value on the plateau fits the tuning set equally; its middle is furthest from both edges where
    the tuning set started to disagree, which is what another set is likeliest to forgive.
    """
    best = [i for i, (_, result) in enumerate(trials) if _utility(result) == top]
    anchor = min(best, key=lambda i: abs(trials[i][0] - base))
    low = high = anchor
    while low - 1 in best:
        low -= 1
    while high + 1 in best:
        high += 1
    return trials[(low + high) // 2][0]


def calibrate(measured: list[Measured], *, rounds: int = 2) -> Calibration:
    defaults = DecisionThresholds()
    best = defaults
    best_score = replay(measured, best)
    for _ in range(rounds):
        for name in threshold_fields():
            current = float(getattr(best, name))
            base = float(getattr(defaults, name))
            candidates = sorted({round(current + step, 4) for step in _STEPS if current + step > 0})
            if base <= 1.0:  # scores and similarities live in 0..1
                candidates = [c for c in candidates if c <= 1.0]
            trials = [(value, replay(measured, dataclasses.replace(best, **{name: value}))) for value in candidates]
            top = max(_utility(result) for _, result in trials)
            if top > _utility(best_score):
                value = _plateau_middle(trials, top, base)
                best = dataclasses.replace(best, **{name: value})
                best_score = next(result for candidate, result in trials if candidate == value)
    return Calibration(best, best_score, replay(measured, defaults))


def calibrate_manifest(
    manifest: Path, *, workers: int | None = None, progress: Callable[[str], None] | None = None
) -> Calibration:
    """Thresholds from a tuning manifest (never a frozen one: read_for_tuning refuses those)."""
    lines = read_for_tuning(manifest)
    # No time limit: calibration needs every picture's evidence, however busy the machine is.
    pool = AnalysisPool(workers, thresholds=_permissive(), time_limit=None)
    try:
        pool.warm_up()
        if progress:
            progress(f"analysing {len(lines)} tuning screenshots")
        measured = measure(lines, pool)
    finally:
        pool.close()
    return calibrate(measured)


def judge(manifest: Path, out: Path, thresholds: DecisionThresholds, *, workers: int = 1) -> Summary:
    """``thresholds`` on a (frozen) evaluation set, through the same path as ``scrm verify-screenshots``."""
    from services.screenshots.service_layer.evaluation import read_manifest

    pool = AnalysisPool(workers, thresholds=thresholds)
    try:
        pool.warm_up()
        return evaluate_manifest(read_manifest(manifest), out, pool, thresholds)
    finally:
        pool.close()


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def main(argv: list[str] | None = None) -> int:
    """``python -m scrm_dev.screenshot_calibration TUNING.jsonl --out thresholds.json [--judge FROZEN.jsonl]``.

    Writes the calibrated thresholds (the file ``SCREENSHOT_THRESHOLDS_FILE`` reads) and, with
    ``--judge``, measures them on an evaluation set (a frozen one is fine there: it is only measured).
    """
    import argparse

    from scrm_dev.screenshot_sets import FrozenSetError

    parser = argparse.ArgumentParser(prog="python -m scrm_dev.screenshot_calibration")
    parser.add_argument("tuning", type=Path, help="manifest of the tuning set (never a frozen one)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the thresholds (JSON)")
    parser.add_argument("--judge", type=Path, help="manifest of an evaluation set to measure them on")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    try:
        calibration = calibrate_manifest(args.tuning, workers=args.workers, progress=_say)
    except FrozenSetError as exc:
        sys.stderr.write(f"refused: {exc}\n")
        return 2
    args.out.write_text(calibration.to_json(), encoding="utf-8")
    tuned, default = calibration.tuned, calibration.default
    _say(f"tuning set: recall {tuned.recall:.2%} (defaults {default.recall:.2%}), review {tuned.review_rate:.2%}")
    _say(f"thresholds written to {args.out}")
    if args.judge is not None:
        summary = judge(args.judge, args.out.with_suffix(".decisions.jsonl"), calibration.thresholds, workers=1)
        for line in summary.lines():
            _say(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
