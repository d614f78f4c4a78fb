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
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from numpy.typing import NDArray

from services.screenshots.adapters.poster_frame import Frame
from services.screenshots.domain.reuse import Fingerprint
from services.screenshots.domain.similarity import DESCRIPTOR_SIDE

__all__ = ["context_descriptor", "fingerprint"]

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


def fingerprint(data: bytes, gray: NDArray[np.uint8], frame: Frame | None, text: str = "") -> Fingerprint:
    context = None if frame is None else context_descriptor(gray, frame)
    return Fingerprint(hashlib.sha256(data).hexdigest(), context, text)
