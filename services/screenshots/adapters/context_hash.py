"""Fingerprints for spotting re-used screenshots: the file's SHA-256 and a hash of the poster's context.

The context window is placed relative to the poster (so cropping the screenshot's edges or resizing it
does not move it), the poster itself is blanked out (so pasting another poster over it changes
nothing), and a 256-bit DCT hash of what remains captures the avatar, nickname, text and time row that
make a screenshot someone's own.
"""

from __future__ import annotations

import hashlib

import cv2
import numpy as np
from numpy.typing import NDArray

from services.screenshots.adapters.poster_frame import Frame
from services.screenshots.domain.reuse import Fingerprint

__all__ = ["context_hash", "fingerprint"]

_SIZE = 64
_BITS_SIDE = 16
#: The window around the poster, in poster widths (left, right) and heights (above, below).
_LEFT, _RIGHT, _ABOVE, _BELOW = 0.5, 0.7, 0.5, 0.3


def context_hash(gray: NDArray[np.uint8], frame: Frame) -> str:
    height, width = gray.shape
    left = int(frame.left - _LEFT * frame.width)
    top = int(frame.top - _ABOVE * frame.height)
    right = int(frame.right + _RIGHT * frame.width)
    bottom = int(frame.bottom + _BELOW * frame.height)
    background = int(np.median(gray))
    window = np.full((bottom - top, right - left), background, dtype=np.uint8)
    src_left, src_top = max(0, left), max(0, top)
    src_right, src_bottom = min(width, right), min(height, bottom)
    if src_right > src_left and src_bottom > src_top:
        window[src_top - top : src_bottom - top, src_left - left : src_right - left] = gray[
            src_top:src_bottom, src_left:src_right
        ]
    # Blank the poster (and a margin for its edge after JPEG) with the background.
    margin = 0.02 * frame.width
    window[
        max(0, int(frame.top - margin) - top) : int(frame.bottom + margin) - top,
        max(0, int(frame.left - margin) - left) : int(frame.right + margin) - left,
    ] = background
    small = cv2.resize(window, (_SIZE, _SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    spectrum = cv2.dct(small)[:_BITS_SIDE, :_BITS_SIDE].flatten()
    bits = spectrum > np.median(spectrum[1:])
    return f"{int(''.join('1' if bit else '0' for bit in bits), 2):064x}"


def fingerprint(data: bytes, gray: NDArray[np.uint8], frame: Frame | None) -> Fingerprint:
    return Fingerprint(hashlib.sha256(data).hexdigest(), None if frame is None else context_hash(gray, frame))
