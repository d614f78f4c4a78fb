"""Offline evaluation: a manifest of screenshots through the live decision path, decisions out.

``scrm verify-screenshots`` and ``make bench`` use this. Lines are analysed in parallel (the pool) but
concluded strictly in manifest order, as if members had submitted them in that order, so a re-used
screenshot is caught by the line it copies. When lines carry ``truth`` (``genuine`` / ``negative``, as
the synthetic corpus writes), the summary scores the decisions against it.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.screenshots.domain.analysis import Analysis, ReferenceUnusable
from services.screenshots.domain.reuse import Fingerprint, PriorShot
from services.screenshots.domain.verdicts import Decision, DecisionThresholds, Evidence, Reason, Verdict
from services.screenshots.service_layer.ports import AnalysisSubmitter
from services.screenshots.service_layer.verification import (
    Analysed,
    Conclusion,
    Submission,
    conclude,
    prior_shot,
)

__all__ = ["ManifestError", "ManifestLine", "Score", "Summary", "evaluate_manifest", "read_manifest", "score"]

_REQUIRED = ("file", "poster", "qr_payload", "campaign", "user")


class ManifestError(ValueError):
    """A manifest line that cannot be evaluated: not JSON, a missing field, a file that is not there."""


@dataclass(frozen=True)
class ManifestLine:
    number: int
    file: str
    screenshot: Path
    poster: Path
    qr_payload: str
    campaign: str
    user: str
    truth: str | None = None
    kind: str | None = None


def read_manifest(manifest: Path) -> list[ManifestLine]:
    """Every line, checked before any work starts: a typo on line 290 should not cost a long run."""
    folder = manifest.parent
    lines: list[ManifestLine] = []
    with manifest.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                item: Any = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ManifestError(f"{manifest}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(item, dict):
                raise ManifestError(f"{manifest}:{number}: expected an object")
            for name in _REQUIRED:
                if not isinstance(item.get(name), str) or not item[name]:
                    raise ManifestError(f"{manifest}:{number}: field {name!r} must be a non-empty string")
            screenshot, poster = folder / item["file"], folder / item["poster"]
            for path in (screenshot, poster):
                if not path.is_file():
                    raise ManifestError(f"{manifest}:{number}: no such file {path}")
            lines.append(
                ManifestLine(
                    number,
                    item["file"],
                    screenshot,
                    poster,
                    item["qr_payload"],
                    item["campaign"],
                    item["user"],
                    item.get("truth") if isinstance(item.get("truth"), str) else None,
                    item.get("kind") if isinstance(item.get("kind"), str) else None,
                )
            )
    return lines


@dataclass(frozen=True)
class Score:
    """Decisions against the truth: what ``make bench`` reports."""

    images: int
    genuine: int
    approved: int
    approved_genuine: int
    genuine_approved_or_reviewed: int
    reviewed: int

    @property
    def precision(self) -> float:
        """Of the auto-approved, the share that were genuine."""
        return self.approved_genuine / self.approved if self.approved else 1.0

    @property
    def recall(self) -> float:
        """Of the genuine, the share approved automatically."""
        return self.approved_genuine / self.genuine if self.genuine else 1.0

    @property
    def review_rate(self) -> float:
        return self.reviewed / self.images if self.images else 0.0


def score(pairs: list[tuple[str, Decision]]) -> Score:
    """``pairs`` of (truth, decision)."""
    genuine = [decision for truth, decision in pairs if truth == "genuine"]
    approved = [truth for truth, decision in pairs if decision is Decision.APPROVE]
    return Score(
        images=len(pairs),
        genuine=len(genuine),
        approved=len(approved),
        approved_genuine=sum(1 for truth in approved if truth == "genuine"),
        genuine_approved_or_reviewed=sum(1 for decision in genuine if decision is not Decision.REJECT),
        reviewed=sum(1 for _, decision in pairs if decision is Decision.REVIEW),
    )


@dataclass
class Summary:
    decisions: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    workers: int = 1
    truths: list[tuple[str, Decision]] = field(default_factory=list)
    #: Lines whose decision disagrees with their truth: (line, kind, decision, reasons).
    misses: list[tuple[int, str, str, list[str]]] = field(default_factory=list)

    @property
    def images(self) -> int:
        return sum(self.decisions.values())

    def percentile(self, q: float) -> float:
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]

    @property
    def images_per_second(self) -> float:
        return self.images / self.wall_seconds if self.wall_seconds else 0.0

    def score(self) -> Score | None:
        return score(self.truths) if self.truths else None

    def lines(self) -> list[str]:
        out = [
            f"{self.images} images: " + ", ".join(f"{name} {count}" for name, count in sorted(self.decisions.items())),
            f"latency per image (one core): p50 {self.percentile(50):.1f} ms, p95 {self.percentile(95):.1f} ms; "
            f"{self.images_per_second:.1f} images/s on {self.workers} worker(s)",
        ]
        if self.reasons:
            out.append("reasons: " + ", ".join(f"{name} {count}" for name, count in self.reasons.most_common()))
        result = self.score()
        if result is not None:
            out.append(
                f"auto-approve precision {result.precision:.2%}, recall of genuine {result.recall:.2%}, "
                f"review rate {result.review_rate:.2%}"
            )
        return out


def _record(line: ManifestLine, conclusion: Conclusion, summary: Summary) -> dict[str, Any]:
    decision = conclusion.verdict.decision
    summary.decisions[decision.value] += 1
    summary.reasons.update(conclusion.verdict.reason_codes)
    summary.latencies_ms.append(conclusion.ms)
    if line.truth in ("genuine", "negative"):
        summary.truths.append((line.truth, decision))
        expected = Decision.APPROVE if line.truth == "genuine" else Decision.REJECT
        if decision is not expected:
            summary.misses.append(
                (line.number, line.kind or line.truth, decision.value, conclusion.verdict.reason_codes)
            )
    return {
        "file": line.file,
        "decision": decision.value,
        "reasons": conclusion.verdict.reason_codes,
        "ms": round(conclusion.ms, 2),
    }


def _unusable(line: ManifestLine) -> Conclusion:
    submission = Submission(f"line-{line.number}", line.campaign, line.user)
    verdict = Verdict(Decision.REVIEW, (Reason.REFERENCE_UNUSABLE,))
    return Conclusion(submission, verdict, Evidence(), Fingerprint("", None), 0.0)


def evaluate_manifest(
    lines: list[ManifestLine],
    out: Path,
    pool: AnalysisSubmitter,
    thresholds: DecisionThresholds | None = None,
) -> Summary:
    """Decide every line and write one JSON line per screenshot to ``out``."""
    limits = thresholds or DecisionThresholds()
    earlier: dict[str, list[PriorShot]] = {}
    summary = Summary(workers=pool.workers)
    window = max(2, pool.workers * 4)
    started = time.perf_counter()
    pending: deque[tuple[ManifestLine, Future[tuple[Analysis, float]]]] = deque()
    todo: Iterator[ManifestLine] = iter(lines)
    with out.open("w", encoding="utf-8") as sink:

        def refill() -> None:
            while len(pending) < window:
                line = next(todo, None)
                if line is None:
                    return
                pending.append(
                    (line, pool.submit(line.screenshot.read_bytes(), line.poster.read_bytes(), line.qr_payload))
                )

        refill()
        while pending:
            line, future = pending.popleft()
            refill()
            try:
                analysis, ms = future.result()
            except ReferenceUnusable:
                conclusion = _unusable(line)
            else:
                submission = Submission(f"line-{line.number}", line.campaign, line.user)
                analysed = Analysed(submission, analysis.evidence, analysis.fingerprint, ms)
                campaign_shots = earlier.setdefault(line.campaign, [])
                conclusion = conclude(analysed, campaign_shots, limits)
                shot = prior_shot(conclusion)
                if shot is not None:
                    campaign_shots.append(shot)
            sink.write(json.dumps(_record(line, conclusion, summary), ensure_ascii=False) + "\n")
    summary.wall_seconds = time.perf_counter() - started
    return summary
