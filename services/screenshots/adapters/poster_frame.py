"""Where the member's poster is in a screenshot, and whether the artwork there is the poster's.

Fast path: the decoded QR code's corners and the same corners in the issued poster give the poster's
frame in the screenshot (screenshots are not rotated: scale and offset suffice). A small normalized
correlation of the artwork inside that frame against the issued poster, QR masked out, confirms it in
well under a millisecond.

Slow path, only when no QR decodes: ORB features of the poster matched against the screenshot, with a
RANSAC similarity fit. Enough inliers means the poster is there but its code is unreadable, which a
person should look at (measured on synthetic shots: genuine >= 84 inliers, other campaigns <= 10).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from services.screenshots.adapters.qr_codes import FoundQr, find_qr_codes
from services.screenshots.domain.analysis import ReferenceUnusable

__all__ = [
    "ArtworkCells",
    "Frame",
    "PosterReference",
    "artwork_cells",
    "artwork_score",
    "frame_from_qr",
    "locate_by_features",
    "poster_reference",
]

#: Width of the small copies compared by correlation.
_SAMPLE_WIDTH = 48
#: The cell-by-cell comparison: the poster at this width, cut into square cells of _CELL pixels.
_FINE_WIDTH = 96
_CELL = 8
#: A cell whose reference spread (0-255 grey) is below this is flat: it must stay flat and keep its tone.
_FLAT = 7.0
#: The least share of the poster's artwork a crop keeps to count as one (a square tile of a 16:9 poster keeps
#: 56 %, less when also scrolled under the title bar; below 40 % shown a person decides).
_MIN_CROP_SHARE = 0.25
#: Textured cells needed for their own agreement to count.
_MIN_TEXTURED = 12
#: Spread (0-255 grey) of a line of the page or of the gap between tiles, JPEG noise included, and
#: how far its grey may be from the page's.
_FLAT_LINE = 5.0
_PAGE_TONE = 14.0
#: A flat row across the screen this far from the page's grey is a bar of its own (the title bar).
_BAR_TONE = 5.0
_ORB_FEATURES = 1500
_ORB_SHOT_FEATURES = 5000
_ORB_WORK_WIDTH = 720
_MIN_INLIERS = 30


@dataclass(frozen=True)
class Frame:
    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def box(self) -> tuple[int, int, int, int]:
        return (round(self.left), round(self.top), round(self.width), round(self.height))


@dataclass(frozen=True)
class PosterReference:
    """What the verifier needs of the poster a member was issued, computed once per poster."""

    payload: str
    width: int
    height: int
    qr_corners: NDArray[np.float32]
    #: The poster at :data:`_SAMPLE_WIDTH`, zero-mean unit-variance, with ``mask`` (QR area excluded).
    sample: NDArray[np.float32]
    mask: NDArray[np.bool_]
    gray: NDArray[np.uint8]
    #: The poster at :data:`_FINE_WIDTH` (rows and columns a multiple of :data:`_CELL`), and which of
    #: its cells are artwork (not the QR code, its quiet zone or the card around it).
    fine: NDArray[np.float32] | None = None
    fine_cells: NDArray[np.bool_] | None = None
    #: Each cell's mean colour (rows x columns x 3), when the poster was given in colour.
    cell_colours: NDArray[np.float32] | None = None


def poster_reference(
    poster: NDArray[np.uint8], payload: str, colour: NDArray[np.uint8] | None = None
) -> PosterReference:
    codes = [code for code in find_qr_codes(poster) if code.text == payload]
    if not codes:
        raise ReferenceUnusable("the issued poster has no decodable QR code with the member's payload")
    height, width = poster.shape
    sample_height = max(8, round(_SAMPLE_WIDTH * height / width))
    small = cv2.resize(poster, (_SAMPLE_WIDTH, sample_height), interpolation=cv2.INTER_AREA).astype(np.float32)
    mask = np.ones_like(small, dtype=bool)
    left, top, qr_width, qr_height = codes[0].bounds
    # The QR plus its quiet zone and a module or two of slack.
    pad = 0.15 * qr_width
    sx, sy = _SAMPLE_WIDTH / width, sample_height / height
    mask[
        max(0, int((top - pad) * sy)) : int((top + qr_height + pad) * sy) + 1,
        max(0, int((left - pad) * sx)) : int((left + qr_width + pad) * sx) + 1,
    ] = False
    fine_height = max(_CELL, round(_FINE_WIDTH * height / width / _CELL) * _CELL)
    fine = cv2.resize(poster, (_FINE_WIDTH, fine_height), interpolation=cv2.INTER_AREA).astype(np.float32)
    rows, columns = fine_height // _CELL, _FINE_WIDTH // _CELL
    cells = np.ones((rows, columns), dtype=bool)
    fx, fy = _FINE_WIDTH / width, fine_height / height
    # A wider margin than the coarse mask: the member's code differs from any other member's, and the
    # white card some posters put around it belongs to the code, not to the artwork.
    margin = 0.22 * qr_width
    cells[
        max(0, int((top - margin) * fy) // _CELL) : int((top + qr_height + margin) * fy) // _CELL + 1,
        max(0, int((left - margin) * fx) // _CELL) : int((left + qr_width + margin) * fx) // _CELL + 1,
    ] = False
    colours = None
    if colour is not None:
        tinted = cv2.resize(colour, (_FINE_WIDTH, fine_height), interpolation=cv2.INTER_AREA).astype(np.float32)
        colours = _cell_means(tinted, rows, columns)
    return PosterReference(
        payload, width, height, codes[0].corners, _normalize(small, mask), mask, poster, fine, cells, colours
    )


def _cell_means(values: NDArray[np.float32], rows: int, columns: int) -> NDArray[np.float32]:
    """Mean of each _CELL x _CELL cell of an (rows*_CELL, columns*_CELL, channels) array."""
    channels = values.shape[2]
    cells = values.reshape(rows, _CELL, columns, _CELL, channels)
    return np.asarray(cells.mean(axis=(1, 3)), dtype=np.float32)


def _normalize(sample: NDArray[np.float32], mask: NDArray[np.bool_]) -> NDArray[np.float32]:
    values = sample[mask]
    spread = float(values.std()) or 1.0
    return ((sample - float(values.mean())) / spread).astype(np.float32)


def frame_from_qr(reference: PosterReference, qr: FoundQr) -> Frame:
    """The poster's frame in the screenshot from the QR's corners in both images."""
    ref = reference.qr_corners
    scale = float(np.linalg.norm(qr.corners[1] - qr.corners[0]) + np.linalg.norm(qr.corners[2] - qr.corners[1]))
    scale /= float(np.linalg.norm(ref[1] - ref[0]) + np.linalg.norm(ref[2] - ref[1]))
    offset = qr.corners.mean(axis=0) - ref.mean(axis=0) * scale
    return Frame(float(offset[0]), float(offset[1]), reference.width * scale, reference.height * scale)


def artwork_score(
    gray: NDArray[np.uint8], frame: Frame, reference: PosterReference, poster: Frame | None = None
) -> float:
    """Normalized correlation (-1..1) of the screenshot inside ``frame`` with the issued poster.

    Parts of the frame outside the screenshot (a cropped edge) are left out of the comparison. With
    ``poster`` (the whole poster's frame), ``frame`` is the part of it the client shows: only that
    part is compared.
    """
    height, width = gray.shape
    sample_height, sample_width = reference.sample.shape
    shown = frame
    if poster is not None:
        frame = poster
    left, top = max(0, int(shown.left)), max(0, int(shown.top))
    right, bottom = min(width, int(np.ceil(shown.right))), min(height, int(np.ceil(shown.bottom)))
    if right - left < 8 or bottom - top < 8:
        return -1.0
    sx, sy = sample_width / frame.width, sample_height / frame.height
    x0, y0 = round((left - frame.left) * sx), round((top - frame.top) * sy)
    x1 = min(sample_width, max(x0 + 1, round((right - frame.left) * sx)))
    y1 = min(sample_height, max(y0 + 1, round((bottom - frame.top) * sy)))
    crop = cv2.resize(gray[top:bottom, left:right], (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    mask = reference.mask[y0:y1, x0:x1]
    if mask.sum() < 50:
        return -1.0
    observed = _normalize(crop.astype(np.float32), mask)
    expected = _normalize(reference.sample[y0:y1, x0:x1], mask)
    return float((observed[mask] * expected[mask]).mean())


@dataclass(frozen=True)
class ArtworkCells:
    """The poster's artwork compared cell by cell inside the frame the member's code implies.

    A code pasted onto other artwork, or another campaign's poster carrying the member's code, keeps
    the code's cells and changes the rest; a genuine post keeps nearly every cell. Correlation of the
    whole frame is dominated by the poster's broad light and dark areas (many posters share a light
    band with the code in it), which is why each cell is judged on its own, on its local pattern.
    """

    #: Share of the compared cells that agree with the issued poster (0..1).
    agreement: float
    #: How many cells were compared (artwork cells inside the screenshot).
    compared: int
    #: Share of the poster's artwork cells that the screenshot shows (the rest is off-screen or cropped).
    shown: float
    #: The part of the poster the client shows, in screenshot pixels, when it crops the picture (a
    #: tile of a multi-picture grid, a tall picture cut to fit); None when the whole frame is shown.
    visible: Frame | None = None
    #: Where the picture's place on the page is, for the re-use fingerprint: what is shown, except that
    #: a side hidden under a bar across the screen (the title bar a post is scrolled under) keeps the
    #: whole frame's edge. The client drew the picture there; a copy with a poster pasted over it (the
    #: bar covered too) anchors its fingerprint at the same place.
    placed: Frame | None = None


def artwork_cells(
    gray: NDArray[np.uint8], frame: Frame, reference: PosterReference, colour: NDArray[np.uint8] | None = None
) -> ArtworkCells | None:
    """Cell-by-cell agreement of the screenshot inside ``frame`` with the issued poster; None when the
    reference has no fine copy or the frame is not on screen.

    Each cell may sit a sample pixel off (1 % of the poster's width: the QR corners place the frame
    that well, not better, at the poster's far edges). Textured cells must keep their local pattern
    (normalized correlation) and contrast; flat cells must stay flat. Both must keep their colour when
    ``colour`` (the screenshot in RGB) and the reference's colours are given, else their grey tone.
    """
    if reference.fine is None or reference.fine_cells is None:
        return None
    fine_height, fine_width = reference.fine.shape
    rows, columns = fine_height // _CELL, fine_width // _CELL
    sx, sy = fine_width / frame.width, fine_height / frame.height
    # One sample pixel of slack around the frame, for the shifted comparisons.
    wide = Frame(frame.left - 1 / sx, frame.top - 1 / sy, frame.width + 2 / sx, frame.height + 2 / sy)
    sampled = _sample_frame(gray, wide, (fine_width + 2, fine_height + 2))
    if sampled is None:
        return None
    observed, inside = sampled

    def cells(values: NDArray[np.float32]) -> NDArray[np.float32]:
        return values.reshape(rows, _CELL, columns, _CELL).transpose(0, 2, 1, 3).reshape(rows, columns, -1)

    expected = cells(reference.fine)
    e_mean, e_std = expected.mean(axis=2), expected.std(axis=2)
    e_centred = expected - e_mean[..., None]
    flat = e_std < _FLAT
    centre = (slice(1, 1 + fine_height), slice(1, 1 + fine_width))
    usable = reference.fine_cells & (cells(inside[centre].astype(np.float32)).min(axis=2) > 0)
    compared = int(usable.sum())
    total = int(reference.fine_cells.sum())
    if compared == 0:
        return ArtworkCells(0.0, 0, 0.0)
    textured_ok = np.zeros_like(flat)
    flat_ok = np.zeros_like(flat)
    for dy in range(3):
        for dx in range(3):
            seen = cells(observed[dy : dy + fine_height, dx : dx + fine_width])
            s_mean, s_std = seen.mean(axis=2), seen.std(axis=2)
            correlation = (e_centred * (seen - s_mean[..., None])).mean(axis=2) / np.maximum(e_std * s_std, 1e-3)
            textured_ok |= (correlation >= 0.5) & (s_std >= 0.4 * e_std) & (s_std <= 2.5 * e_std + 4)
            flat_ok |= s_std < max(_FLAT * 1.8, 12.0)
    s_mean = cells(observed[centre]).mean(axis=2)
    if colour is not None and reference.cell_colours is not None:
        tinted = _sample_colour(colour, frame, (fine_width, fine_height))
        distance = np.linalg.norm(_cell_means(tinted, rows, columns) - reference.cell_colours, axis=2)
        same_tone = distance <= np.where(flat, 40.0, 60.0)
    else:
        same_tone = np.abs(e_mean - s_mean) <= np.where(flat, 28.0, 45.0)
    agree = np.where(flat, flat_ok, textured_ok) & same_tone & usable
    scale = frame.width / reference.width
    code = (
        frame.left + float(reference.qr_corners[:, 0].min()) * scale,
        frame.top + float(reference.qr_corners[:, 1].min()) * scale,
        frame.left + float(reference.qr_corners[:, 0].max()) * scale,
        frame.top + float(reference.qr_corners[:, 1].max()) * scale,
    )
    kept, visible, placed = _shown_part(gray, frame, (agree, usable, reference.fine_cells), code)
    if visible is not None:
        agree, usable, flat = agree[kept], usable[kept], flat[kept]
        compared = int(usable.sum())
    agreement = float(agree.sum()) / max(1, compared)
    # Flat background agrees cheaply; a same-layout poster with other words differs in its textured
    # cells: with enough of them, those must agree as well.
    textured = usable & ~flat
    if int(textured.sum()) >= _MIN_TEXTURED:
        agreement = min(agreement, float((agree & textured).sum()) / int(textured.sum()))
    return ArtworkCells(round(agreement, 3), compared, round(compared / max(1, total), 3), visible, placed)


def _shown_part(
    gray: NDArray[np.uint8],
    frame: Frame,
    cells: tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]],
    code: tuple[float, float, float, float],
) -> tuple[tuple[slice, slice], Frame | None, Frame | None]:
    """The rows and columns of cells the client shows, the shown part in screenshot pixels, and where
    the picture is placed (the shown part, with a side under a screen-wide bar at the frame's edge):
    all of them and None twice, unless the picture is cropped.

    ``cells`` are (agree, usable, artwork) per cell; ``code`` is the QR code's (left, top, right,
    bottom) in the screenshot. The best rectangle around the code (cells that agree count +1, those
    that do not -1) is a crop only where the screenshot has a crop's edge along each cut side, outside
    the code: a line of one flat colour (the page or the gap between tiles) across the rectangle.
    Inside a poster such a cut would let a poster with other words at the top pass on its bottom half.
    """
    agree, usable, artwork = cells
    rows, columns = agree.shape
    full = (slice(0, rows), slice(0, columns))
    score = np.where(agree, 1.0, np.where(usable, -1.0, 0.0))
    total = np.zeros((rows + 1, columns + 1))
    total[1:, 1:] = score.cumsum(axis=0).cumsum(axis=1)
    masked = np.argwhere(~artwork)
    if masked.size == 0:
        return full, None, None
    (code_top, code_left), (code_bottom, code_right) = masked.min(axis=0), masked.max(axis=0) + 1
    r0 = np.arange(0, code_top + 1)[:, None, None, None]
    r1 = np.arange(code_bottom, rows + 1)[None, :, None, None]
    c0 = np.arange(0, code_left + 1)[None, None, :, None]
    c1 = np.arange(code_right, columns + 1)[None, None, None, :]
    sums = total[r1, c1] - total[r0, c1] - total[r1, c0] + total[r0, c0]
    best = np.unravel_index(int(np.argmax(sums)), sums.shape)
    top, bottom = int(best[0]), int(code_bottom + best[1])
    left, right = int(best[2]), int(code_right + best[3])
    if sums[best] <= sums[0, -1, 0, -1]:  # cropping gains nothing over the whole poster
        return full, None, None
    # A client crop keeps much of the picture; a rectangle hugging the code (its white quiet zone has
    # flat edges all round) is a code on other artwork, not a crop.
    if int(artwork[top:bottom, left:right].sum()) < _MIN_CROP_SHARE * int(artwork.sum()):
        return full, None, None
    ch, cw = frame.height / rows, frame.width / columns
    x0, x1 = frame.left + left * cw, frame.left + right * cw
    y0, y1 = frame.top + top * ch, frame.top + bottom * ch
    code_left_px, code_top_px, code_right_px, code_bottom_px = code
    # The page's grey (the gap between tiles is the page too), beside the picture: not the screen's
    # median, which a cover photo at the top of the feed takes over.
    page = _page_beside(gray, frame)
    edges = [x0, y0, x1, y1]
    # Sides hidden under a bar across the screen, not cut by the client: the frame's own edge there.
    placed = [x0, y0, x1, y1]
    if top > 0:  # the crop's top edge: the lowest flat row above the code, near the rectangle's top
        found, bar = _flat_line(
            gray, (y0 - ch, min(y0 + ch, code_top_px)), (x0, x1), rows_first=True, last=True, page=page
        )
        edges[1] = -1.0 if found is None else found + 1
        placed[1] = frame.top if bar else edges[1]
    if bottom < rows:
        found, bar = _flat_line(
            gray, (max(y1 - ch, code_bottom_px), y1 + ch), (x0, x1), rows_first=True, last=False, page=page
        )
        edges[3] = -1.0 if found is None else found
        placed[3] = frame.bottom if bar else edges[3]
    if left > 0:
        found, _ = _flat_line(
            gray, (x0 - cw, min(x0 + cw, code_left_px)), (y0, y1), rows_first=False, last=True, page=page
        )
        edges[0] = placed[0] = -1.0 if found is None else found + 1
    if right < columns:
        found, _ = _flat_line(
            gray, (max(x1 - cw, code_right_px), x1 + cw), (y0, y1), rows_first=False, last=False, page=page
        )
        edges[2] = placed[2] = -1.0 if found is None else found
    if min(edges) < 0:
        return full, None, None
    shown = Frame(edges[0], edges[1], edges[2] - edges[0], edges[3] - edges[1])
    where = Frame(placed[0], placed[1], placed[2] - placed[0], placed[3] - placed[1])
    return (slice(top, bottom), slice(left, right)), shown, where


def _page_beside(gray: NDArray[np.uint8], frame: Frame) -> float:
    """The median grey right of the frame (or left of it, when it reaches the screen's right edge)."""
    height, width = gray.shape
    top, bottom = max(0, int(frame.top)), min(height, int(frame.bottom))
    right = min(width, int(frame.right) + 2)
    beside = gray[top:bottom, right:] if width - right >= 8 else gray[top:bottom, : max(0, int(frame.left) - 2)]
    if beside.size == 0:
        return float(np.median(gray[::8, ::8]))
    return float(np.median(beside[::2, ::2]))


def _flat_line(
    gray: NDArray[np.uint8],
    across: tuple[float, float],
    along: tuple[float, float],
    *,
    rows_first: bool,
    last: bool,
    page: float,
) -> tuple[int | None, bool]:
    """The first (or ``last``) row (``rows_first``) or column in ``across`` that is one flat colour over
    ``along``, the ``page``'s, in screenshot pixels; None if there is none. A flat line of the poster's
    own colour inside the picture is not its edge. Second: whether that row is only a bar across the
    whole screen (not the page's colour): the picture goes on under it."""
    height, width = gray.shape
    limit_across, limit_along = (height, width) if rows_first else (width, height)
    a0, a1 = max(0, int(across[0])), min(limit_across, int(np.ceil(across[1])))
    b0, b1 = max(0, int(along[0]) + 1), min(limit_along, int(along[1]) - 1)
    if a1 <= a0 or b1 - b0 < 8:
        return None, False
    band = (gray[a0:a1, b0:b1] if rows_first else gray[b0:b1, a0:a1].T).astype(np.float32)
    page_line = (band.std(axis=1) <= _FLAT_LINE) & (np.abs(band.mean(axis=1) - page) <= _PAGE_TONE)
    edge, bar = page_line, np.zeros_like(page_line)
    if rows_first:
        # Or a bar across the whole screen (the title bar the picture is scrolled under), in its colour
        # (a dark title bar is only a few levels off a dark page: any clear difference makes it a bar).
        whole = gray[a0:a1].astype(np.float32)
        across = (whole.std(axis=1) <= _FLAT_LINE) & (band.std(axis=1) <= _FLAT_LINE)
        edge = page_line | across
        bar = across & (~page_line | (np.abs(whole.mean(axis=1) - page) >= _BAR_TONE))
    flat = np.flatnonzero(edge)
    if flat.size == 0:
        return None, False
    chosen = int(flat[-1] if last else flat[0])
    return a0 + chosen, bool(bar[chosen])


def _sample_frame(
    picture: NDArray[np.uint8], frame: Frame, size: tuple[int, int]
) -> tuple[NDArray[np.float32], NDArray[np.bool_]] | None:
    """The screenshot (grey, or RGB) inside ``frame`` resampled to ``size`` (width, height), and where it
    was on screen; zero off screen."""
    sample_width, sample_height = size
    height, width = picture.shape[:2]
    left, top = max(0.0, frame.left), max(0.0, frame.top)
    right, bottom = min(float(width), frame.right), min(float(height), frame.bottom)
    if right - left < 8 or bottom - top < 8:
        return None
    sx, sy = sample_width / frame.width, sample_height / frame.height
    # Rounded: a frame fully on screen samples every cell (the QR corners place it to a pixel or so).
    x0, y0 = round((left - frame.left) * sx), round((top - frame.top) * sy)
    x1 = min(sample_width, round((right - frame.left) * sx))
    y1 = min(sample_height, round((bottom - frame.top) * sy))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    crop = picture[
        max(0, int(frame.top + y0 / sy)) : min(height, int(np.ceil(frame.top + y1 / sy))),
        max(0, int(frame.left + x0 / sx)) : min(width, int(np.ceil(frame.left + x1 / sx))),
    ]
    if crop.shape[0] < 2 or crop.shape[1] < 2:
        return None
    shrinking = crop.shape[1] > (x1 - x0)
    resized = cv2.resize(crop, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    observed = np.zeros((sample_height, sample_width, *picture.shape[2:]), dtype=np.float32)
    observed[y0:y1, x0:x1] = resized
    inside = np.zeros((sample_height, sample_width), dtype=bool)
    inside[y0:y1, x0:x1] = True
    return observed, inside


def _sample_colour(colour: NDArray[np.uint8], frame: Frame, size: tuple[int, int]) -> NDArray[np.float32]:
    """The screenshot's colours inside ``frame`` at ``size``, zero off screen (those cells are not compared)."""
    sampled = _sample_frame(colour, frame, size)
    if sampled is None:
        return np.zeros((size[1], size[0], 3), dtype=np.float32)
    return sampled[0]


def locate_by_features(gray: NDArray[np.uint8], reference: PosterReference) -> Frame | None:
    """The poster's frame found by ORB feature matching, or None. 50-100 ms: only for QR misses."""
    scale = min(1.0, _ORB_WORK_WIDTH / gray.shape[1])
    work = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1.0 else gray
    poster_scale = min(1.0, 360 / reference.width)
    poster = cv2.resize(reference.gray, None, fx=poster_scale, fy=poster_scale, interpolation=cv2.INTER_AREA)
    orb = cv2.ORB.create(nfeatures=_ORB_FEATURES)
    # The QR code's modules would otherwise take most of the poster's keypoints: match the artwork.
    artwork = np.full(poster.shape, 255, dtype=np.uint8)
    (qr_left, qr_top), (qr_right, qr_bottom) = (
        (reference.qr_corners.min(axis=0) * poster_scale).astype(int),
        (reference.qr_corners.max(axis=0) * poster_scale).astype(int),
    )
    pad = int(0.15 * (qr_right - qr_left))
    artwork[max(0, qr_top - pad) : qr_bottom + pad, max(0, qr_left - pad) : qr_right + pad] = 0
    kp_poster, des_poster = orb.detectAndCompute(poster, artwork)
    kp_shot, des_shot = cv2.ORB.create(nfeatures=_ORB_SHOT_FEATURES).detectAndCompute(work, None)
    if des_poster is None or des_shot is None or len(kp_shot) < _MIN_INLIERS:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    good = []
    for pair in matcher.knnMatch(des_poster, des_shot, k=2):
        if len(pair) == 2 and pair[0].distance < 0.75 * pair[1].distance:
            good.append(pair[0])
    if len(good) < _MIN_INLIERS:
        return None
    source = np.array([kp_poster[m.queryIdx].pt for m in good], dtype=np.float32)
    target = np.array([kp_shot[m.trainIdx].pt for m in good], dtype=np.float32)
    matrix, inliers = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=4.0)
    if matrix is None or inliers is None or int(inliers.sum()) < _MIN_INLIERS:
        return None
    factor = float(np.hypot(matrix[0, 0], matrix[1, 0])) / scale * poster_scale
    left, top = matrix[0, 2] / scale, matrix[1, 2] / scale
    if factor <= 0.05:
        return None
    return Frame(float(left), float(top), reference.width * factor, reference.height * factor)
