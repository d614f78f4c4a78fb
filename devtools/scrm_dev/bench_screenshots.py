"""The screenshot-verification rows of ``scrm bench``: accuracy, latency, throughput, and generalisation.

Family A's corpus (:mod:`scrm_dev.screenshot_corpus`: several phone sizes, light and dark mode, feed and
detail views, JPEG quality 45-90, crops and resizes, and every negative kind) goes through
:func:`services.screenshots.service_layer.evaluation.evaluate_manifest`, the same path as
``scrm verify-screenshots``, with the default thresholds. Latency is per image in one single-threaded
worker; throughput uses one worker per core.

Generalisation (issue 18): family B (:mod:`scrm_dev.screenshot_family_b`) is drawn by independent code.
Each family has a tuning set and a frozen evaluation set (:mod:`scrm_dev.screenshot_sets`). Thresholds
are calibrated on one family's tuning set (:mod:`scrm_dev.screenshot_calibration`, which refuses frozen
sets) and judged on the other family's frozen set: A→B and B→A, plus the defaults on both frozen sets.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from services.screenshots.adapters.pool import AnalysisPool, default_workers
from services.screenshots.domain.verdicts import DecisionThresholds
from services.screenshots.service_layer.evaluation import Summary, evaluate_manifest, read_manifest

__all__ = [
    "GOALS",
    "bench_cross_family",
    "bench_screenshots",
    "genuine_misses_by_variant",
    "judged_row",
    "misses_by_kind",
]

Row = tuple[str, str, str]

#: From the issue: precision of auto-approval, recall of genuine screenshots, review rate, p95 per image.
GOALS = {"precision": 0.995, "recall": 0.97, "review_rate": 0.05, "p95_ms": 150.0}


def _run(manifest: Path, out: Path, workers: int) -> Summary:
    pool = AnalysisPool(workers)
    try:
        pool.warm_up()
        return evaluate_manifest(read_manifest(manifest), out, pool)
    finally:
        pool.close()


def _meets(summary: Summary) -> bool:
    score = summary.score()
    assert score is not None, "the corpus carries the truth of every line"
    return (
        score.precision >= GOALS["precision"]
        and score.recall >= GOALS["recall"]
        and score.review_rate <= GOALS["review_rate"]
        and _p95(summary) <= GOALS["p95_ms"]
    )


def _p95(summary: Summary) -> float:
    """The latency goal's figure: CPU time per image in its single-threaded worker (one core's cost).

    Wall time on this shared machine also counts the waits for a core that other processes hold; on a
    core of its own an analysis waits for nothing, so its CPU time is its latency there. Both are shown.
    """
    return summary.cpu_percentile(95) if summary.cpu_ms else summary.percentile(95)


def judged_row(label: str, summary: Summary) -> Row:
    """One row: goals met or missed, then precision, recall, review, false approvals, genuine rejected, p95."""
    score = summary.score()
    assert score is not None, "the corpus carries the truth of every line"
    false_approvals = score.approved - score.approved_genuine
    genuine_rejected = score.genuine - score.genuine_approved_or_reviewed
    return (
        f"{label} ({score.images} images, {score.genuine} genuine)",
        "meets" if _meets(summary) else "MISSES",
        f"precision {score.precision:.2%}, recall {score.recall:.2%}, review {score.review_rate:.2%}, "
        f"false approvals {false_approvals}, genuine rejected {genuine_rejected}, "
        f"p95 CPU {_p95(summary):.0f} ms (wall {summary.percentile(95):.0f} ms)",
    )


def misses_by_kind(summary: Summary) -> str:
    """``kind→decision (first reason) count`` for the lines decided against their truth, most first."""
    counts = Counter(
        f"{kind}→{decision}" + (f" ({reasons[0]})" if reasons else "") for _, kind, decision, reasons in summary.misses
    )
    return ", ".join(f"{name} {n}" for name, n in counts.most_common(8)) or "none"


def genuine_misses_by_variant(manifest: Path, summary: Summary) -> str:
    """For family B (its lines carry ``variant``): the genuine lines not approved, by UI language and view."""
    variants: dict[int, dict[str, str]] = {}
    for number, raw in enumerate(manifest.read_text(encoding="utf-8").splitlines(), start=1):
        if raw.strip():
            item = json.loads(raw)
            if isinstance(item.get("variant"), dict):
                variants[number] = item["variant"]
    counts: Counter[str] = Counter()
    for number, kind, _, _ in summary.misses:
        variant = variants.get(number)
        if variant and kind.startswith("genuine"):
            counts.update(f"{key}={variant[key]}" for key in ("lang", "view", "os", "dark") if key in variant)
    return ", ".join(f"{name} {n}" for name, n in counts.most_common(8)) or "none"


def bench_cross_family(state_dir: Path) -> list[Row]:
    """Calibrate on each family's tuning set, judge on the other's frozen set (and the defaults on both)."""
    from scrm_dev.screenshot_calibration import calibrate_manifest, judge
    from scrm_dev.screenshot_sets import SETS, Family, materialise

    root = state_dir / "bench" / "screenshot-sets"
    manifests = {key: materialise(spec, root) for key, spec in SETS.items()}
    rows: list[Row] = []
    tuned: dict[str, DecisionThresholds] = {}
    families: tuple[Family, Family] = ("A", "B")
    for family in families:
        calibration = calibrate_manifest(manifests[(family, "tuning")], workers=default_workers())
        tuned[family] = calibration.thresholds
        (root / f"thresholds-tuned-on-{family}.json").write_text(calibration.to_json(), encoding="utf-8")
        changed = {
            name: value
            for name, value in vars(calibration.thresholds).items()
            if value != getattr(DecisionThresholds(), name)
        }
        rows.append(
            (
                f"screenshot thresholds calibrated on family {family}'s tuning set",
                ", ".join(f"{name} {value}" for name, value in changed.items()) or "the defaults",
                f"on that set: recall {calibration.tuned.recall:.2%} (defaults {calibration.default.recall:.2%}), "
                f"review {calibration.tuned.review_rate:.2%}, precision {calibration.tuned.precision:.2%}",
            )
        )
    for source, target in ((families[0], families[1]), (families[1], families[0])):
        frozen = manifests[(target, "frozen")]
        summary = judge(frozen, frozen.parent / f"decisions-tuned-on-{source}.jsonl", tuned[source], workers=1)
        rows.append(judged_row(f"screenshots tuned on {source} → frozen {target}", summary))
        rows.append(
            (f"  misses on frozen {target} (tuned on {source})", str(len(summary.misses)), misses_by_kind(summary))
        )
        by_variant = genuine_misses_by_variant(frozen, summary)
        if by_variant != "none":  # family B's lines carry their variant (UI language, view, phone, theme)
            rows.append((f"  genuine not approved on frozen {target}, by variant", "", by_variant))
    for family in families:
        frozen = manifests[(family, "frozen")]
        summary = judge(frozen, frozen.parent / "decisions-defaults.jsonl", DecisionThresholds(), workers=1)
        rows.append(judged_row(f"screenshots, default thresholds → frozen {family}", summary))
    return rows


def bench_screenshots(state_dir: Path, *, count: int = 320, seed: int = 7) -> list[Row]:
    from scrm_dev.screenshot_corpus import generate_corpus

    folder = state_dir / "bench" / f"screenshots-{count}-{seed}"
    manifest = folder / "manifest.jsonl"
    if not manifest.is_file():
        generate_corpus(folder, count=count, seed=seed)
    single = _run(manifest, folder / "decisions-1.jsonl", 1)
    cores = default_workers()
    parallel = _run(manifest, folder / f"decisions-{cores}.jsonl", cores)
    score = single.score()
    assert score is not None, "the corpus carries the truth of every line"
    decisions = ", ".join(f"{name} {n}" for name, n in sorted(single.decisions.items()))
    return [
        (
            f"screenshot verification, one worker ({single.images} synthetic screenshots: {decisions})",
            f"{single.images_per_second:.1f} images/s",
            f"p50 {single.percentile(50):.1f} ms, p95 {single.percentile(95):.1f} ms per image; "
            f"CPU p50 {single.cpu_percentile(50):.1f} ms, p95 {single.cpu_percentile(95):.1f} ms",
        ),
        (
            f"screenshot verification, {cores} workers (one per core)",
            f"{parallel.images_per_second:.1f} images/s",
            f"p50 {parallel.percentile(50):.1f} ms, p95 {parallel.percentile(95):.1f} ms per image",
        ),
        (
            "screenshot goal: precision ≥99.5%, recall ≥97%, review ≤5%, p95 ≤150 ms",
            "meets" if _meets(single) else "MISSES",
            f"precision {score.precision:.2%}, recall {score.recall:.2%}, review {score.review_rate:.2%}, "
            f"p95 CPU {_p95(single):.0f} ms",
        ),
        *bench_cross_family(state_dir),
    ]
