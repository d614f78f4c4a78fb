"""OCR engines behind one small interface: tesserocr in process (fast), pytesseract (a subprocess per call).

Both read a small grayscale strip (dark text on a light background, already upscaled) and return tokens
with boxes. tesserocr keeps one tesseract API object per process (it is not thread-safe, and loading the
Chinese model costs ~100 ms); pytesseract starts the ``tesseract`` binary per call (~150 ms), which is
why it is the fallback and the reference, not the default.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from services.screenshots.domain.moments_text import OcrToken

__all__ = [
    "OcrEngine",
    "OcrEngineName",
    "OcrUnavailable",
    "PytesseractEngine",
    "TesserocrEngine",
    "create_engine",
    "find_tessdata",
]

OcrEngineName = Literal["tesserocr", "pytesseract"]
#: ``line``: one row of text; ``block``: a few rows; ``sparse``: scattered lines of different sizes
#: (a nickname over the member's words, which ``block`` tends to drop the first of).
Layout = Literal["line", "block", "sparse"]

#: Where Debian and the tesseract wheels put the trained data, newest first.
_TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
    "/usr/local/share/tessdata",
    "/opt/homebrew/share/tessdata",
)


class OcrUnavailable(RuntimeError):
    """The engine or its Chinese model is not installed (``make install`` sets both up)."""


class OcrEngine(Protocol):
    name: str

    def read(self, image: NDArray[np.uint8], layout: Layout = "line") -> Sequence[OcrToken]:
        """Tokens in a grayscale image, read as ``layout``."""
        ...


def find_tessdata(configured: Path | None = None, language: str = "chi_sim") -> Path:
    """The folder holding ``<language>.traineddata``: the configured one, else the usual places."""
    candidates = [str(configured)] if configured else list(_TESSDATA_CANDIDATES)
    for folder in candidates:
        if (Path(folder) / f"{language}.traineddata").is_file():
            return Path(folder)
    raise OcrUnavailable(
        f"no {language}.traineddata in {', '.join(candidates)}; install tesseract-ocr-chi-sim (make install)"
    )


class TesserocrEngine:
    """tesseract's C++ API in process: about 10-20 ms for a strip of one line."""

    name = "tesserocr"

    def __init__(self, tessdata: Path, language: str = "chi_sim") -> None:
        try:
            import tesserocr
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise OcrUnavailable(f"tesserocr is not installed: {exc}") from None
        self._tesserocr: Any = tesserocr
        # tesseract wants a trailing slash on the data path.
        self._apis = {
            layout: tesserocr.PyTessBaseAPI(path=f"{tessdata}{os.sep}", lang=language, psm=psm)
            for layout, psm in (
                ("line", tesserocr.PSM.SINGLE_LINE),
                ("block", tesserocr.PSM.SINGLE_BLOCK),
                ("sparse", tesserocr.PSM.SPARSE_TEXT),
            )
        }

    def read(self, image: NDArray[np.uint8], layout: Layout = "line") -> Sequence[OcrToken]:
        from PIL import Image

        tesserocr = self._tesserocr
        api = self._apis[layout]
        api.SetImage(Image.fromarray(image))
        api.Recognize()
        tokens: list[OcrToken] = []
        iterator = api.GetIterator()
        level = tesserocr.RIL.SYMBOL
        if iterator is None:
            return tokens
        for item in tesserocr.iterate_level(iterator, level):
            try:
                text = item.GetUTF8Text(level)
            except RuntimeError:  # tesserocr's way of saying "nothing recognized here"
                continue
            box = item.BoundingBox(level)
            if not text or box is None:
                continue
            left, top, right, bottom = box
            tokens.append(OcrToken(text, (left, top, right - left, bottom - top), item.Confidence(level)))
        return tokens

    def close(self) -> None:
        for api in self._apis.values():
            api.End()


class PytesseractEngine:
    """The ``tesseract`` command through pytesseract: slower (a process per call), same results."""

    name = "pytesseract"

    def __init__(self, tessdata: Path, language: str = "chi_sim") -> None:
        try:
            import pytesseract
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise OcrUnavailable(f"pytesseract is not installed: {exc}") from None
        self._pytesseract: Any = pytesseract
        self._language = language
        self._tessdata = tessdata

    def read(self, image: NDArray[np.uint8], layout: Layout = "line") -> Sequence[OcrToken]:
        psm = {"line": 7, "block": 6, "sparse": 11}[layout]
        data = self._pytesseract.image_to_data(
            image,
            lang=self._language,
            config=f"--psm {psm} --tessdata-dir {self._tessdata}",
            output_type=self._pytesseract.Output.DICT,
        )
        tokens: list[OcrToken] = []
        for text, left, top, width, height, confidence in zip(
            data["text"], data["left"], data["top"], data["width"], data["height"], data["conf"], strict=True
        ):
            if text and text.strip():
                tokens.append(OcrToken(text, (left, top, width, height), float(confidence)))
        return tokens

    def close(self) -> None:
        pass


def create_engine(name: OcrEngineName, tessdata: Path | None = None) -> TesserocrEngine | PytesseractEngine:
    folder = find_tessdata(tessdata)
    if name == "tesserocr":
        return TesserocrEngine(folder)
    return PytesseractEngine(folder)
