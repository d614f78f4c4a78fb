"""Thresholds from a file: what calibration writes, the campaigns worker reads (SCREENSHOT_THRESHOLDS_FILE)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.campaigns.settings import CampaignsSettings
from services.screenshots import DecisionThresholds, ThresholdsFileError, load_thresholds


def test_no_file_means_the_defaults() -> None:
    assert load_thresholds(None) == DecisionThresholds()


def test_a_file_overrides_the_fields_it_names(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"artwork_match": 0.5, "max_thumbnail_share": 1}), encoding="utf-8")
    loaded = load_thresholds(path)
    assert loaded.artwork_match == 0.5
    assert loaded.max_thumbnail_share == 1.0
    assert loaded.reuse_copy_similarity == DecisionThresholds().reuse_copy_similarity


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"artwork_mach": 0.5}', "artwork_mach"),
        ('{"artwork_match": "high"}', "artwork_match"),
        ('{"artwork_match": true}', "artwork_match"),
        ("[0.5]", "JSON object"),
        ("{", "not JSON"),
    ],
)
def test_a_bad_file_is_refused_by_name(tmp_path: Path, content: str, named: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ThresholdsFileError, match=named):
        load_thresholds(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ThresholdsFileError, match="cannot read"):
        load_thresholds(tmp_path / "absent.json")


def test_the_campaigns_worker_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SCREENSHOT_THRESHOLDS_FILE", str(tmp_path / "t.json"))
    assert CampaignsSettings().screenshot_thresholds_file == tmp_path / "t.json"
