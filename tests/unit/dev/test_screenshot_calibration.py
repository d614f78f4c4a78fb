"""Calibration never reads a frozen evaluation set; thresholds chosen on a tuning set move where they should."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from scrm_dev import screenshot_sets
from scrm_dev.screenshot_calibration import Measured, calibrate, calibrate_manifest, replay, threshold_fields
from scrm_dev.screenshot_sets import (
    FROZEN_MARKER,
    REGISTRY,
    EvaluationSet,
    FrozenSetError,
    materialise,
    read_for_tuning,
)
from services.screenshots.domain.analysis import Analysis
from services.screenshots.domain.reuse import Fingerprint
from services.screenshots.domain.verdicts import DecisionThresholds, Evidence, QrMatch
from services.screenshots.service_layer.evaluation import ManifestLine

FROZEN = EvaluationSet("B", "frozen", 2718, count=4)
TUNING = EvaluationSet("B", "tuning", 21, count=4)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sets")
    materialise(FROZEN, folder)
    materialise(TUNING, folder)
    return folder


def _frozen_manifest(root: Path) -> Path:
    return root / FROZEN.folder_name / "manifest.jsonl"


def test_the_frozen_seeds_are_the_registered_ones() -> None:
    frozen = {spec.tag for spec in screenshot_sets.SETS.values() if spec.split == "frozen"}
    assert FROZEN.tag in frozen
    tuning = {spec.seed for spec in screenshot_sets.SETS.values() if spec.split == "tuning"}
    assert not tuning & {spec.seed for spec in screenshot_sets.SETS.values() if spec.split == "frozen"}


def test_a_frozen_set_is_marked_and_registered(root: Path) -> None:
    folder = root / FROZEN.folder_name
    assert (folder / FROZEN_MARKER).is_file()
    registry = json.loads((root / REGISTRY).read_text(encoding="utf-8"))
    assert set(registry.values()) == {FROZEN.tag}
    for raw in _frozen_manifest(root).read_text(encoding="utf-8").splitlines():
        assert json.loads(raw)["split"] == "frozen"


def test_tuning_reads_a_tuning_set(root: Path) -> None:
    assert len(read_for_tuning(root / TUNING.folder_name / "manifest.jsonl")) == TUNING.count


def test_tuning_refuses_the_frozen_folder(root: Path) -> None:
    with pytest.raises(FrozenSetError, match="FROZEN"):
        read_for_tuning(_frozen_manifest(root))
    with pytest.raises(FrozenSetError):
        calibrate_manifest(_frozen_manifest(root), workers=1)  # before any worker starts


def test_tuning_refuses_a_copy_of_the_frozen_manifest(root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(root / FROZEN.folder_name, copy)
    (copy / FROZEN_MARKER).unlink()
    with pytest.raises(FrozenSetError, match="frozen evaluation set"):
        read_for_tuning(copy / "manifest.jsonl")


def test_tuning_refuses_a_relabelled_copy_by_its_pictures(root: Path) -> None:
    # Marker gone, split and set fields rewritten: the pictures themselves are registered.
    copy = root / "laundered"
    shutil.copytree(root / FROZEN.folder_name, copy)
    (copy / FROZEN_MARKER).unlink()
    lines = [json.loads(raw) for raw in (copy / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    for line in lines:
        line.update(split="tuning", set="B/tuning/99")
    (copy / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(FrozenSetError, match="screenshot of the frozen set"):
        read_for_tuning(copy / "manifest.jsonl")


def _line(number: int, truth: str) -> ManifestLine:
    return ManifestLine(number, f"{number}.png", Path(f"{number}.png"), Path("p.png"), "qr", "c1", f"u{number}", truth)


def _measured(number: int, truth: str, artwork: float) -> Measured:
    evidence = Evidence(
        qr=QrMatch.OWN,
        artwork_score=artwork,
        poster_share=0.5,
        moments_checked=True,
        time_word="刚刚",
        delete_word=True,
    )
    return Measured(_line(number, truth), Analysis(evidence, Fingerprint(f"sha-{number}", None)), 10.0)


def test_calibration_moves_a_threshold_the_tuning_set_disagrees_with() -> None:
    # Genuine posters scoring 0.5 go to review under the default (0.55); negatives score 0.1.
    measured = [_measured(i, "genuine", 0.5) for i in range(1, 9)] + [
        _measured(i, "negative", 0.1) for i in range(9, 13)
    ]
    assert replay(measured, DecisionThresholds()).recall == 0.0
    calibration = calibrate(measured)
    assert 0.1 < calibration.thresholds.artwork_match < 0.5  # inside the run of values that work, not its edge
    assert calibration.tuned.recall == 1.0
    assert calibration.tuned.precision == 1.0
    assert calibration.default.recall == 0.0


def test_calibration_does_not_buy_a_lower_review_rate_with_rejected_members() -> None:
    # Genuine and negative posters score alike: neither can be approved, and rejecting both would
    # empty the review queue at the cost of every genuine member.
    measured = [_measured(i, "genuine", 0.4) for i in range(1, 9)] + [
        _measured(i, "negative", 0.4) for i in range(9, 13)
    ]
    calibration = calibrate(measured)
    assert calibration.thresholds.artwork_mismatch <= 0.4
    assert calibration.tuned.genuine_approved_or_reviewed == calibration.tuned.genuine


def test_calibration_keeps_the_defaults_when_they_already_fit() -> None:
    measured = [_measured(i, "genuine", 0.9) for i in range(1, 5)] + [
        _measured(i, "negative", 0.05) for i in range(5, 9)
    ]
    assert calibrate(measured).thresholds == DecisionThresholds()


def test_every_numeric_threshold_is_tunable() -> None:
    names = threshold_fields()
    assert {"artwork_match", "artwork_mismatch", "max_thumbnail_share"} <= set(names)
    assert all(isinstance(getattr(DecisionThresholds(), name), float) for name in names)
    assert len(names) == len([f for f in dataclasses.fields(DecisionThresholds) if f.type in ("float", float)])


def test_a_set_drawn_by_older_generator_code_is_drawn_again(tmp_path: Path) -> None:
    spec = EvaluationSet("B", "tuning", 21, count=2)
    manifest = materialise(spec, tmp_path)
    stamp = manifest.parent / ".complete"
    current = stamp.read_text(encoding="utf-8")
    assert screenshot_sets.generator_version("B") in current
    stamp.write_text("B/tuning/21 0000\n", encoding="utf-8")
    (manifest.parent / "left-over").write_text("old", encoding="utf-8")
    assert materialise(spec, tmp_path) == manifest
    assert stamp.read_text(encoding="utf-8") == current
    assert not (manifest.parent / "left-over").exists()


def test_the_command_refuses_a_frozen_set(root: Path, tmp_path: Path) -> None:
    from scrm_dev.screenshot_calibration import main

    out = tmp_path / "t.json"
    assert main([str(_frozen_manifest(root)), "--out", str(out)]) == 2
    assert not out.exists()


def test_bench_rows_name_false_approvals_genuine_rejected_and_misses(tmp_path: Path) -> None:
    from collections import Counter

    from scrm_dev.bench_screenshots import genuine_misses_by_variant, judged_row, misses_by_kind
    from services.screenshots.domain.verdicts import Decision
    from services.screenshots.service_layer.evaluation import Summary

    summary = Summary(
        decisions=Counter(approve=2, reject=2),
        latencies_ms=[10.0, 20.0, 30.0, 40.0],
        truths=[
            ("genuine", Decision.APPROVE),
            ("negative", Decision.APPROVE),
            ("genuine", Decision.REJECT),
            ("negative", Decision.REJECT),
        ],
        misses=[(2, "own_qr_other_brand_art", "approve", []), (3, "genuine", "reject", ["not_moments"])],
    )
    name, verdict, detail = judged_row("tuned on A → frozen B", summary)
    assert name == "tuned on A → frozen B (4 images, 2 genuine)"
    assert verdict == "MISSES"
    assert "false approvals 1" in detail and "genuine rejected 1" in detail and "precision 50.00%" in detail
    assert misses_by_kind(summary) == "own_qr_other_brand_art→approve 1, genuine→reject (not_moments) 1"
    manifest = tmp_path / "m.jsonl"
    variant = {"lang": "en", "view": "top", "os": "ios", "dark": "false"}
    manifest.write_text("{}\n{}\n" + json.dumps({"variant": variant}) + "\n", encoding="utf-8")
    assert genuine_misses_by_variant(manifest, summary) == "lang=en 1, view=top 1, os=ios 1, dark=false 1"


def test_the_bench_reports_both_directions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from scrm_dev import bench_screenshots

    small = {key: dataclasses.replace(spec, count=6) for key, spec in screenshot_sets.SETS.items()}
    monkeypatch.setattr(screenshot_sets, "SETS", small)
    rows = bench_screenshots.bench_cross_family(tmp_path)
    names = [name for name, _, _ in rows]
    assert any(name.startswith("screenshots tuned on A → frozen B") for name in names)
    assert any(name.startswith("screenshots tuned on B → frozen A") for name in names)
    assert any(name.startswith("screenshots, default thresholds → frozen B") for name in names)
    judged = [row for row in rows if "→ frozen" in row[0] and not row[0].startswith("  ")]
    assert all(verdict in ("meets", "MISSES") for _, verdict, _ in judged)
    assert all("false approvals" in detail and "genuine rejected" in detail for _, _, detail in judged)
    assert (tmp_path / "bench" / "screenshot-sets" / "thresholds-tuned-on-B.json").is_file()
