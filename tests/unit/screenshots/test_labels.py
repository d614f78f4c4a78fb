"""Labelled sets: reading them, scoring decisions against people's, the confusion by reason, and an
analysis that times out going to review."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from services.screenshots.domain.analysis import Analysis
from services.screenshots.domain.reuse import Fingerprint
from services.screenshots.domain.verdicts import Decision, Evidence, QrMatch, Reason, Verdict
from services.screenshots.service_layer.evaluation import (
    Labelled,
    ManifestError,
    ManifestLine,
    confusion_lines,
    evaluate_manifest,
    read_labels,
    read_manifest,
)
from services.screenshots.service_layer.ports import AnalysisTimedOut
from services.screenshots.service_layer.verification import Submission, analysis_timed_out
from tests.unit.screenshots.test_evaluation import CannedPool, good, write_manifest

PAYLOAD = "http://weixin.qq.com/q/02label"


def labelled(file: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"file": file, "poster": "poster.png", "qr_payload": PAYLOAD, "label": label, **extra}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("poster.png", "a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def test_read_labels(folder: Path) -> None:
    path = write_manifest(
        folder,
        [
            labelled("a.jpg", "approve", campaign="c1", user="o_mom"),
            labelled("b.jpg", "reject", reason="foreign_qr"),
            labelled("a.jpg", "negative", kind="chat"),
        ],
    )
    assert read_labels(path) == [
        ManifestLine(
            1, "a.jpg", folder / "a.jpg", folder / "poster.png", PAYLOAD, "c1", "o_mom", "genuine", None, None, True
        ),
        ManifestLine(
            2,
            "b.jpg",
            folder / "b.jpg",
            folder / "poster.png",
            PAYLOAD,
            "labelled",
            "line-2",
            "negative",
            None,
            "foreign_qr",
            True,
        ),
        ManifestLine(
            3,
            "a.jpg",
            folder / "a.jpg",
            folder / "poster.png",
            PAYLOAD,
            "labelled",
            "line-3",
            "negative",
            "chat",
            None,
            True,
        ),
    ]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (labelled("a.jpg", "maybe"), "field 'label' must be one of approve, reject"),
        ({k: v for k, v in labelled("a.jpg", "approve").items() if k != "label"}, "field 'label'"),
        ({k: v for k, v in labelled("a.jpg", "approve").items() if k != "poster"}, "field 'poster'"),
        (labelled("missing.jpg", "approve"), "no such file"),
    ],
    ids=["unknown-label", "no-label", "no-poster", "missing-file"],
)
def test_read_labels_errors_name_the_line(folder: Path, bad: dict[str, Any], message: str) -> None:
    path = write_manifest(folder, [labelled("a.jpg", "approve"), bad])
    with pytest.raises(ManifestError, match=f":2: .*{message}"):
        read_labels(path)


def test_a_corpus_manifests_truth_serves_as_the_label(folder: Path) -> None:
    corpus = {"file": "a.jpg", "poster": "poster.png", "qr_payload": PAYLOAD, "campaign": "c", "user": "u"}
    path = write_manifest(folder, [{**corpus, "truth": "negative", "kind": "chat"}])
    (line,) = read_labels(path)
    assert (line.truth, line.kind, line.reason, line.labelled) == ("negative", "chat", None, True)
    rejected = Labelled(1, "a.jpg", "negative", None, Decision.REJECT, ("not_moments",), "chat")
    assert "  chat: 1 -> reject 1 (0 same reason)" in confusion_lines([rejected])


def test_a_manifest_is_not_a_labelled_set(folder: Path) -> None:
    # A plain manifest still needs campaign and user; its lines carry no label.
    with pytest.raises(ManifestError, match="field 'campaign'"):
        read_manifest(write_manifest(folder, [labelled("a.jpg", "approve")]))


def item(line: int, truth: str, decision: Decision, *reasons: str, reason: str | None = None) -> Labelled:
    return Labelled(line, f"{line}.jpg", truth, reason, decision, reasons)


def test_confusion_lines() -> None:
    items = [
        item(1, "genuine", Decision.APPROVE),
        item(2, "genuine", Decision.REVIEW, "moments_uncertain"),
        item(3, "genuine", Decision.REJECT, "not_moments"),
        item(4, "negative", Decision.REJECT, "foreign_qr", reason="foreign_qr"),
        item(5, "negative", Decision.APPROVE, reason="poster_mismatch"),
        item(6, "negative", Decision.REJECT, "poster_mismatch", "not_own_post", reason="poster_mismatch"),
        item(7, "negative", Decision.REVIEW, "analysis_timeout"),
    ]
    assert confusion_lines(items, misses=3) == [
        "confusion (rows: the label, columns: the verifier's decision):",
        "  label       approve   review   reject",
        "  approve           1        1        1",
        "  reject            1        1        2",
        "approved by a person, not by the verifier (first reason): "
        "moments_uncertain (review) 1, not_moments (reject) 1",
        "rejected by a person, by their reason: the verifier's decisions (same reason found)",
        "  poster_mismatch: 2 -> approve 1, reject 1 (1 same reason)",
        "  (no reason): 1 -> review 1 (0 same reason)",
        "  foreign_qr: 1 -> reject 1 (1 same reason)",
        "false approvals: 1",
        "  line 2 2.jpg: label approve, verifier review [moments_uncertain]",
        "  line 3 3.jpg: label approve, verifier reject [not_moments]",
        "  line 5 5.jpg: label reject (poster_mismatch), verifier approve []",
        "  … and 1 more (see the decisions file)",
    ]


def test_evaluating_a_labelled_set(tmp_path: Path) -> None:
    files = {"1.jpg": b"one", "2.jpg": b"two", "3.jpg": b"one", "4.jpg": b"slow"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "poster.png").write_bytes(b"poster")
    path = write_manifest(
        tmp_path,
        [
            labelled("1.jpg", "approve", user="o_mom"),
            labelled("2.jpg", "reject", reason="not_moments"),
            labelled("3.jpg", "reject", reason="reused_screenshot", user="o_dad"),
            labelled("4.jpg", "approve"),
        ],
    )
    unsure = Analysis(Evidence(qr=QrMatch.OWN, artwork_score=0.9, poster_share=0.4), Fingerprint("sha-2", None))
    pool = CannedPool({b"one": good("sha-1"), b"two": unsure, b"slow": AnalysisTimedOut(2.0, 2.01)})
    out = tmp_path / "decisions.jsonl"
    summary = evaluate_manifest(read_labels(path), out, pool)
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["decision"], r["reasons"], r["label"], r["label_reason"], r["agrees"]) for r in results] == [
        ("approve", [], "approve", None, True),
        ("review", ["moments_uncertain"], "reject", "not_moments", False),
        ("reject", ["reused_screenshot"], "reject", "reused_screenshot", True),
        ("review", ["analysis_timeout"], "approve", None, False),
    ]
    assert results[3]["ms"] == pytest.approx(2010.0)
    assert [entry.decision for entry in summary.labelled] == [
        Decision.APPROVE,
        Decision.REVIEW,
        Decision.REJECT,
        Decision.REVIEW,
    ]
    lines = summary.lines()
    assert "auto-approve precision 100.00%, recall of genuine 50.00%, review rate 50.00%" in lines
    assert "  reused_screenshot: 1 -> reject 1 (1 same reason)" in lines
    assert "approved by a person, not by the verifier (first reason): analysis_timeout (review) 1" in lines


def test_a_timed_out_image_goes_to_review_with_its_files_hash() -> None:
    submission = Submission("m1", "c1", "o_mom")
    conclusion = analysis_timed_out(submission, b"picture", 2.5)
    assert conclusion.verdict == Verdict(Decision.REVIEW, (Reason.ANALYSIS_TIMEOUT,))
    assert conclusion.ms == 2500.0
    # The very file is known again later; nothing was measured to compare near-copies with.
    assert conclusion.fingerprint == Fingerprint(hashlib.sha256(b"picture").hexdigest(), None)
    assert Reason.ANALYSIS_TIMEOUT.text == "截图识别超时，已转人工审核"
