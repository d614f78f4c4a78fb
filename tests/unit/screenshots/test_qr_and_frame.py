"""QR codes in screenshots (with the crop + upscale fallback) and the poster's frame and artwork around them."""

from __future__ import annotations

import io

import numpy as np
import pytest
import qrcode
from numpy.typing import NDArray
from PIL import Image

from services.screenshots.adapters.images import ImageLimits, decode_gray
from services.screenshots.adapters.poster_frame import (
    ArtworkCells,
    Frame,
    PosterReference,
    artwork_cells,
    artwork_score,
    frame_from_qr,
    locate_by_features,
    poster_reference,
)
from services.screenshots.adapters.qr_codes import FoundQr, find_qr_codes
from services.screenshots.domain.analysis import ReferenceUnusable
from tests.unit.screenshots.pictures import (
    FOREIGN_PAYLOAD,
    PAYLOAD,
    POSTER_QR,
    POSTER_SIZE,
    encode,
    make_photo,
    make_poster,
    make_shot,
)

Gray = NDArray[np.uint8]
POSTER_QR_BOX = (POSTER_QR[0], POSTER_QR[1], POSTER_QR[0] + POSTER_QR[2], POSTER_QR[1] + POSTER_QR[3])


def gray(image: Image.Image) -> Gray:
    return np.asarray(image.convert("L"), dtype=np.uint8)


def place(poster: Image.Image, scale: float, at: tuple[int, int], canvas: tuple[int, int] = (750, 1334)) -> Gray:
    """The poster scaled by ``scale`` and pasted at ``at`` on a white canvas."""
    page = Image.new("RGB", canvas, (255, 255, 255))
    size = (round(poster.width * scale), round(poster.height * scale))
    page.paste(poster.resize(size, Image.Resampling.LANCZOS), at)
    return gray(page)


@pytest.fixture(scope="module")
def reference(poster: Image.Image) -> PosterReference:
    return poster_reference(gray(poster), PAYLOAD)


# --- find_qr_codes ------------------------------------------------------------------------------------


def test_a_poster_qr_is_found_with_its_corners(poster: Image.Image) -> None:
    codes = find_qr_codes(gray(poster))
    assert [code.text for code in codes] == [PAYLOAD]
    left, top, width, height = codes[0].bounds
    # The symbol without its two-module quiet zone, inside the pasted 300 px square at (390, 954).
    assert 390 < left < 420 and 954 < top < 984
    assert width == pytest.approx(268, abs=4) and height == pytest.approx(268, abs=4)


def test_a_small_thumbnail_needs_the_crop_and_upscale_fallback(poster: Image.Image, reference: PosterReference) -> None:
    # 110 px wide (QR modules about 1.3 px): zxing misses it in the whole image, finds it in an upscaled tile.
    scale, at = 110 / poster.width, (50, 40)
    screen = place(poster, scale, at, canvas=(300, 400))
    assert find_qr_codes(screen, upscale_on_miss=False) == []
    codes = find_qr_codes(screen)
    assert [code.text for code in codes] == [PAYLOAD]  # once, though overlapping tiles saw it
    # Corners are mapped back from the upscaled tile to screenshot pixels.
    expected = reference.qr_corners * scale + np.array(at, dtype=np.float32)
    assert np.abs(codes[0].corners - expected).max() < 2.5


def test_a_code_too_small_even_for_the_fallback(poster: Image.Image) -> None:
    assert find_qr_codes(place(poster, 60 / poster.width, (50, 40), canvas=(300, 400))) == []


def test_nothing_to_find() -> None:
    assert find_qr_codes(np.full((400, 300), 255, dtype=np.uint8)) == []
    assert find_qr_codes(gray(make_photo(400, 300))) == []


def test_two_codes_are_both_found() -> None:
    page = Image.new("RGB", (800, 500), (255, 255, 255))
    for index, payload in enumerate((PAYLOAD, FOREIGN_PAYLOAD)):
        page.paste(qrcode.make(payload, box_size=6, border=2).convert("RGB"), (40 + index * 400, 60))
    assert sorted(code.text for code in find_qr_codes(gray(page))) == sorted((PAYLOAD, FOREIGN_PAYLOAD))


def test_bounds_from_corners() -> None:
    corners = np.array([[10.2, 20.9], [50.7, 21.0], [50.1, 60.4], [10.0, 60.0]], dtype=np.float32)
    assert FoundQr("x", corners).bounds == (10, 20, 40, 39)


# --- poster_reference ---------------------------------------------------------------------------------


def test_reference_of_an_issued_poster(reference: PosterReference) -> None:
    assert (reference.width, reference.height) == POSTER_SIZE
    assert reference.payload == PAYLOAD
    assert reference.sample.shape == reference.mask.shape == (85, 48)
    # The QR area (bottom right) is left out of the comparison, the artwork is not.
    assert not reference.mask[-10, -10] and reference.mask[5, 5]
    assert 0.6 < reference.mask.mean() < 0.95
    assert reference.sample[reference.mask].mean() == pytest.approx(0.0, abs=1e-4)
    assert reference.sample[reference.mask].std() == pytest.approx(1.0, abs=1e-3)


def test_a_poster_with_another_members_qr_is_unusable() -> None:
    with pytest.raises(ReferenceUnusable):
        poster_reference(gray(make_poster(FOREIGN_PAYLOAD)), PAYLOAD)


def test_a_poster_without_a_qr_is_unusable() -> None:
    with pytest.raises(ReferenceUnusable):
        poster_reference(gray(make_poster(None)), PAYLOAD)


# --- frame_from_qr / artwork_score --------------------------------------------------------------------


@pytest.mark.parametrize(("scale", "at"), [(0.45, (130, 310)), (0.3, (50, 420)), (0.6, (20, 100)), (0.25, (400, 900))])
def test_frame_from_qr_recovers_the_placement(
    poster: Image.Image, reference: PosterReference, scale: float, at: tuple[int, int]
) -> None:
    screen = place(poster, scale, at)
    own = [code for code in find_qr_codes(screen) if code.text == PAYLOAD]
    assert own
    frame = frame_from_qr(reference, own[0])
    assert frame.left == pytest.approx(at[0], abs=3)
    assert frame.top == pytest.approx(at[1], abs=3)
    assert frame.width == pytest.approx(poster.width * scale, rel=0.015)
    assert frame.height == pytest.approx(poster.height * scale, rel=0.015)
    assert artwork_score(screen, frame, reference) > 0.9


def test_artwork_score_is_low_for_other_artwork(reference: PosterReference) -> None:
    screen = place(make_poster(PAYLOAD, sale=True), 0.45, (130, 310))
    frame = frame_from_qr(reference, find_qr_codes(screen)[0])
    assert artwork_score(screen, frame, reference) < 0.25


def test_artwork_score_of_an_exact_frame(poster: Image.Image, reference: PosterReference) -> None:
    frame = Frame(0, 0, poster.width, poster.height)
    assert artwork_score(gray(poster), frame, reference) == pytest.approx(1.0, abs=0.01)


def test_artwork_score_leaves_out_the_part_of_the_frame_outside_the_screen(
    poster: Image.Image, reference: PosterReference
) -> None:
    # The poster's top 30% is cut off by the top of the screen.
    scale, top = 0.45, -round(0.3 * poster.height * 0.45)
    screen = place(poster, scale, (130, top), canvas=(750, 700))
    frame = Frame(130, top, poster.width * scale, poster.height * scale)
    assert artwork_score(screen, frame, reference) > 0.85


def test_artwork_score_of_a_frame_off_screen(reference: PosterReference) -> None:
    screen = np.full((600, 400), 200, dtype=np.uint8)
    assert artwork_score(screen, Frame(395, 10, 300, 500), reference) == -1.0
    assert artwork_score(screen, Frame(-1000, -1000, 300, 500), reference) == -1.0


def test_frame_geometry() -> None:
    frame = Frame(10.4, 20.6, 100.5, 50.2)
    assert frame.right == pytest.approx(110.9)
    assert frame.bottom == pytest.approx(70.8)
    assert frame.box() == (10, 21, 100, 50)


# --- locate_by_features -------------------------------------------------------------------------------


def test_locate_by_features_finds_a_poster_with_a_blanked_qr(reference: PosterReference) -> None:
    screen = place(make_poster(None), 0.45, (130, 310))
    assert find_qr_codes(screen) == []
    frame = locate_by_features(screen, reference)
    assert frame is not None
    assert frame.left == pytest.approx(130, abs=4) and frame.top == pytest.approx(310, abs=4)
    assert frame.width == pytest.approx(750 * 0.45, rel=0.02)


def test_locate_by_features_in_a_moments_screenshot_with_a_covered_qr(reference: PosterReference) -> None:
    # The realistic case the slow path exists for: a Moments JPEG whose poster QR is unreadable.
    screen = decode_gray(make_shot(make_poster(None)), ImageLimits())
    frame = locate_by_features(screen, reference)
    assert frame is not None
    assert frame.left == pytest.approx(130, abs=4) and frame.top == pytest.approx(310, abs=4)


def test_locate_by_features_finds_nothing_without_the_poster(reference: PosterReference) -> None:
    assert locate_by_features(gray(make_photo(750, 1000)), reference) is None
    assert locate_by_features(np.full((1334, 750), 255, dtype=np.uint8), reference) is None
    rng = np.random.default_rng(5)
    assert locate_by_features(rng.integers(0, 256, (1334, 750), dtype=np.uint8), reference) is None


# --- artwork_cells ----------------------------------------------------------------------------------


def colour_reference(poster: Image.Image) -> PosterReference:
    return poster_reference(gray(poster), PAYLOAD, np.asarray(poster.convert("RGB"), dtype=np.uint8))


def shown(poster: Image.Image, scale: float, at: tuple[int, int], quality: int = 60) -> tuple[Gray, NDArray[np.uint8]]:
    """The poster scaled and pasted on a white page, through a JPEG: (grey, RGB)."""
    page = Image.new("RGB", (750, 1334), (255, 255, 255))
    page.paste(poster.resize((round(poster.width * scale), round(poster.height * scale)), Image.Resampling.BOX), at)
    decoded = Image.open(io.BytesIO(encode(page, "JPEG", quality)))
    return gray(decoded), np.asarray(decoded.convert("RGB"), dtype=np.uint8)


def cells_of(poster: Image.Image, screen: tuple[Gray, NDArray[np.uint8]], *, colour: bool = True) -> ArtworkCells:
    reference = colour_reference(poster) if colour else poster_reference(gray(poster), PAYLOAD)
    own = [code for code in find_qr_codes(screen[0]) if code.text == PAYLOAD]
    assert own
    found = artwork_cells(screen[0], frame_from_qr(reference, own[0]), reference, screen[1] if colour else None)
    assert found is not None
    return found


@pytest.mark.parametrize(("scale", "at"), [(0.45, (130, 310)), (0.3, (50, 420)), (0.25, (400, 900))])
def test_the_issued_poster_agrees_cell_by_cell(poster: Image.Image, scale: float, at: tuple[int, int]) -> None:
    found = cells_of(poster, shown(poster, scale, at))
    assert found.agreement >= 0.95, found
    assert found.shown == 1.0 and found.compared > 100


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "grey"])
def test_the_members_code_on_other_artwork_disagrees(poster: Image.Image, colour: bool) -> None:
    found = cells_of(poster, shown(make_poster(PAYLOAD, sale=True), 0.45, (130, 310)), colour=colour)
    assert found.agreement < 0.3, found


def test_the_same_layout_in_other_colours_disagrees(poster: Image.Image) -> None:
    # Same shapes and text, hues turned around at the same brightness: grey alone cannot tell, colour can.
    pixels = np.asarray(poster.convert("RGB"), dtype=np.uint8)
    swapped = Image.fromarray(np.ascontiguousarray(pixels[..., ::-1]))
    swapped.paste(poster.crop(POSTER_QR_BOX), POSTER_QR_BOX[:2])
    found = cells_of(poster, shown(swapped, 0.45, (130, 310)))
    assert found.agreement < 0.5, found


def test_cells_off_screen_are_not_compared(poster: Image.Image) -> None:
    reference = colour_reference(poster)
    scale, top = 0.45, -round(0.3 * poster.height * 0.45)
    page = Image.new("RGB", (750, 700), (255, 255, 255))
    page.paste(poster.resize((round(poster.width * scale), round(poster.height * scale))), (130, top))
    frame = Frame(130, top, poster.width * scale, poster.height * scale)
    found = artwork_cells(gray(page), frame, reference, np.asarray(page, dtype=np.uint8))
    assert found is not None
    assert found.agreement >= 0.95, found
    assert 0.5 <= found.shown <= 0.75, found  # the top 30 % (artwork only) is off screen
    assert artwork_cells(gray(page), Frame(-1000, -1000, 300, 500), reference) is None
