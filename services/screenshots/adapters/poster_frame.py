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
    "Frame",
    "PosterReference",
    "artwork_score",
    "frame_from_qr",
    "locate_by_features",
    "poster_reference",
]

#: Width of the small copies compared by correlation.
_SAMPLE_WIDTH = 48
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


def poster_reference(poster: NDArray[np.uint8], payload: str) -> PosterReference:
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
    return PosterReference(payload, width, height, codes[0].corners, _normalize(small, mask), mask, poster)


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


def artwork_score(gray: NDArray[np.uint8], frame: Frame, reference: PosterReference) -> float:
    """Normalized correlation (-1..1) of the screenshot inside ``frame`` with the issued poster.

    Parts of the frame outside the screenshot (a cropped edge) are left out of the comparison.
    """
    height, width = gray.shape
    sample_height, sample_width = reference.sample.shape
    left, top = max(0, int(frame.left)), max(0, int(frame.top))
    right, bottom = min(width, int(np.ceil(frame.right))), min(height, int(np.ceil(frame.bottom)))
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
