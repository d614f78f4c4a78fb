"""Both OCR engines read a rendered Moments time row, and find_tessdata says clearly when the model is missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from services.screenshots.adapters.ocr import (
    OcrEngineName,
    OcrUnavailable,
    PytesseractEngine,
    TesserocrEngine,
    create_engine,
    find_tessdata,
)
from services.screenshots.domain.moments_text import OcrToken, read_time_row

FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
DEBIAN_TESSDATA = Path("/usr/share/tesseract-ocr/5/tessdata")
ENGINES: tuple[OcrEngineName, ...] = ("tesserocr", "pytesseract")

Engine = TesserocrEngine | PytesseractEngine


def render(parts: list[tuple[str, tuple[int, int, int]]], size: int = 30) -> NDArray[np.uint8]:
    """A light strip with ``parts`` written left to right, two glyphs apart, as grayscale."""
    font = ImageFont.truetype(FONT_PATH, size)
    image = Image.new("RGB", (40 + sum(round(font.getlength(text)) + 2 * size for text, _ in parts), size * 2 + 10))
    image.paste((255, 255, 255), (0, 0, *image.size))
    draw = ImageDraw.Draw(image)
    x = 20.0
    for text, colour in parts:
        draw.text((x, size // 2), text, font=font, fill=colour)
        x += font.getlength(text) + 2 * size
    return np.asarray(image.convert("L"), dtype=np.uint8)


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Engine]]:
    built: dict[str, Engine] = {name: create_engine(name) for name in ENGINES}
    yield built
    for engine in built.values():
        engine.close()


@pytest.fixture(scope="module")
def strip() -> NDArray[np.uint8]:
    return render([("3分钟前", (40, 40, 40)), ("删除", (40, 40, 40))])


def test_create_engine_builds_each_kind(engines: dict[str, Engine]) -> None:
    assert isinstance(engines["tesserocr"], TesserocrEngine)
    assert isinstance(engines["pytesseract"], PytesseractEngine)
    assert {name: engine.name for name, engine in engines.items()} == {name: name for name in ENGINES}


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("layout", ["line", "block"])
def test_engine_reads_the_time_row(
    engines: dict[str, Engine], strip: NDArray[np.uint8], name: str, layout: str
) -> None:
    tokens = engines[name].read(strip, "line" if layout == "line" else "block")
    assert tokens and all(isinstance(token, OcrToken) for token in tokens)
    reading = read_time_row(tokens)
    assert reading.time_word == "3分钟前", reading.text
    assert reading.time_box is not None and reading.delete_box is not None
    # Boxes are in the strip's pixels: the time word starts near x=20, 删除 is right of it, both on the text line.
    x, y, w, h = reading.time_box
    assert abs(x - 20) <= 6 and w > 2 * h
    dx, dy, dw, dh = reading.delete_box
    assert dx > x + w and dw > dh
    height = strip.shape[0]
    assert 0 <= y < height // 2 < y + h <= height and 0 <= dy < height // 2 < dy + dh <= height


@pytest.mark.parametrize("name", ENGINES)
def test_engine_reads_grey_time_and_blue_delete(engines: dict[str, Engine], name: str) -> None:
    # The Moments colours: time in #B2B2B2, 删除 in #576B95.
    light = render([("12分钟前", (0xB2, 0xB2, 0xB2)), ("删除", (0x57, 0x6B, 0x95))])
    reading = read_time_row(engines[name].read(light, "block"))
    assert reading.time_word == "12分钟前", reading.text
    assert reading.delete_box is not None


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("layout", ["line", "block"])
def test_engine_on_a_blank_strip(engines: dict[str, Engine], name: str, layout: str) -> None:
    # Under a poster there may be nothing at all (a poster in a chat or album on a plain background).
    blank = np.full((60, 300), 255, dtype=np.uint8)
    assert list(engines[name].read(blank, "line" if layout == "line" else "block")) == []


def test_engines_agree(engines: dict[str, Engine], strip: NDArray[np.uint8]) -> None:
    readings = [read_time_row(engines[name].read(strip, "block")) for name in ENGINES]
    assert readings[0].time_word == readings[1].time_word == "3分钟前"
    boxes = [reading.time_box for reading in readings]
    assert boxes[0] is not None and boxes[1] is not None
    assert all(abs(a - b) <= 4 for a, b in zip(boxes[0], boxes[1], strict=True))


def test_find_tessdata_in_the_usual_places() -> None:
    assert find_tessdata() == DEBIAN_TESSDATA
    assert find_tessdata(DEBIAN_TESSDATA) == DEBIAN_TESSDATA


def test_find_tessdata_in_a_configured_folder(tmp_path: Path) -> None:
    (tmp_path / "chi_sim.traineddata").write_bytes(b"model")
    assert find_tessdata(tmp_path) == tmp_path


def test_find_tessdata_without_the_model(tmp_path: Path) -> None:
    (tmp_path / "eng.traineddata").write_bytes(b"model")
    with pytest.raises(OcrUnavailable, match=r"chi_sim\.traineddata.*tesseract-ocr-chi-sim") as caught:
        find_tessdata(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_find_tessdata_for_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OcrUnavailable):
        find_tessdata(tmp_path / "nowhere")


def test_find_tessdata_for_another_language(tmp_path: Path) -> None:
    with pytest.raises(OcrUnavailable, match="klingon"):
        find_tessdata(language="klingon")
    (tmp_path / "klingon.traineddata").write_bytes(b"model")
    assert find_tessdata(tmp_path, "klingon") == tmp_path


@pytest.mark.parametrize("name", ENGINES)
def test_create_engine_without_the_model(tmp_path: Path, name: OcrEngineName) -> None:
    with pytest.raises(OcrUnavailable):
        create_engine(name, tmp_path)
