"""The lock marker under a Moments post: read_below_poster on rendered time rows, and _ink_after_time's rule.

WeChat prints a small padlock between the time and 删除 on a private (or partly visible) post. OCR does not
read the icon, so the row is cut into ink runs: on a public post the runs before 删除 are the time word's,
on a private one the last of them is a lone run about one glyph wide, set apart from the time word.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from services.screenshots.adapters.moments_ui import (
    _glyph_height,
    _in_whole_first_line,
    _ink_after_time,
    _without_home_indicator,
    read_below_poster,
)
from services.screenshots.adapters.ocr import TesserocrEngine
from services.screenshots.adapters.poster_frame import Frame
from services.screenshots.domain.moments_text import OcrToken, RowReading
from tests.unit.screenshots.pictures import LINK_BLUE, font, padlock

#: The whitespace between the items of the row, in spaces of the row's font.
GAP = "  "


def time_row(
    width: int = 750,
    *,
    private: bool = False,
    dark: bool = False,
    time_word: str = "3分钟前",
    gap: str = GAP,
    own: bool = True,
    lock_gap: float | None = None,
) -> tuple[NDArray[np.uint8], Frame]:
    """A screen ``width`` wide with a poster (as a block) and the Moments time row under it, as grayscale.

    Public: ``time_word`` ``gap`` 删除; private: ``time_word`` ``gap`` padlock ``gap`` 删除; ``own=False``
    leaves 删除 out (someone else's post); ``lock_gap`` (font sizes; default ``gap``) is the space before the padlock.
    """
    k = width / 750
    page = (25, 25, 25) if dark else (255, 255, 255)
    grey = (110, 110, 110) if dark else (178, 178, 178)
    frame = Frame(round(130 * k), round(40 * k), round(338 * k), round(200 * k))
    image = Image.new("RGB", (width, int(frame.bottom + 0.12 * width)), page)
    draw = ImageDraw.Draw(image)
    draw.rectangle((frame.left, frame.top, frame.right - 1, frame.bottom - 1), fill=(250, 180, 160))
    row_font = font(round(26 * k))
    x, y = frame.left, frame.bottom + round(14 * k)
    draw.text((x, y), time_word, font=row_font, fill=grey)
    if lock_gap is not None and private:
        x += draw.textlength(time_word, font=row_font) + lock_gap * row_font.size
    else:
        x += draw.textlength(time_word + gap, font=row_font)
    if private:
        x += padlock(draw, x, y, k, grey) + draw.textlength(gap, font=row_font)
    if own:
        draw.text((x, y), "删除", font=row_font, fill=LINK_BLUE)
    return np.asarray(image.convert("L"), dtype=np.uint8), frame


# --- read_below_poster on rendered rows -----------------------------------------------------------------


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("width", [540, 750, 1080])
def test_the_padlock_is_seen_and_only_on_private_posts(
    engine: TesserocrEngine, width: int, dark: bool, private: bool
) -> None:
    gray, frame = time_row(width, private=private, dark=dark)
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_word == "3分钟前", row.reading
    assert row.reading.delete_box is not None, row.reading
    assert row.lock_marker is private, row.reading


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("time_word", ["刚刚", "2小时前", "昨天", "12月3日"])
def test_the_padlock_after_other_time_words(engine: TesserocrEngine, time_word: str, dark: bool, private: bool) -> None:
    gray, frame = time_row(private=private, dark=dark, time_word=time_word)
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_word == time_word, row.reading
    assert row.lock_marker is private, row.reading


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("time_word", ["47 mins ago", "12 mins ago"])
@pytest.mark.parametrize("lock_gap", [0.3, 0.35])
@pytest.mark.parametrize("width", [540, 1080])
def test_a_padlock_a_word_space_after_english_words(
    engine: TesserocrEngine, time_word: str, dark: bool, private: bool, lock_gap: float, width: int
) -> None:
    # The lock about as close to "ago" as the words are to each other: past the time word's
    # box, that is enough to set it apart (issue 18: such a private post was approved).
    gray, frame = time_row(private=private, dark=dark, time_word=time_word, gap="   ", lock_gap=lock_gap, width=width)
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_word is not None, row.reading.text
    assert row.lock_marker is private, row.reading.text


@pytest.mark.parametrize("gap", ["   ", "    "], ids=["3-spaces", "4-spaces"])
@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_wider_gaps(engine: TesserocrEngine, private: bool, gap: str) -> None:
    gray, frame = time_row(private=private, gap=gap)
    assert read_below_poster(gray, frame, engine).lock_marker is private


def test_a_public_post_with_one_space_before_delete_has_no_lock(engine: TesserocrEngine) -> None:
    gray, frame = time_row(gap=" ")
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_word == "3分钟前"
    assert not row.lock_marker


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_someone_elses_post_has_no_lock(engine: TesserocrEngine, dark: bool) -> None:
    gray, frame = time_row(own=False, dark=dark)
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_word == "3分钟前"
    assert row.reading.delete_box is None
    assert not row.lock_marker


def test_no_time_word_no_lock(engine: TesserocrEngine) -> None:
    gray, frame = time_row(private=True, time_word="")
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_box is None
    assert not row.lock_marker


def test_a_row_cut_off_by_the_screen_edge(engine: TesserocrEngine) -> None:
    gray, frame = time_row(private=True)
    row = read_below_poster(gray[: int(frame.bottom) + 3], frame, engine)
    assert row.reading.time_word is None
    assert not row.lock_marker


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_row_under_the_home_indicator_is_read(engine: TesserocrEngine, dark: bool) -> None:
    # The screenshot ends at the time row and the phone's home indicator runs through it: the bar
    # is painted out, so the row is read (before: nothing, and the post was rejected as not Moments).
    gray, frame = time_row(dark=dark, time_word="8小时前")
    width = gray.shape[1]
    row_bottom = int(frame.bottom) + 14 + 34  # the row's glyphs end about here (26 px font at 750 wide)
    screen = np.full((1334, width), gray[-1, 0], dtype=np.uint8)
    offset = screen.shape[0] - row_bottom - 4
    screen[offset:] = gray[: screen.shape[0] - offset]
    bar = screen.shape[0] - 12  # through the glyphs' lower part, as on an iPhone
    screen[bar : bar + 5, width // 3 : 2 * width // 3] = 235 if dark else 20
    shifted = Frame(frame.left, frame.top + offset, frame.width, frame.height)
    row = read_below_poster(screen, shifted, engine)
    assert row.reading.time_word == "8小时前", row.reading.text
    assert row.reading.delete_box is not None
    assert not row.lock_marker


def feet(gray: NDArray[np.uint8], frame: Frame) -> int:
    """The last row of ink under the poster: where the time row's glyphs end."""
    below = gray[int(frame.bottom) :].astype(np.int16)
    return int(frame.bottom) + int(np.flatnonzero((np.abs(below - int(below[0, 0])) > 40).any(axis=1)).max())


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("time_word", ["3分钟前", "昨天"])
def test_a_row_the_screenshot_ends_in_is_read(engine: TesserocrEngine, time_word: str, dark: bool) -> None:
    # The screenshot ends an eighth of a glyph above the glyphs' feet: read with a margin of page under it.
    gray, frame = time_row(time_word=time_word, dark=dark, gap="   ")
    row = read_below_poster(gray[: feet(gray, frame) - 3], frame, engine)
    assert row.reading.time_word == time_word, row.reading.text
    assert row.reading.delete_box is not None
    assert not row.lock_marker


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("cut", [2, 4, 6, 8, 10])
def test_a_private_row_the_screenshot_ends_in_is_never_read_as_public(
    engine: TesserocrEngine, dark: bool, cut: int
) -> None:
    # A cut padlock: it is seen as a lock, or the row is not taken as a public post's (a person looks).
    gray, frame = time_row(private=True, dark=dark, gap="   ")
    row = read_below_poster(gray[: feet(gray, frame) - cut], frame, engine)
    public = row.reading.time_word is not None and row.reading.delete_box is not None and not row.lock_marker
    assert not public, row.reading.text


def test_no_home_indicator_leaves_the_row_alone() -> None:
    gray, _ = time_row(time_word="8小时前")
    assert np.array_equal(_without_home_indicator(gray, 0, gray.shape[0]), gray)


# --- _ink_after_time's rule on hand-made strips -----------------------------------------------------------

#: The time word's OCR box in the hand-made strips. The rule measures a glyph by the inked rows of the
#: line (18-44 here: 26 px), not by OCR's looser box.
TIME_BOX = (10, 15, 100, 30)
DELETE_AT = 260


def strip_with(
    blocks: list[tuple[int, int]], *, dark: bool = False, delete: bool = True
) -> tuple[NDArray[np.uint8], RowReading]:
    """A 60 px strip with the time word's ink (four glyph blocks), ``blocks`` (x, width), and 删除 if ``delete``."""
    page, ink = (30, 200) if dark else (255, 60)
    strip = np.full((60, 400), page, dtype=np.uint8)
    for x in (10, 36, 62, 88):  # four 22 px glyphs 4 px apart: one run
        strip[18:42, x : x + 22] = ink
    for x, width in blocks:
        strip[20:44, x : x + width] = ink
    delete_box = None
    if delete:
        strip[18:42, DELETE_AT : DELETE_AT + 26] = ink
        strip[18:42, DELETE_AT + 30 : DELETE_AT + 56] = ink
        delete_box = (DELETE_AT, 15, 56, 30)
    return strip, RowReading("3分钟前", TIME_BOX, delete_box, "3分钟前删除")


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize(
    ("blocks", "lock"),
    [
        ([], False),  # public
        ([(122, 24)], True),  # a padlock 0.8 glyph wide, 0.4 glyph after the time word
        ([(122, 12)], True),  # 0.4 glyph wide: the narrowest lock
        ([(122, 33)], True),  # 1.27 glyph wide: the widest
        ([(122, 9)], False),  # 0.3 glyph: a dot or a stray mark
        ([(122, 45)], False),  # 1.5 glyphs: a word, not an icon
        ([(118, 24)], True),  # 8 px apart: more than a quarter glyph
        ([(117, 24)], False),  # 7 px: its own run, but not set apart
        ([(113, 24)], False),  # 3 px: joined to the time word
        ([(122, 24), (160, 24)], True),  # the last lone run before 删除 decides
        ([(122, 24), (150, 60)], False),
    ],
    ids=[
        "public",
        "padlock",
        "narrowest",
        "widest",
        "too-narrow",
        "too-wide",
        "just-apart",
        "not-apart",
        "joined",
        "two-icons",
        "then-a-word",
    ],
)
def test_lock_rule(blocks: list[tuple[int, int]], lock: bool, dark: bool) -> None:
    strip, reading = strip_with(blocks, dark=dark)
    assert _ink_after_time(strip, reading) is lock


@pytest.mark.parametrize(
    ("lock_width", "between", "lock"),
    [
        (20, "自", True),  # OCR boxed a stray glyph with the words: the lock was swallowed
        (20, "", False),  # nothing read after the words: the run is a word of them
        (34, "自", False),  # as wide as "ago": a word
    ],
)
def test_lock_rule_english_when_the_time_box_swallows_the_lock(lock_width: int, between: str, lock: bool) -> None:
    # "47 mins ago" as three word runs a word's space apart, then the lock as close, then Delete.
    strip = np.full((60, 400), 255, dtype=np.uint8)
    for x, width in ((10, 30), (48, 56), (112, 34)):
        strip[18:42, x : x + width] = 60
    strip[20:42, 154 : 154 + lock_width] = 60
    strip[18:42, DELETE_AT : DELETE_AT + 70] = 60
    time_box = (10, 15, 154 + lock_width - 10, 30)  # the box reaches over the lock
    reading = RowReading("47minsago", time_box, (DELETE_AT, 15, 70, 30), "47minsago自Delete", between)
    assert _ink_after_time(strip, reading) is lock


def test_lock_rule_without_delete_reads_to_the_strip_end() -> None:
    strip, reading = strip_with([(122, 24)], delete=False)
    assert _ink_after_time(strip, reading)
    strip, reading = strip_with([], delete=False)
    assert not _ink_after_time(strip, reading)


def test_lock_rule_ignores_the_start_of_delete() -> None:
    # 删 begins right where the padlock would be: it is cut off at the middle of 删除 and dropped.
    strip, reading = strip_with([])
    assert not _ink_after_time(strip, reading)
    assert not _ink_after_time(strip, RowReading("3分钟前", TIME_BOX, (DELETE_AT, 15, 20, 30), ""))


def test_lock_rule_on_a_time_box_outside_the_strip() -> None:
    strip, reading = strip_with([(122, 24)])
    assert not _ink_after_time(strip, RowReading("3分钟前", (10, 80, 100, 30), reading.delete_box, ""))
    assert not _ink_after_time(strip, RowReading("3分钟前", TIME_BOX, (0, 15, 0, 30), ""))


# --- where the row is: under a location line, at other font sizes, beside darker lines ---------------------


def row_under(
    lines: list[tuple[str, tuple[int, int, int]]], *, size: int = 26, dark: bool = False, width: int = 750
) -> tuple[NDArray[np.uint8], Frame]:
    """A poster block and, under it, ``lines`` of (text, colour) in a ``size`` px font, one per line."""
    k = width / 750
    page = (25, 25, 25) if dark else (255, 255, 255)
    frame = Frame(round(130 * k), round(40 * k), round(338 * k), round(200 * k))
    image = Image.new("RGB", (width, int(frame.bottom + 0.3 * width)), page)
    draw = ImageDraw.Draw(image)
    draw.rectangle((frame.left, frame.top, frame.right - 1, frame.bottom - 1), fill=(250, 180, 160))
    y = frame.bottom + round(12 * k)
    for text, colour in lines:
        draw.text((frame.left, y), text, font=font(round(size * k)), fill=colour)
        y += round(size * 1.6 * k)
    return np.asarray(image.convert("L"), dtype=np.uint8), frame


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_time_row_under_a_location_line(engine: TesserocrEngine, dark: bool) -> None:
    grey = (110, 110, 110) if dark else (178, 178, 178)
    gray, frame = row_under([("上海·静安嘉里中心", LINK_BLUE), ("5分钟前  删除", grey)], dark=dark)
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_word == "5分钟前", row.reading
    assert row.reading.delete_box is not None
    assert "中心" in row.reading.text  # the whole text is kept for reviewers
    assert not row.lock_marker


@pytest.mark.parametrize("size", [20, 26, 36, 44])
def test_the_time_row_at_other_font_sizes(engine: TesserocrEngine, size: int) -> None:
    gray, frame = row_under([("2小时前  删除", (178, 178, 178))], size=size)
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_word == "2小时前", (size, row.reading)
    assert row.reading.delete_box is not None


def test_a_faint_time_word_over_a_dark_comment(engine: TesserocrEngine) -> None:
    # One threshold for the whole strip would drop the light grey 刚刚 next to the black comment.
    gray, frame = row_under([("刚刚  删除", (200, 200, 200)), ("大树：我也想要这个礼包", (25, 25, 25))])
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_word == "刚刚", row.reading


def test_a_time_stamp_off_the_posters_column_is_not_the_row(engine: TesserocrEngine) -> None:
    # A chat's centred stamp under a picture: a time word, but not where a Moments row starts.
    gray, frame = row_under([("                昨天 16:11", (178, 178, 178))])
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_word is None, row.reading


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("words", ["Just now", "5 mins ago", "1 hr ago", "Yesterday"])
def test_the_time_row_in_english(engine: TesserocrEngine, words: str, dark: bool) -> None:
    grey = (110, 110, 110) if dark else (178, 178, 178)
    gray, frame = row_under([(f"{words}   Delete", grey)], dark=dark)
    row = read_below_poster(gray, frame, engine)
    assert row.reading.time_word is not None, row.reading
    assert row.reading.delete_box is not None, row.reading
    assert not row.lock_marker


def test_lock_rule_on_an_english_row_reads_past_the_words() -> None:
    # "5 mins ago  Delete": three word runs, the last ("ago") short and set apart like a lock would be.
    strip = np.full((60, 420), 255, dtype=np.uint8)
    for x, width in ((10, 14), (34, 52), (100, 30)):  # 5 | mins | ago
        strip[18:42, x : x + width] = 60
    strip[18:42, 300:380] = 60  # Delete
    english = RowReading("5minsago", (10, 15, 122, 30), (300, 15, 80, 30), "5minsagoDelete", "_")
    assert not _ink_after_time(strip, english)
    strip[20:44, 160:180] = 60  # a padlock after the words
    assert _ink_after_time(strip, english)


class _BlockBlind:
    """An engine whose block reading misses everything (as tesseract's now and then does on a short
    grey line next to another one): only the line-by-line reading sees the row."""

    name = "block-blind"

    def __init__(self, engine: TesserocrEngine) -> None:
        self._engine = engine
        self.layouts: list[str] = []

    def read(self, image: NDArray[np.uint8], layout: Literal["line", "block", "sparse"] = "line") -> Sequence[OcrToken]:
        self.layouts.append(layout)
        return [] if layout == "block" else self._engine.read(image, layout)


def test_a_row_the_block_reading_misses_is_read_line_by_line(engine: TesserocrEngine) -> None:
    blind = _BlockBlind(engine)
    gray, frame = row_under([("上海·静安嘉里中心", LINK_BLUE), ("5分钟前  删除", (178, 178, 178))])
    row = read_below_poster(gray, frame, blind)
    assert row.reading.time_word == "5分钟前", row.reading
    assert row.reading.delete_box is not None
    assert blind.layouts == ["block", "line", "line"]  # the location line, then the row


def test_the_left_half_of_delete_is_no_lock_when_ocr_boxed_only_its_right_half() -> None:
    # OCR misread 删 and boxed only 除: 删's left half is a lone glyph-sized run after the time word,
    # but glued to the rest of the word, not set apart from it as an icon is.
    strip = np.full((60, 400), 255, dtype=np.uint8)
    for x in (10, 36, 62, 88):
        strip[18:42, x : x + 22] = 60
    strip[18:42, 122:136] = 60  # 删's left half
    strip[18:42, 139:150] = 60  # its right half
    strip[18:42, 156:182] = 60  # 除
    reading = RowReading("3分钟前", TIME_BOX, (152, 15, 30, 30), "3分钟前副除", "副")
    assert not _ink_after_time(strip, reading)
    # The real icon has a space after it as well.
    strip[18:42, 122:136] = 255
    strip[20:44, 122:146] = 60
    strip[18:42, 139:150] = 255
    strip[18:42, 170:196] = 60
    assert _ink_after_time(strip, RowReading("3分钟前", TIME_BOX, (170, 15, 56, 30), "3分钟前删除", "")) is True


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_next_posts_avatar_under_the_row_does_not_set_the_rows_scale(engine: TesserocrEngine, dark: bool) -> None:
    # A post without likes or comments: the next post's avatar (its edge reaches into the row's
    # column) and nickname follow the row, one band an avatar tall. Averaged with the row's height,
    # it shrank the row to a size OCR misread (issue 18: 刚刚删除 read as 刚刚种除, sent to review).
    gray, frame = time_row(640, dark=dark, time_word="刚刚")
    page = int(gray[0, 0])
    below = Image.new("L", (gray.shape[1], 160), page)
    draw = ImageDraw.Draw(below)
    draw.rectangle((40, 20, int(frame.left) - 10, 74), fill=200 if not dark else 90)  # the next avatar
    draw.text((int(frame.left) + 4, 22), "张老师", font=font(22), fill=LINK_BLUE[0])
    screen = np.vstack([gray, np.asarray(below, dtype=np.uint8)])
    row = read_below_poster(screen, frame, engine)
    assert row.reading.time_word == "刚刚", row.reading
    assert row.reading.delete_box is not None, row.reading
    assert not row.lock_marker


@pytest.mark.parametrize(
    ("bands", "depth", "expected"),
    [
        ([(20, 40), (87, 141)], 200, 20.0),  # the row, then the next avatar's band (measured, issue 18)
        ([(10, 28), (40, 60)], 200, 18.0),  # a location line, then the row
        ([(20, 40), (87, 141)], 142, 20.0),  # the second band runs into the strip's end: not whole
        ([(20, 31)], 32, 11.0),  # only a row the screen cuts: what there is
    ],
)
def test_the_rows_glyph_height_is_the_shorter_whole_line(
    bands: list[tuple[int, int]], depth: int, expected: float
) -> None:
    assert _glyph_height(bands, depth) == expected


@pytest.mark.parametrize(
    ("box", "bands", "depth", "expected"),
    [
        # The row whole in the first line; the screen cuts the next post's nickname under it.
        ((10, 24, 90, 40), [(10, 30), (60, 80)], 81, True),
        # The time word in the second line, the one the screen cuts: the row is cut.
        ((10, 130, 90, 40), [(10, 30), (60, 80)], 81, False),
        # The first line itself runs into the edge.
        ((10, 24, 90, 40), [(10, 30)], 31, False),
    ],
)
def test_a_row_above_a_line_the_screen_cuts_is_whole(
    box: tuple[int, int, int, int], bands: list[tuple[int, int]], depth: int, expected: bool
) -> None:
    assert _in_whole_first_line(box, bands, depth, scale=2.0) is expected
