"""Opening an untrusted picture safely: size and pixel limits before decoding, clear reasons after.

A member can send anything: a 20 MB file, a PNG that claims 100 000 x 100 000 pixels (a decompression
bomb: tiny on the wire, gigabytes once decoded), a PDF, half a JPEG. Pillow reads the header lazily, so
the pixel count is checked before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from services.screenshots.domain.verdicts import Reason

__all__ = ["ImageLimits", "ImageRejected", "decode_gray", "decode_picture"]

_FORMATS = ("JPEG", "PNG", "WEBP")


@dataclass(frozen=True)
class ImageLimits:
    #: WeChat's own image limit for media is 10 MB; phone screenshots are well under 5 MB.
    max_bytes: int = 10 * 1024 * 1024
    #: A 1440 x 3200 phone screen is 4.6 MP; 40 MP leaves room for tablets and stitched captures.
    max_pixels: int = 40_000_000
    min_side: int = 200


class ImageRejected(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail

    def __reduce__(self) -> tuple[type[ImageRejected], tuple[Reason, str]]:
        return (type(self), (self.reason, self.detail))


def decode_gray(data: bytes, limits: ImageLimits) -> NDArray[np.uint8]:
    """The picture as an 8-bit grayscale array, or :class:`ImageRejected` saying why not."""
    return decode_picture(data, limits)[0]


def decode_picture(data: bytes, limits: ImageLimits) -> tuple[NDArray[np.uint8], NDArray[np.uint8]]:
    """The picture as grayscale (height x width) and as RGB (height x width x 3), or :class:`ImageRejected`.

    Grey is what the code, the layout and the text are read from; colour tells two artworks of the same
    brightness apart (a pink poster and an olive one are the same grey).
    """
    if not data:
        raise ImageRejected(Reason.IMAGE_UNREADABLE, "empty file")
    if len(data) > limits.max_bytes:
        raise ImageRejected(Reason.IMAGE_TOO_LARGE, f"{len(data)} bytes, limit {limits.max_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            picture = Image.open(io.BytesIO(data), formats=_FORMATS)
            width, height = picture.size
            if width * height > limits.max_pixels:
                raise ImageRejected(Reason.IMAGE_TOO_LARGE, f"{width}x{height} pixels, limit {limits.max_pixels}")
            if min(width, height) < limits.min_side:
                raise ImageRejected(Reason.IMAGE_TOO_SMALL, f"{width}x{height} pixels")
            picture.load()
            gray = picture.convert("L")
            rgb = picture.convert("RGB")
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(Reason.IMAGE_TOO_LARGE, f"decompression bomb: {exc}") from None
    except UnidentifiedImageError as exc:
        raise ImageRejected(Reason.IMAGE_UNREADABLE, f"not a JPEG, PNG or WebP image: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt data
        raise ImageRejected(Reason.IMAGE_UNREADABLE, f"damaged image: {exc}") from None
    return np.asarray(gray, dtype=np.uint8), np.asarray(rgb, dtype=np.uint8)
