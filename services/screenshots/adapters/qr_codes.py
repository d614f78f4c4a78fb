"""Finding QR codes in a screenshot with zxing-cpp, which decodes small codes best.

A poster thumbnail in Moments can be small enough that its QR modules are 2-3 pixels: when the whole
image yields nothing, overlapping tiles are upscaled and tried again (measured: zxing decodes a poster
from ~130 px wide on the whole image, ~110 px with crop and upscale, in 0.3-2 ms per attempt).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

__all__ = ["FoundQr", "find_qr_codes"]

_TILE_GRID = 2
_TILE_OVERLAP = 0.35
_UPSCALE = 2.0
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


@dataclass(frozen=True)
class FoundQr:
    text: str
    #: Corners of the symbol (no quiet zone): top-left, top-right, bottom-right, bottom-left, as (x, y).
    corners: NDArray[np.float32]

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        left, top = self.corners.min(axis=0)
        right, bottom = self.corners.max(axis=0)
        return (int(left), int(top), int(right - left), int(bottom - top))


def _read(gray: NDArray[np.uint8], scale: float = 1.0, offset: tuple[int, int] = (0, 0)) -> list[FoundQr]:
    found = []
    for code in zxingcpp.read_barcodes(gray, formats=_QR_ONLY, try_rotate=False):
        p = code.position
        corners = np.array(
            [
                [p.top_left.x, p.top_left.y],
                [p.top_right.x, p.top_right.y],
                [p.bottom_right.x, p.bottom_right.y],
                [p.bottom_left.x, p.bottom_left.y],
            ],
            dtype=np.float32,
        )
        corners = corners / scale + np.array(offset, dtype=np.float32)
        found.append(FoundQr(code.text, corners))
    return found


def find_qr_codes(gray: NDArray[np.uint8], *, upscale_on_miss: bool = True) -> list[FoundQr]:
    """Every QR code decoded in the image, each once."""
    found = _read(gray)
    if found or not upscale_on_miss:
        return found
    height, width = gray.shape
    step_x, step_y = width / _TILE_GRID, height / _TILE_GRID
    pad_x, pad_y = int(step_x * _TILE_OVERLAP), int(step_y * _TILE_OVERLAP)
    seen: dict[str, FoundQr] = {}
    for row in range(_TILE_GRID):
        for column in range(_TILE_GRID):
            left = max(0, int(column * step_x) - pad_x)
            top = max(0, int(row * step_y) - pad_y)
            right = min(width, int((column + 1) * step_x) + pad_x)
            bottom = min(height, int((row + 1) * step_y) + pad_y)
            tile = np.asarray(
                cv2.resize(gray[top:bottom, left:right], None, fx=_UPSCALE, fy=_UPSCALE, interpolation=cv2.INTER_CUBIC),
                dtype=np.uint8,
            )
            for code in _read(tile, _UPSCALE, (left, top)):
                seen.setdefault(code.text, code)
    return list(seen.values())
