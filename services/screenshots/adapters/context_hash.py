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
    background = int(np.median(gray[::4, ::4]))  # every 16th pixel tells the page's grey as well
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
#: A text line's height, in poster widths.
_LINE_MIN, _LINE_MAX = 0.015, 0.2
#: Off the page by this much may be a faint line's ink (light grey text is barely 60 levels off white).
_FAINT = 30
#: Rows without ink, in poster widths, that still join two runs into one line.
_JOIN = 0.01
#: Blank columns (in line heights) that end a line: wider than any space between words.
_CLUSTER_GAP = 2.5
#: JPEG ringing around glyphs stays within this many levels of the page.
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
            # Only left of the poster's column: a picture in the column (a cover photo) is no avatar.
            start = _past_avatar(gray[y0:y1, left:right], span, int(frame.left - 0.005 * span) - left)
            lines += _lines_in(gray[y0:y1, left + start : right], span)
    return lines[:_MAX_LINES]


#: Off the page by this much is part of some object (an avatar's fill), not only clear ink.
_OBJECT = 20
#: A column with this much of an object (in poster widths) is an avatar's or a picture's, not text's.
_TALL = 0.2


def _past_avatar(strip: NDArray[np.uint8], span: float, zone: int) -> int:
    """Where the text column starts in ``strip``: after any avatar (or picture) edge in its first
    ``zone`` columns. The avatar sits a few pixels left of the text; its edge drifts in and out of a
    window placed by the poster's estimated frame, and a line with a sliver of avatar glued to it (or
    dropped for touching the window's edge) no longer matches the same line in a copy."""
    if zone <= 0:
        return 0
    page = float(np.median(strip))
    part = np.abs(strip[:, :zone].astype(np.int16) - page) > _OBJECT
    tall = np.flatnonzero(part.sum(axis=0) >= _TALL * span)
    if tall.size == 0:
        return 0
    # JPEG's ringing reaches a little past the avatar's edge.
    return min(zone, int(tall[-1]) + 1 + max(2, int(0.01 * span)))


def _lines_in(strip: NDArray[np.uint8], span: float) -> list[tuple[float, NDArray[np.uint8]]]:
    page = float(np.median(strip))
    distance = np.abs(strip.astype(np.float32) - page)
    # Rows are found with a faint threshold: light grey text (the time, "31 mins ago") is barely 60
    # levels off a white page, and a downscaled, re-encoded copy loses its thin strokes under a fixed
    # cut (a descender split off, the line measured shorter). Each line then gets a cut of its own.
    rows = (distance > _FAINT).any(axis=1)
    found: list[tuple[float, NDArray[np.uint8]]] = []
    y, count = 0, len(rows)
    # A gap this thin is inside a line (a stroke thinned by downscaling and JPEG), not between lines.
    gap = max(1, round(_JOIN * span))
    while y < count:
        if not rows[y]:
            y += 1
            continue
        start = y
        while y < count and rows[y : y + gap + 1].any():
            y += 1
        if start == 0 or y == count:
            continue  # cut by the window
        run = distance[start:y]
        inked = (run > _FAINT).any(axis=0)
        if not inked.any() or inked[0]:
            continue  # cut by the window's side
        # The line is its first cluster of ink: what sits a wide gap further right (the comment
        # button at the screen's edge, which a crop removes or keeps) is not part of what was written.
        end = _first_cluster_end(inked, _CLUSTER_GAP * (y - start))
        if end >= len(inked):
            continue  # runs into the window's side
        run = run[:, :end]
        # Only clear ink counts: JPEG's ringing around glyphs is a few levels off the page. The line's
        # box is where its ink's mass is (the first and last 1% left out), not where a threshold first
        # fires: a copy re-encoded or resized keeps the mass where it was, a thresholded edge moves
        # by a row or two, which shifts a 12-pixel-high picture of the line.
        clear = np.maximum(run - _RINGING, 0)
        top, bottom = _mass_span(clear.sum(axis=1))
        first, last = _mass_span(clear.sum(axis=0))
        if bottom <= top or last <= first or not _LINE_MIN * span <= bottom - top <= _LINE_MAX * span:
            continue  # not a line of text
        picture = cv2.resize(clear[top:bottom, first:last], (LINE_WIDTH, LINE_HEIGHT), interpolation=cv2.INTER_AREA) * 2
        found.append(((last - first) / (bottom - top), np.clip(picture, 0, 255).astype(np.uint8)))
    return found


def _first_cluster_end(inked: NDArray[np.bool_], gap: float) -> int:
    """Where the first cluster of inked columns ends: at the first run of blank columns at least
    ``gap`` wide after some ink (the length when there is none)."""
    columns = np.flatnonzero(inked)
    if columns.size == 0:
        return len(inked)
    steps = np.flatnonzero(np.diff(columns) > gap)
    if steps.size == 0:
        return int(columns[-1]) + 1 if columns[-1] < len(inked) - 1 else len(inked)
    return int(columns[steps[0]]) + 1


def _mass_span(mass: NDArray[np.float32], share: float = 0.01) -> tuple[int, int]:
    """Where ``mass`` lies, leaving ``share`` of it out at either end: (first, last + 1)."""
    total = float(mass.sum())
    if total <= 0:
        return 0, 0
    cumulative = np.cumsum(mass) / total
    return int(np.searchsorted(cumulative, share)), int(np.searchsorted(cumulative, 1 - share)) + 1


def fingerprint(data: bytes, gray: NDArray[np.uint8], frame: Frame | None, text: str = "") -> Fingerprint:
    context = None if frame is None else context_descriptor(gray, frame) + pack_lines(text_lines(gray, frame))
    return Fingerprint(hashlib.sha256(data).hexdigest(), context, text)
