"""Reading the Moments UI around the poster: the time row under it, the lock marker, the title bar.

Whole-screen OCR is slow (0.5-0.7 s) and unreliable; the row under the poster is where a Moments post
prints its time, 删除 on one's own posts, and a lock for private or restricted posts. That strip is cut
out from the poster's position, scaled so its text is about 30 px high, made dark-on-light (dark mode),
and read by the OCR engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from services.screenshots.adapters.ocr import OcrEngine
from services.screenshots.adapters.poster_frame import Frame
from services.screenshots.domain.moments_text import Box, RowReading, read_time_row, read_title

__all__ = ["TimeRow", "read_below_poster", "read_title_bar"]

#: The time row's text is about 3.6% of the screen width; scale strips so it is ~30 px for tesseract.
_TEXT_SHARE = 0.036
_TARGET_TEXT_PX = 30.0
#: How far under the poster the row may sit, in screen widths.
_ROW_DEPTH = 0.1
#: Ink is a pixel this far (0-255) from the strip's background.
_INK_CONTRAST = 45


@dataclass(frozen=True)
class TimeRow:
    reading: RowReading
    lock_marker: bool
    #: The strip that was read, in screenshot pixels.
    strip: Box


def _prepare(strip: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    if abs(scale - 1.0) > 0.05:
        interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
        strip = np.asarray(cv2.resize(strip, None, fx=scale, fy=scale, interpolation=interpolation), dtype=np.uint8)
    if float(np.median(strip)) < 128:  # dark mode: tesseract wants dark text on light
        strip = 255 - strip
    return strip


def read_below_poster(gray: NDArray[np.uint8], frame: Frame, engine: OcrEngine) -> TimeRow:
    height, width = gray.shape
    left = max(0, int(frame.left - 0.03 * width))
    top = min(height, max(0, int(frame.bottom) + 1))
    bottom = min(height, int(frame.bottom + _ROW_DEPTH * width))
    strip_box = (left, top, width - left, bottom - top)
    if bottom - top < 6:
        return TimeRow(read_time_row(()), False, strip_box)
    scale = min(3.0, _TARGET_TEXT_PX / (_TEXT_SHARE * width))
    strip = _prepare(gray[top:bottom, left:width], scale)
    reading = read_time_row(engine.read(strip, "block"))
    lock = reading.time_box is not None and _ink_after_time(strip, reading)
    return TimeRow(_to_screen(reading, scale, left, top), lock, strip_box)


def _ink_after_time(strip: NDArray[np.uint8], reading: RowReading) -> bool:
    """Something drawn between the time word and 删除 (or just after the time): the lock or group icon.

    Nothing but space separates them on a public post. A time word read without its final 前 leaves that
    glyph in the gap, so the gap then starts one glyph later.
    """
    assert reading.time_box is not None
    x, y, w, h = reading.time_box
    glyph = h
    start = x + w + int(0.25 * glyph)
    if reading.time_word and reading.time_word[-1] in "钟时":
        start += int(1.1 * glyph)
    end = reading.delete_box[0] - int(0.2 * glyph) if reading.delete_box else start + int(2.0 * glyph)
    top, bottom = max(0, y - int(0.2 * h)), min(strip.shape[0], y + h + int(0.2 * h))
    if end - start < glyph // 2 or bottom <= top:
        return False
    background = float(np.median(strip))
    gap = strip[top:bottom, start:end]
    ink = np.abs(gap.astype(np.int16) - background) > _INK_CONTRAST
    return int(ink.sum()) >= 0.08 * glyph * glyph


def _to_screen(reading: RowReading, scale: float, left: int, top: int) -> RowReading:
    def back(box: Box | None) -> Box | None:
        if box is None:
            return None
        x, y, w, h = box
        return (int(x / scale) + left, int(y / scale) + top, int(w / scale), int(h / scale))

    return RowReading(reading.time_word, back(reading.time_box), back(reading.delete_box), reading.text)


def read_title_bar(gray: NDArray[np.uint8], engine: OcrEngine) -> str | None:
    """朋友圈 or 详情 if the title bar (under the status bar) says so."""
    height, width = gray.shape
    band = gray[0 : int(min(height, 0.14 * height)), :]
    scale = min(3.0, _TARGET_TEXT_PX / (0.045 * width))
    return read_title(engine.read(_prepare(band, scale), "block"))
