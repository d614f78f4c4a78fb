"""Fingerprints for spotting re-used screenshots: the file's SHA-256 and a descriptor of the poster's context.

The context window is placed relative to the poster (so cropping the screenshot's edges or resizing it
does not move it), the poster itself is blanked out (so pasting another poster over it changes
nothing), and what remains — avatar, nickname, text, time row — is kept as a small edge map with a
mask of where the screenshot actually had pixels. Two descriptors are compared by normalized
correlation over the pixels both had (:func:`services.screenshots.domain.similarity.similarity`), so a
copy cropped at the edges still matches its original.

Measured on the synthetic corpus (two seeds): copies (re-encoded, cropped, resized, or another poster
pasted over) correlate at >= 0.97; different members' honest screenshots of the same poster at <= 0.92.
A 256-bit DCT hash of the same window could not separate them (copies up to 30 bits apart, other
members from 4): it sees the page layout, which everyone shares, more than the personal details.

The edge map cannot tell two members apart when all that differs is the nickname: at its resolution a
CJK glyph is a blob, and thousands of members post the same poster from the same phone with the
default avatar and the campaign's suggested words (issue 18: they were flagged as re-used). So the
descriptor also carries the *lines of text* above and below the poster, each cut tight to its ink and
drawn at a fixed 96 x 12 with its aspect ratio: the nickname, the member's words, the time row, the
lines of the posts around it. A copy keeps every one of them; another member's screenshot has at
least one line (the nickname, the time) that matches none of the other's.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from numpy.typing import NDArray

from services.screenshots.adapters.poster_frame import Frame
from services.screenshots.domain.reuse import Fingerprint
from services.screenshots.domain.similarity import DESCRIPTOR_SIDE, LINE_HEIGHT, LINE_WIDTH, pack_lines

__all__ = ["context_descriptor", "fingerprint", "text_lines"]

_SIZE = DESCRIPTOR_SIDE
#: The window around the poster, in poster widths (left, right) and heights (above, below).
_LEFT, _RIGHT, _ABOVE, _BELOW = 0.5, 0.7, 0.5, 0.3


def context_descriptor(gray: NDArray[np.uint8], frame: Frame) -> bytes:
    """Edge map (64 x 64, uint8) then validity mask (packed bits) of the poster's surroundings."""
    height, width = gray.shape
    left = int(frame.left - _LEFT * frame.width)
    top = int(frame.top - _ABOVE * frame.height)
    right = int(frame.right + _RIGHT * frame.width)
    bottom = int(frame.bottom + _BELOW * frame.height)
    background = int(np.median(gray))
    window = np.full((bottom - top, right - left), background, dtype=np.uint8)
    valid = np.zeros((bottom - top, right - left), dtype=np.uint8)
    src_left, src_top = max(0, left), max(0, top)
    src_right, src_bottom = min(width, right), min(height, bottom)
    if src_right > src_left and src_bottom > src_top:
        window[src_top - top : src_bottom - top, src_left - left : src_right - left] = gray[
            src_top:src_bottom, src_left:src_right
        ]
        valid[src_top - top : src_bottom - top, src_left - left : src_right - left] = 1
    # Blank the poster (and a margin for its edge after JPEG): what is pasted there must not matter.
    margin = 0.02 * frame.width
    poster = (
        slice(max(0, int(frame.top - margin) - top), max(0, int(frame.bottom + margin) - top)),
        slice(max(0, int(frame.left - margin) - left), max(0, int(frame.right + margin) - left)),
    )
    window[poster] = background
    valid[poster] = 0
    small = cv2.resize(window, (_SIZE, _SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    edges = cv2.GaussianBlur(
        np.hypot(cv2.Sobel(small, cv2.CV_32F, 1, 0), cv2.Sobel(small, cv2.CV_32F, 0, 1)), (3, 3), 0
    )
    scaled = np.clip(edges * (255.0 / (float(edges.max()) + 1e-6)), 0, 255).astype(np.uint8)
    mask = cv2.erode(
        cv2.resize(valid, (_SIZE, _SIZE), interpolation=cv2.INTER_NEAREST), np.ones((3, 3), np.uint8)
    ).astype(bool)
    return bytes(scaled.tobytes() + np.packbits(mask).tobytes())


#: Where lines of text are looked for: from just left of the poster to 1.6 poster widths right of its
#: left edge (the content column, not the avatar), and above (half a poster height) and below it.
_LINES_LEFT, _LINES_RIGHT = 0.02, 1.6
_LINES_ABOVE, _LINES_BELOW = 0.5, 0.3
#: A text line's height, in poster widths, and how far from the page's tone ink is.
_LINE_MIN, _LINE_MAX = 0.015, 0.2
_INK = 60
_RINGING = 25
#: At most this many lines are kept (the nearest to the poster first would need an order; the
#: top-to-bottom order of the window is as good, and no screen has more).
_MAX_LINES = 16


def text_lines(gray: NDArray[np.uint8], frame: Frame) -> list[tuple[float, NDArray[np.uint8]]]:
    """The lines of text (and other ink rows) above and below the poster: (width / height, a fixed-
    size picture of the line's ink). Lines cut by the search window or the screenshot's edge are left
    out: a copy cropped differently would disagree on them."""
    height, width = gray.shape
    span = frame.width
    left = int(max(0, frame.left - _LINES_LEFT * span))
    right = int(min(width, frame.left + _LINES_RIGHT * span))
    bands = (
        (frame.top - _LINES_ABOVE * frame.height, frame.top - 0.01 * span),
        (frame.bottom + 0.01 * span, frame.bottom + _LINES_BELOW * frame.height),
    )
    lines: list[tuple[float, NDArray[np.uint8]]] = []
    for top, bottom in bands:
        y0, y1 = int(min(height, max(0, top))), int(min(height, max(0, bottom)))
        if right - left >= 8 and y1 - y0 >= 8:
            lines += _lines_in(gray[y0:y1, left:right], span)
    return lines[:_MAX_LINES]


def _lines_in(strip: NDArray[np.uint8], span: float) -> list[tuple[float, NDArray[np.uint8]]]:
    page = float(np.median(strip))
    distance = np.abs(strip.astype(np.float32) - page)
    ink = distance > _INK
    rows = ink.any(axis=1)
    found: list[tuple[float, NDArray[np.uint8]]] = []
    y, count = 0, len(rows)
    while y < count:
        if not rows[y]:
            y += 1
            continue
        start = y
        while y < count and (rows[y] or (y + 1 < count and rows[y + 1])):  # a one-row gap joins
            y += 1
        if start == 0 or y == count or not _LINE_MIN * span <= y - start <= _LINE_MAX * span:
            continue  # cut by the window, or not a line of text
        columns = np.flatnonzero(ink[start:y].any(axis=0))
        if columns.size == 0 or columns[0] == 0 or columns[-1] == ink.shape[1] - 1:
            continue
        first, last = int(columns[0]), int(columns[-1]) + 1
        # Only clear ink counts: JPEG's ringing around glyphs is a few levels off the page.
        clear = np.maximum(distance[start:y, first:last] - _RINGING, 0)
        picture = cv2.resize(clear, (LINE_WIDTH, LINE_HEIGHT), interpolation=cv2.INTER_AREA) * 2
        found.append(((last - first) / (y - start), np.clip(picture, 0, 255).astype(np.uint8)))
    return found


def fingerprint(data: bytes, gray: NDArray[np.uint8], frame: Frame | None, text: str = "") -> Fingerprint:
    context = None if frame is None else context_descriptor(gray, frame) + pack_lines(text_lines(gray, frame))
    return Fingerprint(hashlib.sha256(data).hexdigest(), context, text)
