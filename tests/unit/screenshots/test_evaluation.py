"""Offline evaluation: manifest checking, the manifest run end to end through a real pool, summary and score."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from services.screenshots.adapters.pool import AnalysisPool
from services.screenshots.domain.analysis import Analysis, ReferenceUnusable
from services.screenshots.domain.reuse import Fingerprint, PriorShot
from services.screenshots.domain.similarity import DESCRIPTOR_BYTES, similarity
from services.screenshots.domain.verdicts import (
    Decision,
    DecisionThresholds,
    Evidence,
    QrMatch,
    Reason,
    ReuseMatch,
    Verdict,
)
from services.screenshots.service_layer.evaluation import (
    ManifestError,
    ManifestLine,
    Score,
    Summary,
    evaluate_manifest,
    read_manifest,
    score,
)
from services.screenshots.service_layer.verification import Analysed, Submission, conclude, prior_shot
from tests.unit.screenshots.pictures import (
    FOREIGN_PAYLOAD,
    PAYLOAD,
    Member,
    crop_and_reencode,
    encode,
    make_poster,
    make_shot,
)

CAMPAIGN = "c-spring"
_CELLS = 64 * 64


def write_manifest(folder: Path, items: list[dict[str, Any] | str]) -> Path:
    path = folder / "manifest.jsonl"
    path.write_text(
        "".join((item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)) + "\n" for item in items),
        encoding="utf-8",
    )
    return path


def entry(file: str, user: str, **extra: str) -> dict[str, Any]:
    return {"file": file, "poster": "poster.png", "qr_payload": PAYLOAD, "campaign": CAMPAIGN, "user": user, **extra}


# --- read_manifest ------------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("poster.png", "a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def test_read_manifest(folder: Path) -> None:
    manifest = write_manifest(
        folder,
        [entry("a.jpg", "u1", truth="genuine", kind="light"), "", "   ", entry("b.jpg", "u2")],
    )
    lines = read_manifest(manifest)
    assert lines == [
        ManifestLine(1, "a.jpg", folder / "a.jpg", folder / "poster.png", PAYLOAD, CAMPAIGN, "u1", "genuine", "light"),
        ManifestLine(4, "b.jpg", folder / "b.jpg", folder / "poster.png", PAYLOAD, CAMPAIGN, "u2", None, None),
    ]


def test_read_manifest_ignores_truth_and_kind_that_are_not_strings(folder: Path) -> None:
    manifest = write_manifest(folder, [{**entry("a.jpg", "u1"), "truth": 1, "kind": ["x"]}])
    (line,) = read_manifest(manifest)
    assert (line.truth, line.kind) == (None, None)


def test_read_manifest_of_nothing(folder: Path) -> None:
    assert read_manifest(write_manifest(folder, [])) == []


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not JSON"),
        ('["a.jpg"]', "expected an object"),
        ('"a.jpg"', "expected an object"),
        (json.dumps({k: v for k, v in entry("a.jpg", "u").items() if k != "user"}), "field 'user'"),
        (json.dumps({**entry("a.jpg", "u"), "qr_payload": ""}), "field 'qr_payload'"),
        (json.dumps({**entry("a.jpg", "u"), "campaign": 7}), "field 'campaign'"),
        (json.dumps({**entry("a.jpg", "u"), "poster": None}), "field 'poster'"),
        (json.dumps(entry("missing.jpg", "u")), "no such file"),
        (json.dumps({**entry("a.jpg", "u"), "poster": "nowhere.png"}), "no such file"),
    ],
    ids=[
        "not-json",
        "a-list",
        "a-string",
        "missing-field",
        "empty-field",
        "number-field",
        "null-field",
        "missing-screenshot",
        "missing-poster",
    ],
)
def test_read_manifest_errors_name_the_line(folder: Path, bad: str, message: str) -> None:
    manifest = write_manifest(folder, [entry("a.jpg", "u1"), "", bad, entry("b.jpg", "u2")])
    with pytest.raises(ManifestError, match=message) as caught:
        read_manifest(manifest)
    assert f"{manifest}:3:" in str(caught.value)


def test_read_manifest_error_names_the_missing_file(folder: Path) -> None:
    manifest = write_manifest(folder, [entry("gone.jpg", "u1")])
    with pytest.raises(ManifestError, match=r"manifest\.jsonl:1: no such file .*gone\.jpg"):
        read_manifest(manifest)


# --- score and Summary --------------------------------------------------------------------------------


def test_score() -> None:
    pairs = [
        ("genuine", Decision.APPROVE),
        ("genuine", Decision.APPROVE),
        ("genuine", Decision.REVIEW),
        ("genuine", Decision.REJECT),
        ("negative", Decision.APPROVE),
        ("negative", Decision.REJECT),
        ("negative", Decision.REVIEW),
        ("negative", Decision.REJECT),
    ]
    result = score(pairs)
    assert result == Score(
        images=8, genuine=4, approved=3, approved_genuine=2, genuine_approved_or_reviewed=3, reviewed=2
    )
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 4)
    assert result.review_rate == pytest.approx(2 / 8)


def test_score_of_nothing_approved_or_nothing_genuine() -> None:
    assert score([]) == Score(0, 0, 0, 0, 0, 0)
    assert (score([]).precision, score([]).recall, score([]).review_rate) == (1.0, 1.0, 0.0)
    only_negative = score([("negative", Decision.REJECT), ("negative", Decision.REVIEW)])
    assert (only_negative.precision, only_negative.recall, only_negative.review_rate) == (1.0, 1.0, 0.5)


def test_summary_percentiles() -> None:
    assert Summary().percentile(50) == 0.0
    assert Summary(latencies_ms=[7.0]).percentile(95) == 7.0
    summary = Summary(latencies_ms=[float(n) for n in range(1, 102)])
    assert summary.percentile(50) == pytest.approx(51.0)
    assert summary.percentile(95) == pytest.approx(96.0)


def test_summary_lines_without_truth() -> None:
    summary = Summary(
        decisions=Counter({"reject": 2, "approve": 1}),
        reasons=Counter({"private_post": 1, "no_poster": 2}),
        latencies_ms=[10.0, 20.0, 30.0],
        wall_seconds=1.5,
        workers=2,
    )
    assert summary.images == 3
    assert summary.images_per_second == pytest.approx(2.0)
    assert summary.score() is None
    assert summary.lines() == [
        "3 images: approve 1, reject 2",
        "latency per image (one core): p50 20.0 ms, p95 29.0 ms; 2.0 images/s on 2 worker(s)",
        "reasons: no_poster 2, private_post 1",
    ]


def test_summary_lines_of_nothing() -> None:
    assert Summary().lines() == [
        "0 images: ",
        "latency per image (one core): p50 0.0 ms, p95 0.0 ms; 0.0 images/s on 1 worker(s)",
    ]


def good(sha: str, context: bytes | None = None) -> Analysis:
    evidence = Evidence(
        qr=QrMatch.OWN,
        artwork_score=0.95,
        poster_share=0.45,
        moments_checked=True,
        time_word="刚刚",
        delete_word=True,
    )
    return Analysis(evidence, Fingerprint(sha, context))


# --- conclude / prior_shot -----------------------------------------------------------------------------


def analysed(submission_id: str, user: str, analysis: Analysis, ms: float = 12.5) -> Analysed:
    return Analysed(Submission(submission_id, CAMPAIGN, user), analysis.evidence, analysis.fingerprint, ms)


def test_conclude_a_first_submission() -> None:
    conclusion = conclude(analysed("m1", "alice", good("sha-1")), [], DecisionThresholds())
    assert conclusion.verdict == Verdict(Decision.APPROVE, ())
    assert (conclusion.evidence.reuse, conclusion.evidence.reuse_similarity) == (ReuseMatch.NONE, None)
    assert conclusion.ms >= 12.5
    assert prior_shot(conclusion) == PriorShot("m1", "alice", Decision.APPROVE, Fingerprint("sha-1", None))


def test_conclude_records_the_copy_it_found() -> None:
    earlier = [PriorShot("m1", "alice", Decision.APPROVE, Fingerprint("sha-1", None))]
    conclusion = conclude(analysed("m2", "bob", good("sha-1")), earlier, DecisionThresholds())
    assert conclusion.verdict == Verdict(Decision.REJECT, (Reason.REUSED_SCREENSHOT,))
    assert (conclusion.evidence.reuse, conclusion.evidence.reuse_similarity) == (ReuseMatch.COPY, 1.0)
    assert conclusion.evidence.reused_from == "m1"


def descriptors(noise: float) -> tuple[bytes, bytes]:
    """Two context descriptors, the second the first with ``noise`` added (the adapter's layout)."""
    rng = np.random.default_rng(11)
    edges = rng.integers(0, 200, _CELLS).astype(np.float32)
    other = np.clip(edges + rng.normal(0, noise, _CELLS), 0, 255)
    mask = np.packbits(np.ones(_CELLS, dtype=bool)).tobytes()
    first, second = edges.astype(np.uint8).tobytes() + mask, other.astype(np.uint8).tobytes() + mask
    assert len(first) == len(second) == DESCRIPTOR_BYTES
    return first, second


def test_conclude_compares_contexts_with_the_adapters_similarity() -> None:
    mine, theirs = descriptors(noise=30.0)
    measured = similarity(mine, theirs)
    assert 0.5 < measured < 0.95
    earlier = [PriorShot("m1", "alice", Decision.APPROVE, Fingerprint("sha-1", theirs))]

    def run(copy_at: float, close_at: float) -> Evidence:
        limits = DecisionThresholds(reuse_copy_similarity=copy_at, reuse_close_similarity=close_at)
        return conclude(analysed("m2", "bob", good("sha-2", mine)), earlier, limits).evidence

    as_copy = run(measured - 0.01, measured - 0.02)
    assert (as_copy.reuse, as_copy.reused_from) == (ReuseMatch.COPY, "m1")
    assert as_copy.reuse_similarity == round(measured, 4)  # rounded for the record
    as_close = run(measured + 0.01, measured - 0.01)
    assert (as_close.reuse, as_close.reuse_similarity, as_close.reused_from) == (
        ReuseMatch.CLOSE,
        round(measured, 4),
        "m1",
    )
    unrelated = run(measured + 0.02, measured + 0.01)
    assert (unrelated.reuse, unrelated.reuse_similarity, unrelated.reused_from) == (
        ReuseMatch.NONE,
        round(measured, 4),
        None,
    )


def test_conclude_with_the_default_thresholds_on_contexts() -> None:
    mine, theirs = descriptors(noise=4.0)
    earlier = [PriorShot("m1", "alice", Decision.APPROVE, Fingerprint("sha-1", theirs))]
    conclusion = conclude(analysed("m2", "bob", good("sha-2", mine)), earlier, DecisionThresholds())
    assert conclusion.verdict == Verdict(Decision.REJECT, (Reason.REUSED_SCREENSHOT,))
    assert conclusion.evidence.reuse_similarity is not None and conclusion.evidence.reuse_similarity > 0.99
    far_mine, far_theirs = descriptors(noise=120.0)
    earlier = [PriorShot("m1", "alice", Decision.APPROVE, Fingerprint("sha-1", far_theirs))]
    conclusion = conclude(analysed("m2", "bob", good("sha-2", far_mine)), earlier, DecisionThresholds())
    assert conclusion.verdict == Verdict(Decision.APPROVE, ())
    assert conclusion.evidence.reuse is ReuseMatch.NONE


def test_conclude_ignores_the_submission_itself() -> None:
    # The same message processed again (a redelivery) is not a copy of itself.
    earlier = [PriorShot("m1", "alice", Decision.APPROVE, Fingerprint("sha-1", None))]
    assert conclude(analysed("m1", "bob", good("sha-1")), earlier, DecisionThresholds()).verdict.decision is (
        Decision.APPROVE
    )


def test_an_unreadable_image_is_neither_compared_nor_remembered() -> None:
    unreadable = Analysis(Evidence(image_problem=Reason.IMAGE_UNREADABLE), Fingerprint("sha-1", None))
    earlier = [PriorShot("m1", "bob", Decision.APPROVE, Fingerprint("sha-1", None))]
    conclusion = conclude(analysed("m2", "alice", unreadable), earlier, DecisionThresholds())
    assert conclusion.verdict == Verdict(Decision.REJECT, (Reason.IMAGE_UNREADABLE,))
    assert conclusion.evidence.reuse is ReuseMatch.NONE
    assert prior_shot(conclusion) is None


# --- evaluate_manifest with a fake pool: ordering and unusable references -----------------------------


@dataclass
class CannedPool:
    """A :class:`Submitter` that answers from a table, keyed by the screenshot bytes."""

    answers: dict[bytes, Analysis | Exception]
    workers: int = 1

    def __post_init__(self) -> None:
        self.submitted: list[bytes] = []

    def submit(self, screenshot: bytes, poster: bytes, payload: str) -> Future[tuple[Analysis, float]]:
        self.submitted.append(screenshot)
        future: Future[tuple[Analysis, float]] = Future()
        answer = self.answers[screenshot]
        if isinstance(answer, Exception):
            future.set_exception(answer)
        else:
            future.set_result((answer, 5.0))
        return future


def test_evaluate_with_canned_analyses(tmp_path: Path) -> None:
    files = {"1.jpg": b"one", "2.jpg": b"two", "3.jpg": b"one", "4.jpg": b"four", "5.jpg": b"one"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "poster.png").write_bytes(b"poster")
    manifest = write_manifest(
        tmp_path,
        [
            entry("1.jpg", "alice"),
            entry("2.jpg", "bob"),
            entry("3.jpg", "carol", truth="negative"),  # alice's file again
            entry("4.jpg", "dave", truth="genuine", kind="odd-poster"),
            entry("5.jpg", "alice", truth="genuine"),  # her own approved file again
        ],
    )
    pool = CannedPool({b"one": good("sha-1"), b"two": good("sha-2"), b"four": ReferenceUnusable("no QR")})
    out = tmp_path / "out.jsonl"
    summary = evaluate_manifest(read_manifest(manifest), out, pool)
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["file"], r["decision"], r["reasons"]) for r in results] == [
        ("1.jpg", "approve", []),
        ("2.jpg", "approve", []),
        ("3.jpg", "reject", ["reused_screenshot"]),
        ("4.jpg", "review", ["reference_unusable"]),
        ("5.jpg", "reject", ["reused_screenshot"]),
    ]
    assert pool.submitted == [b"one", b"two", b"one", b"four", b"one"]
    assert summary.misses == [
        (4, "odd-poster", "review", ["reference_unusable"]),
        (5, "genuine", "reject", ["reused_screenshot"]),
    ]
    assert summary.truths == [("negative", Decision.REJECT), ("genuine", Decision.REVIEW), ("genuine", Decision.REJECT)]


# --- evaluate_manifest end to end ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool() -> Iterator[AnalysisPool]:
    analysis_pool = AnalysisPool(workers=1)
    yield analysis_pool
    analysis_pool.close()


@dataclass(frozen=True)
class Run:
    folder: Path
    results: list[dict[str, Any]]
    summary: Summary


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, pool: AnalysisPool) -> Run:
    folder = tmp_path_factory.mktemp("evaluation")
    poster = make_poster(PAYLOAD)
    genuine = make_shot(poster, member=Member(avatar_photo=1, nickname="小雨妈妈"))
    files: dict[str, bytes] = {
        "poster.png": encode(poster, "PNG"),
        "other-poster.png": encode(make_poster(FOREIGN_PAYLOAD), "PNG"),
        "genuine.jpg": genuine,
        "private.jpg": make_shot(
            poster, private=True, member=Member(avatar_photo=2, nickname="豆豆爸爸", body="好物分享给大家")
        ),
        "copy.jpg": crop_and_reencode(genuine, 0.03, 50),
        "bare.jpg": encode(poster, "JPEG"),
        "garbage.jpg": b"this is not a picture",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    manifest = write_manifest(
        folder,
        [
            entry("genuine.jpg", "alice", truth="genuine", kind="light"),
            entry("private.jpg", "bob", truth="negative", kind="private"),
            entry("copy.jpg", "carol", truth="negative", kind="reused"),
            entry("bare.jpg", "dave", truth="negative", kind="bare"),
            entry("garbage.jpg", "erin", truth="negative", kind="garbage"),
            {**entry("genuine.jpg", "frank", truth="genuine", kind="broken-poster"), "poster": "other-poster.png"},
        ],
    )
    out = folder / "decisions.jsonl"
    summary = evaluate_manifest(read_manifest(manifest), out, pool)
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return Run(folder, results, summary)


def test_every_line_gets_a_decision_in_manifest_order(run: Run) -> None:
    assert [(r["file"], r["decision"]) for r in run.results] == [
        ("genuine.jpg", "approve"),
        ("private.jpg", "reject"),
        ("copy.jpg", "reject"),
        ("bare.jpg", "reject"),
        ("garbage.jpg", "reject"),
        ("genuine.jpg", "review"),
    ]
    for result in run.results:
        assert set(result) == {"file", "decision", "reasons", "ms"}
        assert isinstance(result["ms"], float) and result["ms"] >= 0


def test_reasons_per_line(run: Run) -> None:
    reasons = [r["reasons"] for r in run.results]
    assert reasons[0] == []
    assert reasons[1][0] == "private_post"
    assert reasons[2] == ["reused_screenshot"]  # a re-encoded, cropped copy of line 1, sent by someone else
    assert reasons[3][0] == "bare_poster"
    assert reasons[4] == ["image_unreadable"]
    assert reasons[5] == ["reference_unusable"]


def test_analysed_lines_take_time(run: Run) -> None:
    assert all(r["ms"] > 0 for r in run.results[:4])


def test_summary_of_the_run(run: Run) -> None:
    summary = run.summary
    assert summary.images == 6
    assert summary.decisions == Counter({"approve": 1, "reject": 4, "review": 1})
    assert summary.reasons["reused_screenshot"] == 1
    assert summary.reasons["image_unreadable"] == 1
    assert summary.reasons["reference_unusable"] == 1
    assert len(summary.latencies_ms) == 6
    assert summary.workers == 1
    assert summary.wall_seconds > 0
    assert summary.misses == [(6, "broken-poster", "review", ["reference_unusable"])]
    result = summary.score()
    assert result == Score(
        images=6, genuine=2, approved=1, approved_genuine=1, genuine_approved_or_reviewed=2, reviewed=1
    )
    assert (result.precision, result.recall) == (1.0, 0.5)


def test_summary_lines_of_the_run(run: Run) -> None:
    lines = run.summary.lines()
    assert lines[0] == "6 images: approve 1, reject 4, review 1"
    assert lines[1].startswith("latency per image (one core): p50 ")
    assert lines[1].endswith(" images/s on 1 worker(s)")
    assert lines[2].startswith("reasons: ")
    assert "reused_screenshot 1" in lines[2] and "image_unreadable 1" in lines[2]
    assert lines[3] == "auto-approve precision 100.00%, recall of genuine 50.00%, review rate 16.67%"


def test_the_pool_survives_the_run(pool: AnalysisPool, run: Run) -> None:
    screenshot = (run.folder / "genuine.jpg").read_bytes()
    analysis, ms = pool.submit(screenshot, (run.folder / "poster.png").read_bytes(), PAYLOAD).result(timeout=60)
    assert analysis.evidence.qr is QrMatch.OWN
    assert ms > 0
    with Image.open(run.folder / "bare.jpg") as bare:
        assert bare.size == (750, 1334)


def test_cpu_time_per_analysis_is_reported_beside_wall_time() -> None:
    summary = Summary(latencies_ms=[300.0, 310.0], cpu_ms=[80.0, 90.0])
    summary.decisions["approve"] = 2
    assert summary.cpu_percentile(50) == pytest.approx(85.0)
    assert "(CPU p50 85.0 ms, p95 89.5 ms)" in summary.lines()[1]
    assert "CPU" not in Summary(latencies_ms=[300.0]).lines()[1]
