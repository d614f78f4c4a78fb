"""decode_gray(): untrusted bytes in, a grayscale array or a reason out, never a traceback."""

from __future__ import annotations

import io
import pickle
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from services.screenshots.adapters.images import ImageLimits, ImageRejected, decode_gray
from services.screenshots.domain.verdicts import Reason

LIMITS = ImageLimits()


def encode(image: Image.Image, fmt: str, **options: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def picture(width: int = 300, height: int = 400) -> Image.Image:
    """A colour picture with some structure (so JPEG and grayscale conversion have something to do)."""
    x = np.linspace(0, 255, width, dtype=np.float32)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    rgb = np.stack([np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)), (x + y) / 2], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR claiming ``width`` x ``height`` 1-bit pixels, with almost no pixel data.

    A few hundred bytes on the wire: decoding it would either need gigabytes (a decompression bomb) or fail
    on the missing data, so a size rejection proves the header was checked before any pixel was decoded.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * ((width + 7) // 8 + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def rejection(data: bytes, limits: ImageLimits = LIMITS) -> ImageRejected:
    with pytest.raises(ImageRejected) as caught:
        decode_gray(data, limits)
    return caught.value


@pytest.mark.parametrize(
    ("fmt", "options"), [("PNG", {}), ("JPEG", {"quality": 90}), ("WEBP", {"quality": 90})], ids=["png", "jpeg", "webp"]
)
def test_good_images_decode_to_grayscale(fmt: str, options: dict[str, int]) -> None:
    source = picture(300, 400)
    gray = decode_gray(encode(source, fmt, **options), LIMITS)
    assert gray.shape == (400, 300)
    assert gray.dtype == np.uint8
    expected = np.asarray(source.convert("L"), dtype=np.int16)
    assert np.abs(gray.astype(np.int16) - expected).mean() < 3


@pytest.mark.parametrize("mode", ["RGBA", "P", "1", "L", "LA"])
def test_png_colour_modes(mode: str) -> None:
    gray = decode_gray(encode(picture(250, 220).convert(mode), "PNG"), LIMITS)
    assert gray.shape == (220, 250)
    assert gray.dtype == np.uint8


def test_exactly_the_minimum_side_is_accepted() -> None:
    assert decode_gray(encode(picture(200, 200), "PNG"), LIMITS).shape == (200, 200)


@pytest.mark.parametrize(("width", "height"), [(199, 400), (400, 150), (20, 20), (1, 1)])
def test_too_small(width: int, height: int) -> None:
    error = rejection(encode(picture(width, height), "PNG"))
    assert error.reason is Reason.IMAGE_TOO_SMALL
    assert f"{width}x{height}" in error.detail


def test_empty_bytes() -> None:
    assert rejection(b"").reason is Reason.IMAGE_UNREADABLE


def test_more_bytes_than_allowed() -> None:
    data = encode(picture(), "PNG")
    error = rejection(data, ImageLimits(max_bytes=len(data) - 1))
    assert error.reason is Reason.IMAGE_TOO_LARGE
    assert str(len(data)) in error.detail
    assert decode_gray(data, ImageLimits(max_bytes=len(data))).shape == (400, 300)


def test_more_pixels_than_allowed_is_rejected_before_decoding() -> None:
    # 1000 x 1000 with the pixel data missing: only the header can have been read.
    error = rejection(png_header_only(1000, 1000), ImageLimits(max_pixels=999_999))
    assert error.reason is Reason.IMAGE_TOO_LARGE
    assert "1000x1000" in error.detail


def test_over_the_pixel_limit_but_under_pillows_bomb_warning() -> None:
    data = png_header_only(7000, 7000)  # 49 MP > 40 MP limit, < Pillow's 89 MP warning
    assert len(data) < 10_000
    assert rejection(data).reason is Reason.IMAGE_TOO_LARGE


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (10_000, 10_000),  # 100 MP: Pillow's DecompressionBombWarning
        (20_000, 20_000),  # 400 MP: Pillow's DecompressionBombError
        (65_535, 65_535),
    ],
)
def test_a_decompression_bomb_is_too_large(width: int, height: int) -> None:
    data = png_header_only(width, height)
    assert len(data) < 200_000
    error = rejection(data)
    assert error.reason is Reason.IMAGE_TOO_LARGE, error.detail


def test_a_real_compressed_bomb_is_too_large() -> None:
    # Pillow writes a genuine 9500 x 9500 (90 MP) 1-bit PNG in a few kB.
    data = encode(Image.new("1", (9_500, 9_500)), "PNG", compress_level=9)
    assert len(data) < 100_000
    assert rejection(data).reason is Reason.IMAGE_TOO_LARGE


def test_a_truncated_jpeg() -> None:
    data = encode(picture(600, 800), "JPEG", quality=90)
    error = rejection(data[: len(data) // 2])
    assert error.reason is Reason.IMAGE_UNREADABLE


def test_a_truncated_png() -> None:
    data = encode(picture(600, 800), "PNG")
    assert rejection(data[: len(data) // 2]).reason is Reason.IMAGE_UNREADABLE


def test_a_png_with_a_corrupt_checksum() -> None:
    data = bytearray(png_header_only(300, 300))
    data[29] ^= 0xFF  # the IHDR CRC
    assert rejection(bytes(data)).reason is Reason.IMAGE_UNREADABLE


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        "朋友圈截图".encode() * 100,
        b"\x89PNG\r\n\x1a\n" + b"\0" * 100,
        b"\xff\xd8\xff" + b"\0" * 100,
        b"RIFF\x00\x01\x00\x00WEBPVP8 " + b"\x07" * 64,
        bytes(range(256)) * 40,
    ],
    ids=["pdf", "text", "png-signature-only", "jpeg-signature-only", "broken-webp", "random"],
)
def test_not_an_image(data: bytes) -> None:
    error = rejection(data)
    assert error.reason is Reason.IMAGE_UNREADABLE
    assert error.detail


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_formats_other_than_jpeg_png_webp_are_refused(fmt: str) -> None:
    data = encode(picture(300, 300), fmt)
    assert Image.open(io.BytesIO(data)).size == (300, 300)  # Pillow itself could read it
    assert rejection(data).reason is Reason.IMAGE_UNREADABLE


def test_image_rejected_survives_a_process_boundary() -> None:
    # The analyzer runs in worker processes: its exceptions are pickled back to the parent.
    error = pickle.loads(pickle.dumps(ImageRejected(Reason.IMAGE_TOO_LARGE, "too big")))  # noqa: S301
    assert isinstance(error, ImageRejected)
    assert (error.reason, error.detail) == (Reason.IMAGE_TOO_LARGE, "too big")
