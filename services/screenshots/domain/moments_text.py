"""Reading the Moments UI from OCR output. Pure: tokens in, findings out.

Under a Moments post WeChat prints when it was posted (刚刚, 5分钟前, 3小时前, 昨天, or a date) and, on the
member's own posts, 删除 (delete). OCR of a small, upscaled strip reads these reliably but not perfectly:
a dropped or misread glyph is common on low-quality JPEGs, so the patterns accept the common confusions
(``分` read as ``分`` plus noise, ``前`` missing) without accepting arbitrary text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Box", "OcrToken", "RowReading", "normalize_text", "read_time_row", "read_title"]

Box = tuple[int, int, int, int]  # x, y, width, height

#: Digits, and what OCR makes of small grey ones after recompression (1 as l, I, i or L; 0 as o or O;
#: 1 printed next to 1 as "T"; 7 as 了): never empty, so a bare 分钟前 is not a time.
_DIGITS = r"[0-9０-９lIiLToO了]{1,3}"
#: A clock time some clients print after "Yesterday" or a date.
_CLOCK = r"\s*\d{1,2}\s*[:：]\s*\d{2}"
_MONTHS = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
_TIME_WORDS = (
    re.compile(r"刚\s*刚"),
    re.compile(rf"{_DIGITS}\s*分\s*(?:钟\s*前?|\S\s*前)"),  # 钟 misread (名, 中) still has 前 after it
    re.compile(rf"{_DIGITS}\s*小\s*时\s*前?"),
    re.compile(rf"昨\s*天(?:{_CLOCK})?"),
    re.compile(rf"{_DIGITS}\s*天\s*前"),
    re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*日"),
    # WeChat in English: Just now, 5 mins ago, 1 min ago, 3 hr(s) / hour(s) ago, Yesterday, 2 days ago, Dec 3.
    re.compile(r"just\s*(?:n[o0]w|[a-z]{2,4})", re.IGNORECASE),  # "now" is often misread, "Just" is not
    re.compile(rf"{_DIGITS}\s*(?:min(?:ute)?s?|m)\s*a\s*g\s*o|{_DIGITS}\s*min(?:ute)?s?", re.IGNORECASE),
    re.compile(rf"{_DIGITS}\s*(?:h(?:ou)?rs?)\s*(?:a\s*g\s*o)?", re.IGNORECASE),
    # "Yesterday" with its last letter misread ("Yesterdav", "Yesterdaw"): no other word starts so.
    re.compile(rf"yester\s*da[a-z]?(?:{_CLOCK})?", re.IGNORECASE),
    re.compile(rf"{_DIGITS}\s*days?\s*a\s*g\s*o", re.IGNORECASE),
    re.compile(rf"{_MONTHS}[a-z]*\s*\d{{1,2}}(?:{_CLOCK})?", re.IGNORECASE),
)
#: Quotes, dots and other marks OCR makes of JPEG noise and letter-spacing; not an icon.
_NOT_GLYPHS = re.compile(r"[\s\"'`“”‘’.,:;!?。，、：；！？·…()（）\[\]|_\-~]+")
_DELETE = re.compile(r"删\s*除|删|除|d\s*e\s*[l1I|]\s*e\s*t\s*e", re.IGNORECASE)
#: "Delete" with its tail misread ("Deltee", "Delcte"): only right after a time word, where nothing
#: else is printed.
_DELETE_LOOSE = re.compile(r"d\s*e\s*[l1I|]\s*[a-z]\s*[a-z]\s*[a-z]?", re.IGNORECASE)
#: The title bar in Chinese or English (the canonical Chinese name is what is reported).
_TITLES = {
    "朋友圈": re.compile(r"朋\s*友\s*\S|moments", re.IGNORECASE),
    "详情": re.compile(r"详\s*情|details", re.IGNORECASE),
}


@dataclass(frozen=True)
class OcrToken:
    """A piece of recognized text and where it is (pixels of the image the OCR engine was given)."""

    text: str
    box: Box
    confidence: float = 100.0


@dataclass(frozen=True)
class RowReading:
    time_word: str | None
    time_box: Box | None
    delete_box: Box | None
    text: str
    #: What OCR read between the time word and 删除, punctuation and spaces left out: a public post
    #: has nothing there; an icon (the private lock) is read as some stray glyph.
    between: str = ""


def _spans(tokens: Sequence[OcrToken]) -> tuple[str, list[Box]]:
    """The tokens joined left to right, with each character's token box (CJK tokens are often one glyph)."""
    text = ""
    boxes: list[Box] = []
    for token in sorted(tokens, key=lambda t: t.box[0]):
        piece = token.text.strip()
        text += piece
        boxes.extend([token.box] * len(piece))
    return text, boxes


def _union(boxes: Sequence[Box]) -> Box:
    left = min(b[0] for b in boxes)
    top = min(b[1] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    bottom = max(b[1] + b[3] for b in boxes)
    return (left, top, right - left, bottom - top)


def read_time_row(tokens: Sequence[OcrToken]) -> RowReading:
    """The time word and 删除 (Delete, in English) in the strip under a post, with their boxes.

    A lone 删 or 除 counts as 删除 only to the right of a time word: alone it is too weak a signal.
    """
    text, boxes = _spans(tokens)
    time_word: str | None = None
    time_box: Box | None = None
    time_end = 0
    for pattern in _TIME_WORDS:
        match = pattern.search(text)
        if match:
            time_word = match.group(0).replace(" ", "")
            time_box = _union(boxes[match.start() : match.end()])
            time_end = match.end()
            break
    delete_box: Box | None = None
    between = ""
    for match in _DELETE.finditer(text, time_end):
        if len(match.group(0).replace(" ", "")) >= 2 or time_word is not None:
            delete_box = _union(boxes[match.start() : match.end()])
            if time_word is not None:
                between = _NOT_GLYPHS.sub("", text[time_end : match.start()])
            break
    if delete_box is None and time_word is not None:
        loose = _DELETE_LOOSE.search(text, time_end)
        if loose is not None:
            delete_box = _union(boxes[loose.start() : loose.end()])
            between = _NOT_GLYPHS.sub("", text[time_end : loose.start()])
    return RowReading(time_word, time_box, delete_box, text, between)


def normalize_text(text: str) -> str:
    """OCR text without spaces and marks: what two readings of the same words have in common."""
    return _NOT_GLYPHS.sub("", text)


def read_title(tokens: Sequence[OcrToken]) -> str | None:
    """朋友圈 or 详情 when the title bar says so."""
    text, _ = _spans(tokens)
    for title, pattern in _TITLES.items():
        if pattern.search(text):
            return title
    return None
