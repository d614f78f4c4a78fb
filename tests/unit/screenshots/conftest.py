from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.screenshots.adapters.ocr import TesserocrEngine, create_engine


@pytest.fixture(scope="module")
def engine() -> Iterator[TesserocrEngine]:
    """The OCR engine the analyzer uses in production (loading its model takes a while: once a module)."""
    ocr = create_engine("tesserocr")
    assert isinstance(ocr, TesserocrEngine)
    yield ocr
    ocr.close()
