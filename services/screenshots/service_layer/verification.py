"""Verifying one submitted screenshot: analysis (CPU, in a worker process), then the decision.

The two halves are separate on purpose. Analysis depends only on the image and the member's poster, so
many run in parallel; the decision compares fingerprints with earlier submissions of the campaign, so
it runs in submission order — a screenshot can only be a copy of one submitted before it. The live
worker and ``scrm verify-screenshots`` both go through :func:`conclude`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from services.screenshots.domain.reuse import Fingerprint, PriorShot, ReuseFinding, find_reuse, pending_twin
from services.screenshots.domain.similarity import line_agreement, line_scores, similarity
from services.screenshots.domain.verdicts import (
    Decision,
    DecisionThresholds,
    Evidence,
    QrMatch,
    Reason,
    ReuseMatch,
    Verdict,
    decide,
)

__all__ = ["Analysed", "Conclusion", "Submission", "analysis_timed_out", "conclude", "prior_shot"]


@dataclass(frozen=True)
class Submission:
    """A screenshot a member sent for a campaign's share task. ``id`` is unique (the message id)."""

    id: str
    campaign_id: str
    user: str


@dataclass(frozen=True)
class Analysed:
    submission: Submission
    evidence: Evidence
    fingerprint: Fingerprint
    #: Time the analysis took in its worker.
    ms: float


@dataclass(frozen=True)
class Conclusion:
    submission: Submission
    verdict: Verdict
    evidence: Evidence
    fingerprint: Fingerprint
    #: Time spent on this screenshot: analysis plus decision.
    ms: float


def conclude(analysed: Analysed, earlier: Sequence[PriorShot], thresholds: DecisionThresholds) -> Conclusion:
    """Compare with ``earlier`` submissions of the campaign and decide.

    The caller records the conclusion (with its fingerprint) where later submissions will find it:
    in the same transaction as the decision's effects, in the live worker.
    """
    started = _now_ms()
    submission, evidence = analysed.submission, analysed.evidence
    if evidence.image_problem is None:
        others = [shot for shot in earlier if shot.submission_id != submission.id]
        reuse = _reuse(find_reuse, analysed, others, thresholds)
        if reuse.match is ReuseMatch.NONE:
            # Not re-use, but the member's own picture still before a person: it waits for them too.
            twin = _reuse(pending_twin, analysed, others, thresholds)
            if twin.match is not ReuseMatch.NONE:
                reuse = twin
        score = None if reuse.similarity is None else round(reuse.similarity, 4)
        evidence = replace(evidence, reuse=reuse.match, reuse_similarity=score, reused_from=reuse.submission_id)
    verdict = decide(evidence, thresholds)
    return Conclusion(submission, verdict, evidence, analysed.fingerprint, analysed.ms + _now_ms() - started)


def _reuse(
    finder: Callable[..., ReuseFinding], analysed: Analysed, others: list[PriorShot], thresholds: DecisionThresholds
) -> ReuseFinding:
    return finder(
        analysed.fingerprint,
        analysed.submission.user,
        others,
        similarity,
        copy_at=thresholds.reuse_copy_similarity,
        close_at=thresholds.reuse_close_similarity,
        lines=line_agreement,
        line_scores=line_scores,
    )


def analysis_timed_out(submission: Submission, content: bytes, seconds: float) -> Conclusion:
    """An image whose analysis went past its time limit (the worker was replaced): a person decides.

    Nothing was measured, but the file's SHA-256 is kept, so the very same file sent again is still
    found as a copy; the fingerprint has no context to compare near-copies with."""
    verdict = Verdict(Decision.REVIEW, (Reason.ANALYSIS_TIMEOUT,))
    fingerprint = Fingerprint(hashlib.sha256(content).hexdigest(), None)
    return Conclusion(submission, verdict, Evidence(), fingerprint, seconds * 1000)


def prior_shot(conclusion: Conclusion) -> PriorShot | None:
    """What later submissions compare with; None for images that could not be read."""
    if conclusion.evidence.image_problem is not None:
        return None
    submission = conclusion.submission
    own = conclusion.evidence.qr is QrMatch.OWN
    return PriorShot(submission.id, submission.user, conclusion.verdict.decision, conclusion.fingerprint, own)


def _now_ms() -> float:
    return time.perf_counter() * 1000
