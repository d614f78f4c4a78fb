"""Offline evaluation: a manifest of screenshots through the live decision path, decisions out.

``scrm verify-screenshots`` and ``make bench`` use this. Lines are analysed in parallel (the pool) but
concluded strictly in manifest order, as if members had submitted them in that order, so a re-used
screenshot is caught by the line it copies. When lines carry ``truth`` (``genuine`` / ``negative``, as
the synthetic corpus writes), the summary scores the decisions against it.

A *labelled set* (:func:`read_labels`, ``scrm verify-screenshots --labels``) is the same with a person's
decision per line (``label``: approve / reject, and the reject ``reason``), such as the review queue's
export: the summary adds the confusion of labels and decisions, by reason.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.screenshots.domain.analysis import Analysis, ReferenceUnusable
from services.screenshots.domain.reuse import Fingerprint, ReuseIndex
from services.screenshots.domain.verdicts import Decision, DecisionThresholds, Evidence, Reason, Verdict
from services.screenshots.service_layer.ports import AnalysisSubmitter, AnalysisTimedOut
from services.screenshots.service_layer.verification import (
    Analysed,
    Conclusion,
    Submission,
    analysis_timed_out,
    conclude,
    prior_shot,
)

__all__ = [
    "LABELS",
    "Labelled",
    "ManifestError",
    "ManifestLine",
    "PosterDrawer",
    "Score",
    "Summary",
    "confusion_lines",
    "evaluate_manifest",
    "read_labels",
    "read_manifest",
    "score",
]

_REQUIRED = ("file", "poster", "qr_payload", "campaign", "user")
#: A labelled line needs the picture and the code, and the poster or what to draw it from; campaign
#: and user default (one campaign, one member per line), which only matters for the re-use check.
_LABEL_REQUIRED = ("file", "qr_payload")

#: Draws the member's poster for a labelled line that names a ``template`` instead of a ``poster``
#: (the review export): given the line and the labelled set's folder, the poster file's path. Raises
#: ManifestError for a template it cannot draw. The campaigns' renderer does it (``scrm``): this
#: library knows nothing of campaigns.
PosterDrawer = Callable[[dict[str, Any], Path], Path]

#: The labels a labelled set may give, and the truth each one means: what a person decided.
LABELS: dict[str, str] = {"approve": "genuine", "reject": "negative", "genuine": "genuine", "negative": "negative"}


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
    #: Labelled sets: the reason code the person rejected with.
    reason: str | None = None
    labelled: bool = False


def read_manifest(manifest: Path) -> list[ManifestLine]:
    """Every line, checked before any work starts: a typo on line 290 should not cost a long run."""
    return _read(manifest, labelled=False)


def read_labels(labels: Path, draw_poster: PosterDrawer | None = None) -> list[ManifestLine]:
    """A labelled set: each line ``{"file", "poster", "qr_payload", "label"}`` with optional
    ``"reason"`` (the reason code a person rejected with), ``"campaign"``, ``"user"`` and ``"kind"``.
    ``label`` is ``approve`` or ``reject`` (``genuine`` / ``negative`` are read the same). Instead of
    ``poster``, a line may carry ``template`` (the review export does), drawn by ``draw_poster``."""
    return _read(labels, labelled=True, draw_poster=draw_poster)


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value if isinstance(value, str) and value else None


def _read(manifest: Path, *, labelled: bool, draw_poster: PosterDrawer | None = None) -> list[ManifestLine]:
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
            for name in _LABEL_REQUIRED if labelled else _REQUIRED:
                if not isinstance(item.get(name), str) or not item[name]:
                    raise ManifestError(f"{manifest}:{number}: field {name!r} must be a non-empty string")
            truth, reason = _text(item, "truth"), None
            if labelled:
                # A corpus manifest's ``truth`` serves as the label: the confusion by kind, for free.
                label = item.get("label", item.get("truth"))
                if label not in LABELS:
                    raise ManifestError(f"{manifest}:{number}: field 'label' must be one of {', '.join(LABELS)}")
                truth, reason = LABELS[label], _text(item, "reason")
            screenshot = folder / item["file"]
            if labelled and _text(item, "poster") is None:
                if not isinstance(item.get("template"), dict) or draw_poster is None:
                    raise ManifestError(f"{manifest}:{number}: field 'poster' must be a non-empty string")
                if not screenshot.is_file():
                    raise ManifestError(f"{manifest}:{number}: no such file {screenshot}")
                try:
                    poster = draw_poster(item, folder)
                except ManifestError as exc:
                    raise ManifestError(f"{manifest}:{number}: {exc}") from None
            else:
                if not isinstance(item.get("poster"), str) or not item["poster"]:
                    raise ManifestError(f"{manifest}:{number}: field 'poster' must be a non-empty string")
                poster = folder / item["poster"]
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
                    _text(item, "campaign") or "labelled",
                    # Unknown members are all different people: none is the other's re-use.
                    _text(item, "user") or f"line-{number}",
                    truth,
                    _text(item, "kind"),
                    reason,
                    labelled,
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


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


@dataclass
class Summary:
    decisions: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    #: CPU time of each analysis in its worker (the machine's load does not inflate it).
    cpu_ms: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    workers: int = 1
    truths: list[tuple[str, Decision]] = field(default_factory=list)
    #: Lines whose decision disagrees with their truth: (line, kind, decision, reasons).
    misses: list[tuple[int, str, str, list[str]]] = field(default_factory=list)
    #: Labelled lines: their truth, the person's reason (rejections), the decision and its reasons.
    labelled: list[Labelled] = field(default_factory=list)

    @property
    def images(self) -> int:
        return sum(self.decisions.values())

    def percentile(self, q: float) -> float:
        return _percentile(self.latencies_ms, q)

    def cpu_percentile(self, q: float) -> float:
        """CPU milliseconds per analysis at percentile ``q``: the per-image cost on one core."""
        return _percentile(self.cpu_ms, q)

    @property
    def images_per_second(self) -> float:
        return self.images / self.wall_seconds if self.wall_seconds else 0.0

    def score(self) -> Score | None:
        return score(self.truths) if self.truths else None

    def lines(self) -> list[str]:
        out = [
            f"{self.images} images: " + ", ".join(f"{name} {count}" for name, count in sorted(self.decisions.items())),
            f"latency per image (one core): p50 {self.percentile(50):.1f} ms, p95 {self.percentile(95):.1f} ms"
            # CPU time: what one core spends on an analysis, however busy the machine is.
            + (
                f" (CPU p50 {self.cpu_percentile(50):.1f} ms, p95 {self.cpu_percentile(95):.1f} ms)"
                if self.cpu_ms
                else ""
            )
            + f"; {self.images_per_second:.1f} images/s on {self.workers} worker(s)",
        ]
        if self.reasons:
            out.append("reasons: " + ", ".join(f"{name} {count}" for name, count in self.reasons.most_common()))
        result = self.score()
        if result is not None:
            out.append(
                f"auto-approve precision {result.precision:.2%}, recall of genuine {result.recall:.2%}, "
                f"review rate {result.review_rate:.2%}"
            )
        if self.labelled:
            out += confusion_lines(self.labelled)
        return out


@dataclass(frozen=True)
class Labelled:
    """One labelled line as decided: what the person said, what the machine said."""

    line: int
    file: str
    truth: str
    reason: str | None
    decision: Decision
    reasons: tuple[str, ...]
    #: What sort of picture it is (a corpus manifest's ``kind``): groups rejections without a reason.
    kind: str | None = None


_DECISIONS = (Decision.APPROVE, Decision.REVIEW, Decision.REJECT)
_LABEL_OF_TRUTH = {"genuine": "approve", "negative": "reject"}


def confusion_lines(items: list[Labelled], *, misses: int = 20) -> list[str]:
    """The labels against the decisions: a table, then by reason, then the first ``misses`` lines
    where the machine decided otherwise than the person (review counts as otherwise)."""
    table: Counter[tuple[str, Decision]] = Counter((item.truth, item.decision) for item in items)
    out = ["confusion (rows: the label, columns: the verifier's decision):"]
    out.append(f"  {'label':<10}" + "".join(f"{decision.value:>9}" for decision in _DECISIONS))
    for truth, label in _LABEL_OF_TRUTH.items():
        out.append(f"  {label:<10}" + "".join(f"{table[truth, decision]:>9}" for decision in _DECISIONS))
    genuine_misses: Counter[str] = Counter(
        f"{item.reasons[0] if item.reasons else 'none'} ({item.decision.value})"
        for item in items
        if item.truth == "genuine" and item.decision is not Decision.APPROVE
    )
    if genuine_misses:
        out.append(
            "approved by a person, not by the verifier (first reason): "
            + ", ".join(f"{name} {count}" for name, count in genuine_misses.most_common())
        )
    by_reason: dict[str, list[Labelled]] = {}
    for item in items:
        if item.truth == "negative":
            by_reason.setdefault(item.reason or item.kind or "(no reason)", []).append(item)
    if by_reason:
        out.append("rejected by a person, by their reason: the verifier's decisions (same reason found)")
    for reason, group in sorted(by_reason.items(), key=lambda entry: (-len(entry[1]), entry[0])):
        decided = Counter(item.decision for item in group)
        same = sum(1 for item in group if item.reason is not None and item.reason in item.reasons)
        counts = ", ".join(f"{decision.value} {decided[decision]}" for decision in _DECISIONS if decided[decision])
        out.append(f"  {reason}: {len(group)} -> {counts} ({same} same reason)")
    false_approvals = [item for item in items if item.truth == "negative" and item.decision is Decision.APPROVE]
    if false_approvals:
        out.append(f"false approvals: {len(false_approvals)}")
    disagreements = [item for item in items if _LABEL_OF_TRUTH[item.truth] != item.decision.value]
    for item in disagreements[:misses]:
        out.append(
            f"  line {item.line} {item.file}: label {_LABEL_OF_TRUTH[item.truth]}"
            + (f" ({item.reason})" if item.reason else "")
            + f", verifier {item.decision.value} [{', '.join(item.reasons)}]"
        )
    if len(disagreements) > misses:
        out.append(f"  … and {len(disagreements) - misses} more (see the decisions file)")
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
    record: dict[str, Any] = {
        "file": line.file,
        "decision": decision.value,
        "reasons": conclusion.verdict.reason_codes,
        "ms": round(conclusion.ms, 2),
    }
    if line.labelled and line.truth is not None:
        summary.labelled.append(
            Labelled(
                line.number,
                line.file,
                line.truth,
                line.reason,
                decision,
                tuple(conclusion.verdict.reason_codes),
                line.kind,
            )
        )
        record["label"] = _LABEL_OF_TRUTH[line.truth]
        record["label_reason"] = line.reason
        record["agrees"] = record["label"] == decision.value
    return record


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
    # Each campaign's earlier submissions, found by lookup key as the live store finds them.
    earlier: dict[str, ReuseIndex] = {}
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
            except AnalysisTimedOut as exc:
                submission = Submission(f"line-{line.number}", line.campaign, line.user)
                conclusion = analysis_timed_out(submission, line.screenshot.read_bytes(), exc.seconds)
                shot = prior_shot(conclusion)
                if shot is not None:
                    earlier.setdefault(line.campaign, ReuseIndex()).add(shot)
            else:
                submission = Submission(f"line-{line.number}", line.campaign, line.user)
                analysed = Analysed(submission, analysis.evidence, analysis.fingerprint, ms)
                if analysis.cpu_ms:
                    summary.cpu_ms.append(analysis.cpu_ms)
                index = earlier.setdefault(line.campaign, ReuseIndex())
                conclusion = conclude(analysed, index.candidates(analysis.fingerprint), limits)
                shot = prior_shot(conclusion)
                if shot is not None:
                    index.add(shot)
            sink.write(json.dumps(_record(line, conclusion, summary), ensure_ascii=False) + "\n")
    summary.wall_seconds = time.perf_counter() - started
    return summary
