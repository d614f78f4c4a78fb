"""Family B of the synthetic screenshots: manifest, kinds, QR codes where they should be, determinism."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from scrm_dev.screenshot_family_b import FAMILY_B_KINDS, generate_family_b
from services.screenshots.service_layer.evaluation import read_manifest

COUNT = 40


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_family_b(tmp_path_factory.mktemp("family-b"), count=COUNT, seed=5)


@pytest.fixture(scope="module")
def lines(corpus: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]


def _decoded(path: Path) -> list[str]:
    with Image.open(path) as image:
        return [code.text for code in zxingcpp.read_barcodes(image.convert("RGB"))]


def test_the_manifest_reads_as_scrm_verify_screenshots_reads_it(corpus: Path, lines: list[dict[str, Any]]) -> None:
    parsed = read_manifest(corpus)
    assert len(parsed) == len(lines) == COUNT
    for line in lines:
        assert line["family"] == "B"
        assert line["kind"] in FAMILY_B_KINDS
        assert line["truth"] == ("genuine" if line["kind"] in ("genuine", "genuine_crowd") else "negative")


def test_every_kind_appears(lines: list[dict[str, Any]]) -> None:
    assert {line["kind"] for line in lines} == set(FAMILY_B_KINDS)


def test_genuine_screenshots_carry_the_members_own_code(corpus: Path, lines: list[dict[str, Any]]) -> None:
    genuine = [line for line in lines if line["truth"] == "genuine"]
    readable = sum(line["qr_payload"] in _decoded(corpus.parent / line["file"]) for line in genuine)
    assert readable >= 0.9 * len(genuine)


def test_own_code_on_other_artwork_decodes_to_the_member_but_is_not_their_poster(
    corpus: Path, lines: list[dict[str, Any]]
) -> None:
    for line in lines:
        if line["kind"].startswith("own_qr_other"):
            assert line["qr_payload"] in _decoded(corpus.parent / line["file"])


def test_someone_elses_code_is_not_the_members(corpus: Path, lines: list[dict[str, Any]]) -> None:
    for line in lines:
        if line["kind"] in ("foreign_qr", "other_campaign"):
            assert line["qr_payload"] not in _decoded(corpus.parent / line["file"])


def test_a_resent_file_is_byte_identical_to_an_earlier_genuine_one(corpus: Path, lines: list[dict[str, Any]]) -> None:
    folder = corpus.parent
    for i, line in enumerate(lines):
        if line["kind"] == "reused_same_file":
            data = (folder / line["file"]).read_bytes()
            assert any(
                (folder / e["file"]).read_bytes() == data and e["user"] == line["user"]
                for e in lines[:i]
                if e["truth"] == "genuine"
            )


def test_the_crowd_shares_one_campaign_and_its_suggested_words(lines: list[dict[str, Any]]) -> None:
    crowd = [line for line in lines if line["kind"] == "genuine_crowd"]
    assert len({line["campaign"] for line in crowd}) == 1
    assert len({json.dumps(line["variant"]["phone"]) for line in crowd}) == 1


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = generate_family_b(tmp_path / "one", count=6, seed=9)
    second = generate_family_b(tmp_path / "two", count=6, seed=9)
    assert first.read_bytes() == second.read_bytes()
    for raw in first.read_text(encoding="utf-8").splitlines():
        name = json.loads(raw)["file"]
        assert (first.parent / name).read_bytes() == (second.parent / name).read_bytes()


def test_scrm_verify_screenshots_runs_on_a_family_b_manifest(corpus: Path, tmp_path: Path) -> None:
    from scrm.screenshots import verify_manifest

    out = tmp_path / "decisions.jsonl"
    summary = verify_manifest(corpus, out, workers=1)
    decided = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(decided) == summary.images == COUNT
    assert summary.score() is not None


@pytest.mark.parametrize("view", ["top", "feed"])
def test_a_post_is_scrolled_until_its_time_row_is_on_the_screen(view: str) -> None:
    # A tall poster at the top of the feed of a 4-inch phone used to leave the code and the time row
    # (where a private post shows its lock) below the screen's edge: a label no pixel could support.
    import random

    from scrm_dev.screenshot_family_b import PHONES, FamilyBParams, render_moments

    phone = next(p for p in PHONES if p.name == "iphone-se")
    tall = Image.new("RGB", (600, 1100), (200, 120, 60))
    for seed in range(4):
        rendered = render_moments(
            tall, random.Random(seed), FamilyBParams(), nickname="小雨妈妈", words="一起来", avatar_style="default",
            phone=phone, view=view,  # type: ignore[arg-type]
        )  # fmt: skip
        width, height = rendered.image.size
        assert (width, height) == phone.size
        assert rendered.picture_box[3] + 0.07 * width < height  # room for the row under the picture
