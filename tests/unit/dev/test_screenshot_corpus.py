"""The synthetic Moments screenshot corpus: manifest, labels, QR readability, geometry and determinism."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from scrm_dev.screenshot_corpus import (
    KINDS,
    NEGATIVE_KINDS,
    generate_corpus,
    make_poster,
    make_qr_payload,
    make_share_screenshot,
    render_moments_screenshot,
)

COUNT = 24
FIELDS = {"file", "poster", "qr_payload", "campaign", "user", "truth", "kind"}


def _decoded(image: Image.Image) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


@pytest.fixture(scope="module")
def cjk() -> None:
    """A CJK font is part of the install (fonts-noto-cjk): without one the generator must fail, loudly."""
    make_poster(1, "probe")


@pytest.fixture(scope="module")
def corpus(cjk: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_corpus(tmp_path_factory.mktemp("corpus"), count=COUNT, seed=7)


@pytest.fixture(scope="module")
def lines(corpus: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]


def test_manifest_lines_reference_existing_files(corpus: Path, lines: list[dict[str, Any]]) -> None:
    assert len(lines) == COUNT
    for line in lines:
        assert set(line) == FIELDS
        assert (corpus.parent / line["file"]).is_file()
        assert (corpus.parent / line["poster"]).is_file()
        assert line["kind"] in KINDS
        assert line["truth"] == ("genuine" if line["kind"] == "genuine" else "negative")
        assert line["qr_payload"].startswith("http://weixin.qq.com/q/02")
        assert len(line["qr_payload"]) == len("http://weixin.qq.com/q/02") + 22
    assert len({line["file"] for line in lines}) == COUNT


def test_mix_covers_every_kind(lines: list[dict[str, Any]]) -> None:
    kinds = [line["kind"] for line in lines]
    assert 0.5 <= kinds.count("genuine") / len(kinds) <= 0.7
    assert set(NEGATIVE_KINDS) <= set(kinds)


def test_reused_lines_follow_a_genuine_line_they_can_copy(lines: list[dict[str, Any]]) -> None:
    for i, line in enumerate(lines):
        earlier = [e for e in lines[:i] if e["kind"] == "genuine" and e["campaign"] == line["campaign"]]
        if line["kind"] == "reused_same":
            assert any(e["user"] == line["user"] for e in earlier)
        elif line["kind"] == "reused_pasted":
            assert any(e["user"] != line["user"] for e in earlier)


def test_genuine_screenshots_decode_to_the_members_qr(corpus: Path, lines: list[dict[str, Any]]) -> None:
    genuine = [line for line in lines if line["kind"] == "genuine"]
    hits = sum(line["qr_payload"] in _decoded(Image.open(corpus.parent / line["file"])) for line in genuine)
    assert hits >= 0.95 * len(genuine)


def test_foreign_and_other_campaign_qrs_are_not_the_members(corpus: Path, lines: list[dict[str, Any]]) -> None:
    for line in lines:
        if line["kind"] in ("foreign_qr", "other_campaign"):
            texts = _decoded(Image.open(corpus.parent / line["file"]))
            assert texts, line
            assert line["qr_payload"] not in texts


def test_same_seed_same_bytes(corpus: Path, tmp_path: Path) -> None:
    again = generate_corpus(tmp_path, count=COUNT, seed=7)
    assert again.read_bytes() == corpus.read_bytes()
    for line in map(json.loads, again.read_text(encoding="utf-8").splitlines()):
        assert (tmp_path / line["file"]).read_bytes() == (corpus.parent / line["file"]).read_bytes()


@pytest.mark.usefixtures("cjk")
def test_members_of_a_campaign_share_the_artwork_but_not_the_qr() -> None:
    rng = random.Random(1)
    a = make_poster(1234, make_qr_payload(rng))
    b = make_poster(1234, make_qr_payload(rng))
    assert a.size == b.size
    assert 600 <= a.width <= 1080 and a.height > a.width
    x0, y0, x1, y1 = a.info["qr_box"]
    assert (x1 - x0) >= 0.30 * a.width
    diff = np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)
    diff[y0:y1, x0:x1] = 0
    assert not diff.any()
    other = make_poster(4321, "same payload")
    same = make_poster(1234, "same payload")
    assert other.size != same.size or other.tobytes() != same.tobytes()  # another campaign, another artwork


@pytest.mark.usefixtures("cjk")
def test_share_screenshot_is_a_readable_jpeg() -> None:
    rng = random.Random(5)
    payload = make_qr_payload(rng)
    poster = make_poster(99, payload)
    for dark in (False, True):
        for view in ("feed", "detail"):
            data = make_share_screenshot(poster, rng, dark=dark, view=view)
            assert data[:2] == b"\xff\xd8"
            assert payload in _decoded(Image.open(io.BytesIO(data)))


@pytest.mark.usefixtures("cjk")
def test_time_row_sits_just_below_the_poster() -> None:
    rng = random.Random(8)
    poster = make_poster(77, make_qr_payload(rng))
    for _ in range(8):
        shot = render_moments_screenshot(poster, rng)
        width = shot.image.width
        px0, _, px1, py1 = shot.poster_box
        tx0, ty0, tx1, ty1 = shot.time_row_box
        assert tx0 == px0  # the time row starts in the nickname column, under the image
        assert 8 * width / 750 - 1 <= ty0 - py1 <= 20 * width / 750 + 1
        assert ty1 < shot.image.height and tx1 < width
        assert 0.30 <= (px1 - px0) / width <= 0.65
        assert shot.qr_module_px >= 2.8


def test_own_qr_on_other_art_carries_the_members_code(corpus: Path, lines: list[dict[str, Any]]) -> None:
    # The member's own code, but not on the campaign's poster: only the artwork check can tell.
    own = [line for line in lines if line["kind"] == "own_qr_other_art"]
    assert own
    for line in own:
        assert line["qr_payload"] in _decoded(Image.open(corpus.parent / line["file"])), line


def test_harder_looks_are_mixed_in(corpus: Path, lines: list[dict[str, Any]]) -> None:
    # Compression chains beyond one JPEG: WebP files are among the submissions (with 24 lines, seed 7).
    assert {Path(line["file"]).suffix for line in lines} >= {".jpg", ".webp"}
