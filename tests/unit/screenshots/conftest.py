from __future__ import annotations

from collections.abc import Iterator

import pytest
from PIL import Image

from services.screenshots.adapters.ocr import TesserocrEngine, create_engine
from tests.unit.screenshots.pictures import PAYLOAD, make_poster


@pytest.fixture(scope="module")
def engine() -> Iterator[TesserocrEngine]:
    """The OCR engine the analyzer uses in production (loading its model takes a while: once a module)."""
    ocr = create_engine("tesserocr")
    assert isinstance(ocr, TesserocrEngine)
    yield ocr
    ocr.close()


@pytest.fixture(scope="module")
def poster() -> Image.Image:
    """The campaign poster carrying :data:`~tests.unit.screenshots.pictures.PAYLOAD` in its QR code."""
    return make_poster(PAYLOAD)
