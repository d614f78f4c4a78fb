"""Analyzer + decide on synthetic Moments screenshots (built by :mod:`tests.unit.screenshots.pictures`),
and the context descriptor that spots re-used ones."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from services.screenshots.adapters.analyzer import Analyzer
from services.screenshots.adapters.context_hash import context_descriptor, text_lines
from services.screenshots.adapters.ocr import TesserocrEngine
from services.screenshots.adapters.poster_frame import Frame
from services.screenshots.domain.analysis import Analysis, ReferenceUnusable
from services.screenshots.domain.moments_text import RowReading
from services.screenshots.domain.reuse import PriorShot, ReuseFinding, find_reuse
from services.screenshots.domain.similarity import DESCRIPTOR_BYTES, similarity
from services.screenshots.domain.verdicts import (
    Decision,
    DecisionThresholds,
    QrMatch,
    Reason,
    ReuseMatch,
    Verdict,
    decide,
)

# --- fixtures -----------------------------------------------------------------------------------------
from tests.unit.screenshots.pictures import (
    FOREIGN_PAYLOAD,
    PAYLOAD,
    POSTER_QR,
    Member,
    crop_and_reencode,
    encode,
    make_moments,
    make_photo,
    make_poster,
    make_shot,
)


@pytest.fixture(scope="module")
def analyzer(engine: TesserocrEngine) -> Analyzer:
    return Analyzer(engine)


@pytest.fixture(scope="module")
def poster_png(poster: Image.Image) -> bytes:
    return encode(poster, "PNG")


@pytest.fixture(scope="module")
def genuine(poster: Image.Image) -> bytes:
    return make_shot(poster)


def check(analyzer: Analyzer, screenshot: bytes, poster_png: bytes) -> tuple[Analysis, Verdict]:
    analysis = analyzer.analyze(screenshot, poster_png, PAYLOAD)
    return analysis, decide(analysis.evidence)


# --- decisions ----------------------------------------------------------------------------------------


def test_genuine_screenshot_is_approved(
    analyzer: Analyzer, genuine: bytes, poster: Image.Image, poster_png: bytes
) -> None:
    analysis, verdict = check(analyzer, genuine, poster_png)
    evidence = analysis.evidence
    assert verdict == Verdict(Decision.APPROVE, ()), evidence
    assert evidence.qr is QrMatch.OWN
    assert evidence.qr_payloads == (PAYLOAD,)
    assert evidence.artwork_score is not None and evidence.artwork_score > 0.9
    assert evidence.poster_share == pytest.approx(0.45, abs=0.01)
    assert evidence.time_word == "3分钟前"
    assert evidence.moments_checked and evidence.delete_word and not evidence.lock_marker
    _, placement = make_moments(poster)
    left, top, width, height = evidence.boxes["poster"]
    assert abs(left - placement.left) <= 3 and abs(top - placement.top) <= 3
    assert abs(width - placement.width) <= 4 and abs(height - placement.height) <= 6
    # The time row and 删除 are read under the poster, 删除 to the right of the time.
    time_box, delete_box = evidence.boxes["time"], evidence.boxes["delete"]
    assert placement.top + placement.height < time_box[1] < placement.top + placement.height + 60
    assert abs(time_box[0] - placement.left) <= 6
    assert delete_box[0] > time_box[0] + time_box[2]
    assert len(analysis.fingerprint.sha256) == 64
    context = analysis.fingerprint.context
    # The edge map, then the lines of text around the poster (nickname, words, the time row).
    assert (
        context is not None
        and context[DESCRIPTOR_BYTES : DESCRIPTOR_BYTES + 1] == b"L"
        and context[DESCRIPTOR_BYTES + 1] >= 3
    )


def test_dark_mode_is_approved(analyzer: Analyzer, poster: Image.Image, poster_png: bytes) -> None:
    analysis, verdict = check(analyzer, make_shot(poster, dark=True), poster_png)
    assert verdict == Verdict(Decision.APPROVE, ()), analysis.evidence


def test_small_low_quality_screenshot_is_approved(analyzer: Analyzer, poster: Image.Image, poster_png: bytes) -> None:
    analysis, verdict = check(analyzer, make_shot(poster, size=(540, 960), quality=45), poster_png)
    assert verdict == Verdict(Decision.APPROVE, ()), analysis.evidence


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_private_post_is_rejected(analyzer: Analyzer, poster: Image.Image, poster_png: bytes, dark: bool) -> None:
    analysis, verdict = check(analyzer, make_shot(poster, private=True, dark=dark), poster_png)
    assert verdict == Verdict(Decision.REJECT, (Reason.PRIVATE_POST,)), analysis.evidence
    assert analysis.evidence.lock_marker
    assert analysis.evidence.time_word == "3分钟前"


def test_someone_elses_post_goes_to_review(analyzer: Analyzer, poster: Image.Image, poster_png: bytes) -> None:
    analysis, verdict = check(analyzer, make_shot(poster, own=False), poster_png)
    assert verdict == Verdict(Decision.REVIEW, (Reason.NOT_OWN_POST,)), analysis.evidence


@pytest.mark.parametrize("time_word", ["刚刚", "2小时前", "昨天"])
def test_other_time_words(analyzer: Analyzer, poster: Image.Image, poster_png: bytes, time_word: str) -> None:
    analysis, verdict = check(analyzer, make_shot(poster, time_word=time_word), poster_png)
    assert verdict.decision is Decision.APPROVE, analysis.evidence
    assert analysis.evidence.time_word == time_word


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_the_bare_poster_is_rejected(analyzer: Analyzer, poster: Image.Image, poster_png: bytes, fmt: str) -> None:
    analysis, verdict = check(analyzer, encode(poster, fmt), poster_png)
    assert verdict == Verdict(Decision.REJECT, (Reason.BARE_POSTER,)), analysis.evidence
    assert analysis.evidence.poster_share == pytest.approx(1.0, abs=0.01)
    assert not analysis.evidence.moments_checked  # no OCR once the outcome is known


def test_a_full_screen_view_is_rejected(analyzer: Analyzer, poster: Image.Image, poster_png: bytes) -> None:
    viewer = Image.new("RGB", (750, 1600), (0, 0, 0))
    viewer.paste(poster, (0, 133))
    analysis, verdict = check(analyzer, encode(viewer), poster_png)
    assert verdict == Verdict(Decision.REJECT, (Reason.FULLSCREEN_VIEW,)), analysis.evidence


def test_someone_elses_qr_is_rejected(analyzer: Analyzer, poster_png: bytes) -> None:
    analysis, verdict = check(analyzer, make_shot(make_poster(FOREIGN_PAYLOAD)), poster_png)
    assert verdict == Verdict(Decision.REJECT, (Reason.FOREIGN_QR,)), analysis.evidence
    assert analysis.evidence.qr_payloads == (FOREIGN_PAYLOAD,)
    assert not analysis.evidence.moments_checked
    # The frame the foreign code implies still anchors the re-use descriptor.
    assert analysis.fingerprint.context is not None


def test_own_qr_on_other_artwork_is_rejected(analyzer: Analyzer, poster_png: bytes) -> None:
    analysis, verdict = check(analyzer, make_shot(make_poster(PAYLOAD, sale=True)), poster_png)
    assert verdict == Verdict(Decision.REJECT, (Reason.POSTER_MISMATCH,)), analysis.evidence
    assert analysis.evidence.artwork_score is not None and analysis.evidence.artwork_score < 0.25


def test_poster_with_covered_qr_goes_to_review(analyzer: Analyzer, poster_png: bytes) -> None:
    analysis, verdict = check(analyzer, make_shot(make_poster(None)), poster_png)
    assert verdict == Verdict(Decision.REVIEW, (Reason.QR_UNREADABLE,)), analysis.evidence
    assert analysis.evidence.poster_located_without_qr
    assert analysis.evidence.time_word == "3分钟前"


def test_a_poster_on_an_empty_page_is_not_moments(analyzer: Analyzer, poster: Image.Image, poster_png: bytes) -> None:
    # Nothing under the poster and no title bar (a chat image, an album): OCR finds no text, which is no crash.
    page = Image.new("RGB", (750, 1334), (255, 255, 255))
    page.paste(poster.resize((338, 601), Image.Resampling.LANCZOS), (206, 300))
    analysis, verdict = check(analyzer, encode(page), poster_png)
    assert verdict == Verdict(Decision.REJECT, (Reason.NOT_MOMENTS,)), analysis.evidence


def test_moments_title_without_a_visible_time_row_goes_to_review(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes
) -> None:
    # The screenshot ends just under the poster: only the 朋友圈 title bar says it is Moments.
    image, placement = make_moments(poster)
    cut = image.crop((0, 0, image.width, placement.top + placement.height + 3))
    analysis, verdict = check(analyzer, encode(cut), poster_png)
    assert verdict == Verdict(Decision.REVIEW, (Reason.MOMENTS_UNCERTAIN,)), analysis.evidence
    assert analysis.evidence.title == "朋友圈"


def test_a_screenshot_ending_under_the_poster_without_a_title_goes_to_review(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes
) -> None:
    # The top of the feed: no 朋友圈 title (the cover photo is there), and the screenshot ends under the
    # poster. The time row is out of the picture, not missing: a person decides.
    image, placement = make_moments(poster)
    cut = image.crop((0, 130, image.width, placement.top + placement.height + 3))
    analysis, verdict = check(analyzer, encode(cut), poster_png)
    assert verdict == Verdict(Decision.REVIEW, (Reason.MOMENTS_UNCERTAIN,)), analysis.evidence
    assert analysis.evidence.time_row_cut


def test_other_artwork_in_the_same_greys_is_rejected(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes
) -> None:
    # The member's code on the campaign's layout recoloured (another brand's version of it): the
    # whole-frame grey correlation cannot see it, the cells' colours can.
    pixels = np.asarray(poster.convert("RGB"), dtype=np.uint8)
    recoloured = Image.fromarray(np.ascontiguousarray(pixels[..., ::-1]))
    box = (POSTER_QR[0], POSTER_QR[1], POSTER_QR[0] + POSTER_QR[2], POSTER_QR[1] + POSTER_QR[3])
    recoloured.paste(poster.crop(box), box[:2])
    analysis, verdict = check(analyzer, make_shot(recoloured), poster_png)
    assert verdict.decision is Decision.REJECT and verdict.reasons[0] is Reason.POSTER_MISMATCH, analysis.evidence
    assert analysis.evidence.artwork_agreement is not None and analysis.evidence.artwork_agreement < 0.5


def test_a_poster_the_client_shows_cropped_is_approved(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes
) -> None:
    # A tall picture cut to a square by the client (as a grid tile is): the cells of the poster the
    # crop leaves out show the page and the text above, and are not held against it.
    square = poster.crop((0, poster.height - poster.width, poster.width, poster.height))
    analysis, verdict = check(analyzer, make_shot(square), poster_png)
    evidence = analysis.evidence
    assert verdict == Verdict(Decision.APPROVE, ()), evidence
    assert "shown" in evidence.boxes
    assert evidence.artwork_shown is not None and 0.4 <= evidence.artwork_shown < 0.9
    assert evidence.time_word == "3分钟前"


def test_a_crop_whose_row_is_missed_under_it_is_read_a_cell_higher(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The crop's bottom edge found a little too low (dark poster cells on a dark page pass for shown):
    # the row under it reads as nothing; a cell higher it is read.
    from services.screenshots.adapters.moments_ui import read_below_poster as real

    frames: list[Frame] = []

    def reader(gray: Any, frame: Frame, engine: Any) -> Any:
        frames.append(frame)
        row = real(gray, frame, engine)
        return row if len(frames) > 1 else replace(row, reading=RowReading(None, None, None, ""))

    monkeypatch.setattr("services.screenshots.adapters.analyzer.read_below_poster", reader)
    square = poster.crop((0, poster.height - poster.width, poster.width, poster.height))
    analysis, verdict = check(analyzer, make_shot(square), poster_png)
    assert verdict == Verdict(Decision.APPROVE, ()), analysis.evidence
    assert len(frames) == 2 and frames[1].bottom < frames[0].bottom


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_poster_scrolled_under_the_title_bar_is_approved(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes, dark: bool
) -> None:
    # The feed scrolled up: the title bar covers the top of the poster; what is shown is compared.
    image, placement = make_moments(poster, dark=dark)
    bar_bottom = placement.top + round(0.25 * placement.height)
    ImageDraw.Draw(image).rectangle((0, 0, image.width, bar_bottom), fill=(17, 17, 17) if dark else (237, 237, 237))
    analysis, verdict = check(analyzer, encode(image), poster_png)
    assert verdict == Verdict(Decision.APPROVE, ()), analysis.evidence
    assert analysis.evidence.boxes["shown"][1] == pytest.approx(bar_bottom + 1, abs=2)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_a_copy_pasted_over_a_post_scrolled_under_the_title_bar_is_found(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes, dark: bool
) -> None:
    # Someone pastes a poster over the whole place the picture had, title bar included: the copy's
    # fingerprint is anchored to the poster's frame, so the original's must be too (where the client
    # drew the picture), not to the part the bar leaves shown (issue 18: such a copy was approved).
    image, placement = make_moments(poster, dark=dark)
    bar_bottom = placement.top + round(0.25 * placement.height)
    ImageDraw.Draw(image).rectangle((0, 0, image.width, bar_bottom), fill=(17, 17, 17) if dark else (237, 237, 237))
    original, _ = check(analyzer, encode(image), poster_png)
    assert "shown" in original.evidence.boxes
    image.paste(poster.resize((placement.width, placement.height)), (placement.left, placement.top))
    copy, _ = check(analyzer, encode(image, quality=60), poster_png)
    assert original.fingerprint.context is not None and copy.fingerprint.context is not None
    assert similarity(original.fingerprint.context, copy.fingerprint.context) >= 0.97


def test_moments_post_without_the_poster_is_rejected(analyzer: Analyzer, poster_png: bytes) -> None:
    analysis, verdict = check(analyzer, make_shot(make_photo()), poster_png)
    assert verdict == Verdict(Decision.REJECT, (Reason.NO_POSTER,)), analysis.evidence
    assert analysis.fingerprint.context is None


def test_a_text_only_page_is_rejected(analyzer: Analyzer, poster_png: bytes) -> None:
    analysis, verdict = check(analyzer, make_shot(None), poster_png)
    assert verdict == Verdict(Decision.REJECT, (Reason.NO_POSTER,)), analysis.evidence


def test_a_random_photo_is_rejected(analyzer: Analyzer, poster_png: bytes) -> None:
    analysis, verdict = check(analyzer, encode(make_photo(1080, 810, seed=3), "JPEG", 85), poster_png)
    assert verdict == Verdict(Decision.REJECT, (Reason.NO_POSTER,)), analysis.evidence


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", Reason.IMAGE_UNREADABLE),
        (b"\x00\x01garbage" * 50, Reason.IMAGE_UNREADABLE),
        (b"%PDF-1.7\n%%EOF\n", Reason.IMAGE_UNREADABLE),
    ],
    ids=["empty", "garbage", "pdf"],
)
def test_unreadable_bytes_are_rejected(analyzer: Analyzer, poster_png: bytes, data: bytes, reason: Reason) -> None:
    analysis, verdict = check(analyzer, data, poster_png)
    assert verdict == Verdict(Decision.REJECT, (reason,))
    assert analysis.evidence.image_problem is reason
    assert analysis.fingerprint.context is None
    assert len(analysis.fingerprint.sha256) == 64


def test_a_tiny_image_is_rejected(analyzer: Analyzer, poster_png: bytes) -> None:
    _, verdict = check(analyzer, encode(make_photo(150, 120)), poster_png)
    assert verdict == Verdict(Decision.REJECT, (Reason.IMAGE_TOO_SMALL,))


def test_an_issued_poster_without_the_payload_is_unusable(analyzer: Analyzer, genuine: bytes) -> None:
    with pytest.raises(ReferenceUnusable):
        analyzer.analyze(genuine, encode(make_poster(FOREIGN_PAYLOAD), "PNG"), PAYLOAD)


@pytest.mark.parametrize("poster_bytes", [b"", b"not an image at all"], ids=["empty", "garbage"])
def test_an_undecodable_issued_poster_is_unusable(analyzer: Analyzer, genuine: bytes, poster_bytes: bytes) -> None:
    # Documented: "Raises ReferenceUnusable if the issued poster is broken" (evaluation turns it into review).
    with pytest.raises(ReferenceUnusable):
        analyzer.analyze(genuine, poster_bytes, PAYLOAD)


# --- context descriptor ---------------------------------------------------------------------------------

COPY_AT = DecisionThresholds().reuse_copy_similarity
CLOSE_AT = DecisionThresholds().reuse_close_similarity


def someone_else(**looks: Any) -> Member:
    """Another member: another nickname and text, and ``looks`` (avatar options)."""
    return Member(nickname="豆豆爸爸", body="好物分享给大家", **looks)


def context_of(analyzer: Analyzer, screenshot: bytes, poster_png: bytes) -> bytes:
    context = analyzer.analyze(screenshot, poster_png, PAYLOAD).fingerprint.context
    assert context is not None
    return context


@pytest.fixture(scope="module")
def genuine_context(analyzer: Analyzer, genuine: bytes, poster_png: bytes) -> bytes:
    return context_of(analyzer, genuine, poster_png)


def test_context_descriptor_is_deterministic(
    analyzer: Analyzer, genuine: bytes, poster_png: bytes, genuine_context: bytes
) -> None:
    assert len(genuine_context) > DESCRIPTOR_BYTES  # the edge map, then the lines of text
    assert context_of(analyzer, genuine, poster_png) == genuine_context
    assert similarity(genuine_context, genuine_context) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("fraction", [0.03, 0.04, 0.05])
def test_a_cropped_recompressed_copy_is_a_copy(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes, fraction: float, dark: bool
) -> None:
    original = make_shot(poster, dark=dark)
    copy = crop_and_reencode(original, fraction, 50)
    assert copy != original
    score = similarity(context_of(analyzer, original, poster_png), context_of(analyzer, copy, poster_png))
    assert score >= COPY_AT, score  # measured: 0.988-0.999


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("sale", [False, True], ids=["same-artwork", "other-artwork"])
def test_another_poster_pasted_over_a_copy_is_a_copy(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes, sale: bool, dark: bool
) -> None:
    # Same Moments post, someone else's poster on it: the poster is blanked before describing.
    original = make_shot(poster, dark=dark)
    forged = make_shot(make_poster(FOREIGN_PAYLOAD, sale=sale), dark=dark)
    score = similarity(context_of(analyzer, original, poster_png), context_of(analyzer, forged, poster_png))
    assert score >= COPY_AT, score  # measured: 0.999-1.0


def reuse_between(analyzer: Analyzer, first: bytes, second: bytes, poster_png: bytes) -> ReuseFinding:
    """How the second screenshot, by another member, compares with the first (already approved)."""
    earlier = analyzer.analyze(first, poster_png, PAYLOAD).fingerprint
    later = analyzer.analyze(second, poster_png, PAYLOAD).fingerprint
    thresholds = DecisionThresholds()
    return find_reuse(
        later,
        "o_second",
        [PriorShot("first", "o_first", Decision.APPROVE, earlier)],
        similarity,
        copy_at=thresholds.reuse_copy_similarity,
        close_at=thresholds.reuse_close_similarity,
    )


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize(
    ("first", "second"),
    [
        (Member(avatar_photo=1), someone_else(avatar_photo=2)),
        (Member(initial="雨"), someone_else(avatar=(220, 120, 60), initial="豆")),
        (Member(), someone_else(avatar=(220, 120, 60))),
        # Both keep the default avatar: only the nickname and words differ. The picture alone matches
        # (similarity ~0.997): the text above the poster is what tells them apart.
        (Member(), someone_else()),
        (Member(), Member(nickname="豆豆爸爸")),
    ],
    ids=["photo-avatars", "initials", "flat-avatars", "same-avatar", "same-words"],
)
def test_another_members_honest_screenshot_is_not_a_copy(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes, first: Member, second: Member, dark: bool
) -> None:
    # An honest second member must never be auto-rejected as a re-used screenshot. With the same flat
    # avatar and layout only the text differs; OCR slips on real copies too, so a person looks at those.
    finding = reuse_between(
        analyzer, make_shot(poster, member=first, dark=dark), make_shot(poster, member=second, dark=dark), poster_png
    )
    assert finding.match is not ReuseMatch.COPY, finding
    if first.avatar_photo is not None:
        assert finding.match is ReuseMatch.NONE, finding


def test_a_copy_of_another_members_screenshot_with_ones_own_poster_is_a_copy(
    analyzer: Analyzer, poster: Image.Image, poster_png: bytes
) -> None:
    original = make_shot(poster)
    pasted = crop_and_reencode(make_shot(make_poster(FOREIGN_PAYLOAD)), 0.03, 55)
    assert reuse_between(analyzer, original, pasted, poster_png).match is ReuseMatch.COPY


# --- similarity() on hand-made descriptors ------------------------------------------------------------

_CELLS = 64 * 64


def descriptor(edges: np.ndarray, mask: np.ndarray) -> bytes:
    """A descriptor from a 64 x 64 edge map (uint8) and validity mask (bool)."""
    data = edges.astype(np.uint8).tobytes() + np.packbits(mask.astype(bool)).tobytes()
    assert len(data) == DESCRIPTOR_BYTES
    return data


@pytest.fixture(scope="module")
def edges() -> np.ndarray:
    return np.random.default_rng(5).integers(0, 256, (64, 64)).astype(np.uint8)


def test_descriptor_layout() -> None:
    assert DESCRIPTOR_BYTES == _CELLS + _CELLS // 8


def test_similarity_of_hand_made_descriptors(edges: np.ndarray) -> None:
    everywhere = np.ones((64, 64), dtype=bool)
    same = descriptor(edges, everywhere)
    assert similarity(same, same) == pytest.approx(1.0, abs=1e-4)
    assert similarity(same, descriptor(255 - edges, everywhere)) == pytest.approx(-1.0, abs=1e-4)
    assert similarity(same, descriptor(edges // 2 + 20, everywhere)) == pytest.approx(1.0, abs=0.01)  # scale-free
    noise = np.random.default_rng(6).integers(0, 256, (64, 64)).astype(np.uint8)
    assert abs(similarity(same, descriptor(noise, everywhere))) < 0.1


def test_similarity_only_counts_cells_both_had(edges: np.ndarray) -> None:
    left_half = np.zeros((64, 64), dtype=bool)
    left_half[:, :32] = True
    other = edges.copy()
    other[:, 32:] = 255 - other[:, 32:]  # differs only where the second screenshot had no pixels
    assert similarity(descriptor(edges, np.ones((64, 64), dtype=bool)), descriptor(other, left_half)) == pytest.approx(
        1.0, abs=1e-4
    )


@pytest.mark.parametrize(
    ("left", "right"),
    [(b"", b""), (b"x" * (DESCRIPTOR_BYTES - 1), b"x" * (DESCRIPTOR_BYTES - 1)), (b"x" * 64, b"x" * DESCRIPTOR_BYTES)],
    ids=["empty", "one-short", "old-hex-hash-length"],
)
def test_similarity_of_wrong_lengths_is_zero(left: bytes, right: bytes) -> None:
    assert similarity(left, right) == 0.0
    assert similarity(right, left) == 0.0


def test_similarity_without_overlap_is_zero(edges: np.ndarray) -> None:
    top, bottom = np.zeros((64, 64), dtype=bool), np.zeros((64, 64), dtype=bool)
    top[:32], bottom[32:] = True, True
    assert similarity(descriptor(edges, top), descriptor(edges, bottom)) == 0.0
    nothing = np.zeros((64, 64), dtype=bool)
    assert similarity(descriptor(edges, nothing), descriptor(edges, nothing)) == 0.0


def test_similarity_with_too_little_overlap_is_zero(edges: np.ndarray) -> None:
    few, many = np.zeros((64, 64), dtype=bool), np.zeros((64, 64), dtype=bool)
    few[:3, :64] = True  # 192 shared cells
    many[:4, :64] = True  # 256
    everywhere = descriptor(edges, np.ones((64, 64), dtype=bool))
    assert similarity(everywhere, descriptor(edges, few)) == 0.0
    assert similarity(everywhere, descriptor(edges, many)) == pytest.approx(1.0, abs=1e-4)


def test_a_window_off_the_screenshot_describes_nothing() -> None:
    gray = np.full((400, 300), 255, dtype=np.uint8)
    gray[60:100, 60:100] = 30  # an avatar above and left of the poster
    outside = context_descriptor(gray, Frame(left=2000, top=2000, width=100, height=150))
    inside = context_descriptor(gray, Frame(left=100, top=120, width=100, height=150))
    assert len(outside) == len(inside) == DESCRIPTOR_BYTES
    assert similarity(outside, inside) == 0.0
    assert similarity(inside, inside) == pytest.approx(1.0, abs=1e-4)


def test_the_moments_ui_is_not_read_on_other_artwork(analyzer: Analyzer, poster_png: bytes) -> None:
    # The rejection is certain (poster_mismatch): no OCR is spent on the time row.
    analysis, _ = check(analyzer, make_shot(make_poster(PAYLOAD, sale=True)), poster_png)
    assert not analysis.evidence.moments_checked
    assert analysis.evidence.time_word is None


# --- the lines of text around the poster, as the re-use check measures them -------------------------------


def page_with_lines(*, avatar_right: int, text_ink: int, tail_gap: bool = False, button: bool = False) -> np.ndarray:
    """A white page: a poster at x 100-400, a nickname line above it (blocks of ``text_ink``), an
    avatar left of the column ending at ``avatar_right``, and a line under the poster."""
    gray = np.full((900, 640), 255, dtype=np.uint8)
    gray[300:700, 100:400] = 120  # the poster (blanked by the window's bands)
    gray[170:290, 20:avatar_right] = 215  # the avatar: a fill only 40 levels off the page
    for x in (104, 128, 152, 176):  # the nickname's glyphs
        gray[240:262, x : x + 20] = text_ink
    gray[262:266, 176:180] = 255 - (text_ink // 2 if tail_gap else 0)  # a faint descender
    for x in (104, 130, 156, 200, 226):  # the time row
        gray[730:752, x : x + 22] = 150
    if button:  # the comment button at the screen's right, which a crop may cut off
        gray[728:754, 540:570] = 200
    return gray


def test_the_comment_button_far_right_is_not_part_of_the_time_row() -> None:
    frame = Frame(left=100, top=300, width=300, height=400)
    with_button = text_lines(page_with_lines(avatar_right=80, text_ink=60, button=True), frame)
    cropped_off = text_lines(page_with_lines(avatar_right=80, text_ink=60), frame)
    assert [aspect for aspect, _ in with_button] == [aspect for aspect, _ in cropped_off]


def test_an_avatar_edge_in_the_window_does_not_change_the_lines() -> None:
    frame = Frame(left=100, top=300, width=300, height=400)
    clear_of_it = text_lines(page_with_lines(avatar_right=80, text_ink=60), frame)
    at_the_edge = text_lines(page_with_lines(avatar_right=98, text_ink=60), frame)
    assert len(clear_of_it) == len(at_the_edge) == 2
    for (aspect, picture), (aspect2, picture2) in zip(clear_of_it, at_the_edge, strict=True):
        assert aspect == aspect2
        assert np.array_equal(picture, picture2)


def test_faint_grey_text_is_a_line_and_its_box_follows_the_ink() -> None:
    frame = Frame(left=100, top=300, width=300, height=400)
    faint = text_lines(page_with_lines(avatar_right=80, text_ink=190), frame)
    dark = text_lines(page_with_lines(avatar_right=80, text_ink=60), frame)
    assert len(faint) == len(dark) == 2
    assert [round(aspect, 2) for aspect, _ in faint] == [round(aspect, 2) for aspect, _ in dark]
