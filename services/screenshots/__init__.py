"""Share-screenshot verification, a library: is this picture the member's own Moments post of their poster?

This module is its public face; everything else in the package is private to it (import-linter's
``screenshot-facade`` contract holds users to that). A user builds an :class:`AnalysisPool` (worker
processes that measure a screenshot against the poster the member was issued), awaits
:meth:`AnalysisPool.analyze`, and passes the result with the campaign's earlier submissions to
:func:`conclude`, which decides approve / reject / review. Offline, :func:`evaluate_manifest` runs a
manifest of screenshots through the same path (``scrm verify-screenshots``, the benchmark).
"""

from __future__ import annotations

from services.screenshots.adapters.images import ImageLimits
from services.screenshots.adapters.metrics import SCREENSHOT_DECISIONS, SCREENSHOT_SECONDS
from services.screenshots.adapters.ocr import OcrEngineName, OcrUnavailable, find_tessdata
from services.screenshots.adapters.pool import DEFAULT_TIME_LIMIT, AnalysisPool, AnalysisWorkerLost, default_workers
from services.screenshots.adapters.thresholds_file import ThresholdsFileError, load_thresholds
from services.screenshots.domain.analysis import Analysis, ReferenceUnusable
from services.screenshots.domain.recheck import same_post
from services.screenshots.domain.reuse import CANDIDATES, HOT_KEY, Fingerprint, PriorShot, lookup_keys, nearest_first
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
from services.screenshots.service_layer.evaluation import ManifestError, Summary, evaluate_manifest, read_manifest
from services.screenshots.service_layer.ports import AnalysisSubmitter, AnalysisTimedOut, TimedAnalysis
from services.screenshots.service_layer.verification import (
    Analysed,
    Conclusion,
    Submission,
    analysis_timed_out,
    conclude,
    prior_shot,
)

__all__ = [
    "CANDIDATES",
    "DEFAULT_TIME_LIMIT",
    "HOT_KEY",
    "SCREENSHOT_DECISIONS",
    "SCREENSHOT_SECONDS",
    "Analysed",
    "Analysis",
    "AnalysisPool",
    "AnalysisSubmitter",
    "AnalysisTimedOut",
    "AnalysisWorkerLost",
    "Conclusion",
    "Decision",
    "DecisionThresholds",
    "Evidence",
    "Fingerprint",
    "ImageLimits",
    "ManifestError",
    "OcrEngineName",
    "OcrUnavailable",
    "PriorShot",
    "QrMatch",
    "Reason",
    "ReferenceUnusable",
    "ReuseMatch",
    "Submission",
    "Summary",
    "ThresholdsFileError",
    "TimedAnalysis",
    "Verdict",
    "analysis_timed_out",
    "conclude",
    "decide",
    "default_workers",
    "evaluate_manifest",
    "find_tessdata",
    "load_thresholds",
    "lookup_keys",
    "nearest_first",
    "prior_shot",
    "read_manifest",
    "same_post",
]
