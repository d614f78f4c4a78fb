"""The screenshot-verification rows of ``scrm bench``: accuracy on a synthetic corpus, latency, throughput.

The corpus comes from :mod:`scrm_dev.screenshot_corpus` (several phone sizes, light and dark mode, feed and
detail views, JPEG quality 45-90, crops and resizes, and every negative kind), and goes through
:func:`services.screenshots.service_layer.evaluation.evaluate_manifest`, the same path as
``scrm verify-screenshots``. Latency is per image in one single-threaded worker; throughput uses one
worker per core.
"""

from __future__ import annotations

from pathlib import Path

from services.screenshots.adapters.pool import AnalysisPool, default_workers
from services.screenshots.service_layer.evaluation import Summary, evaluate_manifest, read_manifest

__all__ = ["GOALS", "bench_screenshots"]

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
    met = (
        score.precision >= GOALS["precision"]
        and score.recall >= GOALS["recall"]
        and score.review_rate <= GOALS["review_rate"]
        and single.percentile(95) <= GOALS["p95_ms"]
    )
    decisions = ", ".join(f"{name} {n}" for name, n in sorted(single.decisions.items()))
    return [
        (
            f"screenshot verification, one worker ({single.images} synthetic screenshots: {decisions})",
            f"{single.images_per_second:.1f} images/s",
            f"p50 {single.percentile(50):.1f} ms, p95 {single.percentile(95):.1f} ms per image",
        ),
        (
            f"screenshot verification, {cores} workers (one per core)",
            f"{parallel.images_per_second:.1f} images/s",
            f"p50 {parallel.percentile(50):.1f} ms, p95 {parallel.percentile(95):.1f} ms per image",
        ),
        (
            "screenshot goal: precision ≥99.5%, recall ≥97%, review ≤5%, p95 ≤150 ms",
            "meets" if met else "MISSES",
            f"precision {score.precision:.2%}, recall {score.recall:.2%}, review {score.review_rate:.2%}",
        ),
    ]
