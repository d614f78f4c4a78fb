"""Reading the Moments UI around the poster: the time row under it, the lock marker, the title bar.

Whole-screen OCR is slow (0.5-0.7 s) and unreliable; the row under the poster is where a Moments post
prints its time, 删除 on one's own posts, and a lock for private or restricted posts. That strip is cut
out from the poster's position, scaled so its text is about 30 px high, made dark-on-light (dark mode),
and read by the OCR engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
from numpy.typing import NDArray

from services.screenshots.adapters.ocr import OcrEngine
from services.screenshots.adapters.poster_frame import Frame
from services.screenshots.domain.moments_text import (
    Box,
    OcrToken,
    RowReading,
    normalize_text,
    read_time_row,
    read_title,
)

__all__ = ["TimeRow", "read_above_poster", "read_below_poster", "read_title_bar"]

#: The time row's text is about 3.6% of the screen width; scale strips so it is ~30 px for tesseract.
_TEXT_SHARE = 0.036
_TARGET_TEXT_PX = 30.0
#: How far under the poster the row may sit, in screen widths: right under it, or under a location line.
_ROW_DEPTH = 0.1
_SEARCH_DEPTH = 0.24
_ROW_WIDTH = 0.62
#: Glyph ink height to scale a line to (a CJK glyph's ink is ~0.85 of the font size).
_TARGET_GLYPH_PX = 26.0
#: How far (screen widths) the time word may start from the poster's left edge.
_ROW_ALIGN = 0.06
#: How far above the poster the nickname and the member's words reach, in screen widths.
_ABOVE_DEPTH = 0.33
_BODY_TEXT_SHARE = 0.045
_SURE = 70.0
#: Ink: at least this far (0-255) from the page, and this share of the way to the text's colour.
_MIN_INK = 12
_INK_SHARE = 0.35


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
    """The time row under the poster: the first text lines below it, read together, searched line by line.

    The row is not always the first line: a location (in link colour) can sit between the picture and
    the time. The lines are found by their ink first, so the strip handed to OCR holds two lines at most
    (not the likes and comments under them) and is scaled by the height its text really has: phones
    with a larger or smaller system font size print the row larger or smaller.
    """
    height, width = gray.shape
    left = max(0, int(frame.left - 0.03 * width))
    # The time, a lock and 删除 take well under half the screen even in a large font; the comment
    # button further right is not read (OCR time grows with the strip).
    right = min(width, max(left + 8, int(frame.left + _ROW_WIDTH * width)))
    top = min(height, max(0, int(frame.bottom) + 1))
    bottom = min(height, int(frame.bottom + _SEARCH_DEPTH * width))
    if bottom - top < 6:
        return TimeRow(read_time_row(()), False, (left, top, right - left, max(0, bottom - top)))
    region = _without_home_indicator(gray, top, bottom)[:, left:right]
    expected = _TEXT_SHARE * width
    bands = _text_bands(region, expected)
    if bands:
        cut = min(region.shape[0], bands[min(1, len(bands) - 1)][1] + max(3, int(0.4 * expected)))
        glyph = _glyph_height(bands[:2], region.shape[0])
        scale = min(3.0, max(0.5, _TARGET_GLYPH_PX / glyph))
    else:  # no line stands out (noise, a busy page): read what a row's depth holds, as before
        cut = min(region.shape[0], int(_ROW_DEPTH * width))
        scale = min(3.0, _TARGET_TEXT_PX / expected)
    region = _stretch_lines(region[:cut], bands)
    strip_box = (left, top, right - left, cut)
    # The screenshot ends inside the row (the glyphs' feet cut off): tesseract reads the rest only with
    # a margin of page under it.
    cut_off = bool(bands) and top + cut >= height - 1 and bands[min(1, len(bands) - 1)][1] >= region.shape[0] - 1
    if cut_off:
        margin = np.full((max(4, int(0.6 * expected)), region.shape[1]), np.median(region), dtype=np.uint8)
        region = np.vstack([region, margin])
    strip = _prepare(region, scale)
    tokens = engine.read(strip, "block")
    reading = _row_reading(tokens, (frame.left - left) * scale, width * scale)
    if reading.time_box is None:
        reading = _reread_lines(strip, bands[:2], scale, engine, reading, (frame.left - left) * scale, width * scale)
    if cut_off and reading.time_box is not None and _in_whole_first_line(reading.time_box, bands, cut, scale):
        cut_off = False  # the screen cuts the line after the row (the next post's nickname), not the row
    # Both must see it: OCR reads an icon as a stray glyph between the words, and the pixels show a lone
    # glyph-sized mark set apart by spaces. Either alone misfires on JPEG noise or loose OCR boxes.
    ink_lock = reading.time_box is not None and _ink_after_time(strip, reading)
    lock = bool(reading.between) and ink_lock
    if cut_off and not lock and (ink_lock or reading.between):
        # Half a lock reads as a glyph or shows as a mark, not always both: with one alone, a person looks.
        reading = replace(reading, time_word=None, time_box=None)
    return TimeRow(_to_screen(reading, scale, left, top), lock, strip_box)


#: The home indicator (iPhones without a home button, some Android gesture bars): a bar a third of the
#: screen wide, centred, in the bottom few percent of the screen, drawn over whatever is there.
_INDICATOR_ZONE = 0.04
_INDICATOR_WIDTH = (0.22, 0.5)
_INDICATOR_CONTRAST = 40
_INDICATOR_ROWS = 0.015


def _without_home_indicator(gray: NDArray[np.uint8], top: int, bottom: int) -> NDArray[np.uint8]:
    """Rows ``top:bottom`` of the screen, with the home indicator painted in the page's grey when it is
    among them: a time row at the very bottom of a screenshot runs under it, and OCR reads nothing of
    a line struck through by a bar (the strokes it hides are fewer than the ones it spoils)."""
    height, width = gray.shape
    zone = max(top, height - int(_INDICATOR_ZONE * height))
    if bottom <= zone:
        return gray[top:bottom]
    found: list[tuple[int, int, int, int]] = []
    for y in range(zone, bottom):
        row = gray[y].astype(np.int16)
        page = int(np.median(row))
        columns = np.flatnonzero(np.abs(row - page) > _INDICATOR_CONTRAST)
        if columns.size < _INDICATOR_WIDTH[0] * width:
            continue
        runs = np.split(columns, np.flatnonzero(np.diff(columns) > 1) + 1)
        run = max(runs, key=len)
        wide = _INDICATOR_WIDTH[0] * width <= len(run) <= _INDICATOR_WIDTH[1] * width
        if wide and abs((int(run[0]) + int(run[-1])) / 2 - width / 2) <= 0.03 * width:
            found.append((y, int(run[0]), int(run[-1]), page))
    if not found or len(found) > _INDICATOR_ROWS * height:
        return gray[top:bottom]  # nothing like it, or something far taller than a bar
    region = gray[top:bottom].copy()
    for y, first, last, page in found:
        region[max(0, y - 2 - top) : y + 3 - top, max(0, first - 3) : last + 4] = page
    return region


def _reread_lines(
    strip: NDArray[np.uint8],
    bands: Sequence[tuple[int, int]],
    scale: float,
    engine: OcrEngine,
    reading: RowReading,
    content_left: float,
    screen_width: float,
) -> RowReading:
    """Each line alone, when the lines read together gave no time word: tesseract's block layout now
    and then drops or merges a short grey line next to another one. Only genuine-looking posts whose
    row was missed pay for it: a picture without any line under it has no bands."""
    for start, end in bands:
        y0 = max(0, int((start - 4) * scale))
        y1 = min(strip.shape[0], int(np.ceil((end + 4) * scale)))
        if y1 - y0 < 6:
            continue
        line = [
            OcrToken(token.text, (token.box[0], token.box[1] + y0, token.box[2], token.box[3]), token.confidence)
            for token in engine.read(strip[y0:y1], "line")
        ]
        again = _row_reading(line, content_left, screen_width)
        if again.time_box is not None:
            return replace(again, text=f"{reading.text} / {again.text}" if reading.text else again.text)
    return reading


def _text_bands(region: NDArray[np.uint8], expected: float) -> list[tuple[int, int]]:
    """The first text lines of ``region`` as (top, bottom) rows: runs of rows with ink, of a glyph's height."""
    page = float(np.median(region))
    contrast = np.abs(region.astype(np.int16) - page)
    ink_rows = (contrast > max(_MIN_INK * 2, 0.2 * float(np.percentile(contrast, 99.5)))).sum(axis=1) >= 2
    bands = []
    for start, end in _runs(ink_rows, join_gap=max(2, int(0.12 * expected))):
        if 0.45 * expected <= end - start <= 2.6 * expected:
            bands.append((start, end))
        elif bands:  # a picture or a panel after the lines: the row is above it
            break
        if len(bands) == 2:
            break
    return bands


def _in_whole_first_line(box: Box, bands: Sequence[tuple[int, int]], depth: int, scale: float) -> bool:
    """The time word (``box``, in the strip scaled by ``scale``) is in the first line, and the screen
    does not cut that line: a second line may run into the screen's edge (issue 18: the next post's
    nickname cut by the edge made a whole row count as cut, and a misread 删 then sent a public post
    to review as half a padlock)."""
    if len(bands) < 2:
        return False
    _, y, _, height = box
    top, bottom = bands[0]
    return top <= (y + height / 2) / scale <= bottom and bottom < depth - 1


def _glyph_height(bands: Sequence[tuple[int, int]], depth: int) -> float:
    """The row's glyph height: the shorter of the first two lines that the strip does not cut.

    The second band is often not text at all: with no likes or comments under a post, the next post's
    avatar and nickname come right after the row, one band an avatar tall. Taking it into account
    shrank the row to a size tesseract misreads (issue 18: 刚刚删除 read as 刚刚种除 in dark mode)."""
    whole = [end - start for start, end in bands if end < depth - 1]
    return float(min(whole) if whole else bands[0][1] - bands[0][0])


def _stretch_lines(region: NDArray[np.uint8], bands: Sequence[tuple[int, int]]) -> NDArray[np.uint8]:
    """Each text line stretched to dark-on-white on its own: tesseract thresholds the whole strip once,
    and the time word's light grey vanishes next to a darker location or 删除 line (or a comment)."""
    out = np.asarray(255 - region if float(np.median(region)) < 128 else region.copy(), dtype=np.uint8)
    page = float(np.median(out))
    pad = 3
    for start, end in bands:
        rows = slice(max(0, start - pad), min(out.shape[0], end + pad))
        line = out[rows].astype(np.float32)
        darkest = float(np.percentile(line, 0.5))
        if page - darkest >= 2 * _MIN_INK:
            out[rows] = np.clip((line - darkest) * (255.0 / (page - darkest)), 0, 255).astype(np.uint8)
    return out


def _row_reading(tokens: Sequence[OcrToken], content_left: float, screen_width: float) -> RowReading:
    """The line that reads as a time row, top down; the whole text kept for reviewers.

    A time row starts in the poster's column (a chat's centred time stamp or the words of another post
    further right are not one), so a time word must begin near the poster's left edge."""
    lines = _lines(tokens)
    text = " / ".join("".join(token.text.strip() for token in line) for line in lines)
    fallback: RowReading | None = None
    for line in lines:
        reading = read_time_row(line)
        if reading.time_box is not None:
            if abs(reading.time_box[0] - content_left) <= _ROW_ALIGN * screen_width:
                # Glyphs of other heights (删除 in another font, a misread 删) can fall into a line of
                # their own: everything level with the time word belongs to its row.
                _, y, _, h = reading.time_box
                level = [t for t in tokens if y - h / 2 <= t.box[1] + t.box[3] / 2 <= y + 1.5 * h]
                return replace(read_time_row(level), text=text)
        elif reading.delete_box is not None and fallback is None:
            fallback = reading
    if fallback is not None:
        return replace(fallback, text=text)
    return RowReading(None, None, None, text)


def _ink_after_time(strip: NDArray[np.uint8], reading: RowReading) -> bool:
    """A small icon between the time word and 删除: the lock of a private (or restricted) post.

    OCR reads the words but not the icon, and its boxes are loose around icons (the lock gets read as a
    stray glyph or swallowed by the time word's box). So the row is cut into ink runs by the whitespace
    between them: on a public post the runs before 删除 are the time word's; on a private one the last
    of them is a lone run about one glyph wide, set apart from the time word by a space.
    """
    assert reading.time_box is not None
    _, y, _, h = reading.time_box
    pad = h // 4
    top, bottom = max(0, y - pad), min(strip.shape[0], y + h + pad)
    right = reading.delete_box[0] + reading.delete_box[2] // 2 if reading.delete_box else strip.shape[1]
    if bottom <= top or right <= 0:
        return False
    contrast = np.abs(strip[top:bottom, :right].astype(np.int16) - float(np.median(strip)))
    # Grey time text on white is faint: ink is a third of the way from the page to the text's colour,
    # so thin anti-aliased strokes do not split one glyph into two runs.
    time_part = contrast[:, : reading.delete_box[0]] if reading.delete_box and reading.delete_box[0] > 0 else contrast
    ink = contrast > max(_MIN_INK, _INK_SHARE * float(np.percentile(time_part, 99.5)))
    rows = np.flatnonzero(ink.any(axis=1))
    if rows.size == 0:
        return False
    glyph = max(6, int(rows[-1] - rows[0] + 1))  # the glyphs' inked height, not OCR's loose box
    every = _runs(ink.any(axis=0), join_gap=max(2, int(0.2 * glyph)))
    runs = every
    if reading.delete_box:
        runs = [run for run in runs if run[1] < reading.delete_box[0] + reading.delete_box[2] // 4]
        # The run 删除 starts may be cut by a short OCR box: drop a run touching the cut.
        if runs and runs[-1][1] >= right - 1:
            runs = runs[:-1]
    if len(runs) < 2:
        return False
    (_, previous_end), (last_start, last_end) = runs[-2], runs[-1]
    lone = 0.4 * glyph <= last_end - last_start <= 1.3 * glyph
    # Set apart on both sides: the icon has a space before 删除 too. A run glued to the next one is
    # part of a word (删's left half, when OCR misread 删 and boxed only 除 as the word).
    following = every[every.index(runs[-1]) + 1] if every.index(runs[-1]) + 1 < len(every) else None
    after = following is None or following[0] - last_end >= 0.28 * glyph
    apart = last_start - previous_end >= 0.28 * glyph and after
    if reading.time_word is not None and reading.time_word.isascii():
        # English time words have spaces in them ("5 mins ago"): a short last word is a run of its own,
        # set apart. The lock comes after the words; CJK rows keep the rule above, where OCR's box
        # sometimes swallows the lock into the time word.
        time_right = reading.time_box[0] + reading.time_box[2]
        if last_start < time_right - 0.3 * glyph:
            # Inside the time word's box: a word of it, unless OCR read a stray glyph after the words
            # and boxed it with them (the lock swallowed). Then an icon-sized run, narrower than any
            # last word ("ago", "now" are 1.3 glyphs), a word's space after the others, is the lock.
            icon = 0.4 * glyph <= last_end - last_start <= 1.0 * glyph
            return bool(reading.between) and icon and last_start - previous_end >= 0.15 * glyph and after
        # Past the words, a word's space before it is enough: the lock can sit as close to "ago" as
        # the words sit to each other (issue 18: a private post was approved, its lock 0.27 glyphs on).
        past_words = last_start >= time_right - 0.1 * glyph
        apart = apart or (past_words and last_start - previous_end >= 0.15 * glyph and after)
    return lone and apart


def _runs(columns: NDArray[np.bool_], join_gap: int) -> list[tuple[int, int]]:
    """Runs of True as (start, end) column pairs, joining runs separated by fewer than ``join_gap``."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for index, inked in enumerate(columns.tolist()):
        if inked and start is None:
            start = index
        elif not inked and start is not None:
            runs.append((start, index))
            start = None
    if start is not None:
        runs.append((start, len(columns)))
    joined: list[tuple[int, int]] = []
    for run in runs:
        if joined and run[0] - joined[-1][1] < join_gap:
            joined[-1] = (joined[-1][0], run[1])
        else:
            joined.append(run)
    return joined


def _to_screen(reading: RowReading, scale: float, left: int, top: int) -> RowReading:
    def back(box: Box | None) -> Box | None:
        if box is None:
            return None
        x, y, w, h = box
        return (int(x / scale) + left, int(y / scale) + top, int(w / scale), int(h / scale))

    return RowReading(
        reading.time_word, back(reading.time_box), back(reading.delete_box), reading.text, reading.between
    )


def read_above_poster(gray: NDArray[np.uint8], frame: Frame, engine: OcrEngine) -> str:
    """The text just above the poster (the nickname and what the member wrote), spaces and marks dropped.

    What makes a screenshot someone's own is mostly text: two members' posts of the same poster share
    the layout, and often the words copied from the campaign, but not the nickname.
    """
    width = gray.shape[1]
    bottom = max(0, int(frame.top - 0.005 * width))
    top = _avatar_top(gray, frame)
    if top is None:
        top = max(0, int(frame.top - _ABOVE_DEPTH * width))
    left, right = max(0, int(frame.left)), min(width, int(frame.left + 1.6 * frame.width))
    if bottom - top < 8 or right - left < 8:
        return ""
    scale = min(3.0, _TARGET_TEXT_PX / (_BODY_TEXT_SHARE * width))
    block = _prepare(gray[top:bottom, left:right], scale)
    # The nickname is link-blue, faint next to the words under it (very faint in dark mode, inverted):
    # anything clearly off the page is ink, so both lines reach tesseract as black on white.
    page = float(np.median(block))
    cut = page - max(20.0, 0.2 * (page - float(block.min())))
    binary = np.where(block < cut, 0, 255).astype(np.uint8)
    # The nickname starts level with the avatar's top: a margin keeps tesseract from dropping a line
    # that touches the edge.
    padded = np.asarray(cv2.copyMakeBorder(binary, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255), dtype=np.uint8)
    tokens = engine.read(padded, "sparse")
    # Avatars and icons come out as low-confidence Latin noise ("ee", "S"): keep what OCR is sure of.
    sure = [token for token in tokens if token.confidence >= _SURE]
    lines = (normalize_text("".join(token.text for token in line)) for line in _lines(sure))
    return "\n".join(line for line in lines if line)


def _avatar_top(gray: NDArray[np.uint8], frame: Frame) -> int | None:
    """Where the post starts: the top of the avatar left of the text column, which the nickname's line
    shares. Reading from there, not from a fixed height, keeps the title bar, a cover photo or the
    previous post out of the text that identifies the member."""
    width = gray.shape[1]
    left, right = max(0, int(frame.left - 0.16 * width)), max(0, int(frame.left - 0.012 * width))
    top, bottom = max(0, int(frame.top - 0.45 * width)), max(0, int(frame.top))
    if right - left < 4 or bottom - top < 4:
        return None
    band = gray[top:bottom, left:right].astype(np.int16)
    page = float(np.median(gray[::4, ::4]))  # the page's grey; every 16th pixel tells it as well
    filled = (np.abs(band - page) > 25).mean(axis=1) > 0.3
    runs = _runs(filled, join_gap=max(2, int(0.01 * width)))
    avatars = [run for run in runs if run[1] - run[0] >= 0.06 * width]
    return top + avatars[-1][0] if avatars else None


def _lines(tokens: Sequence[OcrToken]) -> list[list[OcrToken]]:
    """Tokens grouped into text lines by their vertical centres, top to bottom, each left to right."""
    lines: list[list[OcrToken]] = []
    for token in sorted(tokens, key=lambda t: t.box[1] + t.box[3] / 2):
        centre = token.box[1] + token.box[3] / 2
        if lines:
            last = lines[-1][-1]
            if abs(centre - (last.box[1] + last.box[3] / 2)) <= 0.6 * max(token.box[3], last.box[3]):
                lines[-1].append(token)
                continue
        lines.append([token])
    return [sorted(line, key=lambda t: t.box[0]) for line in lines]


def read_title_bar(gray: NDArray[np.uint8], engine: OcrEngine) -> str | None:
    """朋友圈 or 详情 if the title bar (under the status bar) says so."""
    height, width = gray.shape
    band = gray[0 : int(min(height, 0.14 * height)), :]
    scale = min(3.0, _TARGET_TEXT_PX / (0.045 * width))
    return read_title(engine.read(_prepare(band, scale), "block"))
