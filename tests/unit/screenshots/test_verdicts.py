"""decide(): every reason path, the order reasons are listed in, and the threshold edges."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from services.screenshots.domain.verdicts import (
    Decision,
    DecisionThresholds,
    Evidence,
    QrMatch,
    Reason,
    ReuseMatch,
    Verdict,
    decide,
)

#: Everything an approval needs: the member's QR, matching artwork, a thumbnail, the time row with 删除.
GENUINE = Evidence(
    qr=QrMatch.OWN,
    qr_payloads=("http://weixin.qq.com/q/own",),
    artwork_score=0.97,
    poster_share=0.45,
    moments_checked=True,
    time_word="3分钟前",
    delete_word=True,
)


def verdict(**changes: Any) -> Verdict:
    return decide(replace(GENUINE, **changes))


def test_complete_positive_evidence_is_approved() -> None:
    result = decide(GENUINE)
    assert result == Verdict(Decision.APPROVE, ())
    assert result.reason_codes == []


@pytest.mark.parametrize("problem", [Reason.IMAGE_UNREADABLE, Reason.IMAGE_TOO_LARGE, Reason.IMAGE_TOO_SMALL], ids=str)
def test_an_image_problem_is_the_only_reason(problem: Reason) -> None:
    # Whatever else the evidence says (here: all of it negative), the image problem is all the member reads.
    evidence = Evidence(image_problem=problem, qr=QrMatch.FOREIGN, lock_marker=True, reuse=ReuseMatch.COPY)
    assert decide(evidence) == Verdict(Decision.REJECT, (problem,))


def test_no_qr_and_no_poster_is_rejected_as_no_poster_alone() -> None:
    result = verdict(qr=QrMatch.NONE, artwork_score=None, lock_marker=True, reuse=ReuseMatch.COPY)
    assert result == Verdict(Decision.REJECT, (Reason.NO_POSTER,))


def test_a_poster_located_without_a_readable_qr_goes_to_review() -> None:
    result = verdict(qr=QrMatch.NONE, artwork_score=None, poster_located_without_qr=True)
    assert result == Verdict(Decision.REVIEW, (Reason.QR_UNREADABLE,))


def test_someone_elses_qr_is_rejected() -> None:
    result = verdict(qr=QrMatch.FOREIGN, artwork_score=None)
    assert result == Verdict(Decision.REJECT, (Reason.FOREIGN_QR,))


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (None, Verdict(Decision.REJECT, (Reason.POSTER_MISMATCH,))),
        (-1.0, Verdict(Decision.REJECT, (Reason.POSTER_MISMATCH,))),
        (0.2499, Verdict(Decision.REJECT, (Reason.POSTER_MISMATCH,))),
        (0.25, Verdict(Decision.REVIEW, (Reason.POSTER_UNCERTAIN,))),
        (0.5499, Verdict(Decision.REVIEW, (Reason.POSTER_UNCERTAIN,))),
        (0.55, Verdict(Decision.APPROVE, ())),
        (1.0, Verdict(Decision.APPROVE, ())),
    ],
)
def test_artwork_score_thresholds(score: float | None, expected: Verdict) -> None:
    assert verdict(artwork_score=score) == expected


def test_artwork_thresholds_can_be_configured() -> None:
    strict = DecisionThresholds(artwork_match=0.99, artwork_mismatch=0.9)
    assert decide(GENUINE, strict) == Verdict(Decision.REVIEW, (Reason.POSTER_UNCERTAIN,))
    assert decide(replace(GENUINE, artwork_score=0.5), strict) == Verdict(Decision.REJECT, (Reason.POSTER_MISMATCH,))


@pytest.mark.parametrize(
    ("share", "dark", "expected"),
    [
        (0.8, False, Verdict(Decision.APPROVE, ())),  # at the limit: still a thumbnail
        (0.8001, False, Verdict(Decision.REJECT, (Reason.BARE_POSTER,))),
        (1.0, False, Verdict(Decision.REJECT, (Reason.BARE_POSTER,))),
        (1.0, True, Verdict(Decision.REJECT, (Reason.FULLSCREEN_VIEW,))),
        (None, True, Verdict(Decision.APPROVE, ())),  # share unknown: dark surroundings alone prove nothing
    ],
)
def test_poster_share_threshold(share: float | None, dark: bool, expected: Verdict) -> None:
    assert verdict(poster_share=share, fullscreen_surroundings=dark) == expected


def test_share_threshold_can_be_configured() -> None:
    assert decide(GENUINE, DecisionThresholds(max_thumbnail_share=0.4)).reasons == (Reason.BARE_POSTER,)


def test_a_bare_poster_skips_the_moments_checks() -> None:
    # No time row and a lock-like mark mean nothing on the poster itself: only BARE_POSTER is reported.
    result = verdict(poster_share=0.95, time_word=None, delete_word=False, lock_marker=True)
    assert result == Verdict(Decision.REJECT, (Reason.BARE_POSTER,))


def test_unread_moments_ui_adds_no_reasons_to_a_rejection() -> None:
    # The analyzer skips the OCR once the outcome is a rejection (someone else's QR): no NOT_MOMENTS then.
    result = verdict(qr=QrMatch.FOREIGN, moments_checked=False, time_word=None, delete_word=False)
    assert result == Verdict(Decision.REJECT, (Reason.FOREIGN_QR,))


def test_unread_moments_ui_is_never_approved() -> None:
    # Approval needs the time row with 删除; evidence that never looked for it cannot prove it.
    result = verdict(moments_checked=False, time_word=None, delete_word=False)
    assert result.decision is not Decision.APPROVE


def test_a_lock_marker_is_a_private_post() -> None:
    assert verdict(lock_marker=True) == Verdict(Decision.REJECT, (Reason.PRIVATE_POST,))


@pytest.mark.parametrize("title", [None, "", "相册", "聊天"])
def test_no_time_row_and_no_moments_title_is_not_moments(title: str | None) -> None:
    result = verdict(time_word=None, delete_word=False, title=title)
    assert result == Verdict(Decision.REJECT, (Reason.NOT_MOMENTS,))


@pytest.mark.parametrize("title", ["朋友圈", "详情"])
def test_no_time_row_under_a_moments_title_goes_to_review(title: str) -> None:
    result = verdict(time_word=None, delete_word=False, title=title)
    assert result == Verdict(Decision.REVIEW, (Reason.MOMENTS_UNCERTAIN,))


def test_delete_without_a_time_word_goes_to_review() -> None:
    assert verdict(time_word=None, delete_word=True) == Verdict(Decision.REVIEW, (Reason.MOMENTS_UNCERTAIN,))


def test_a_time_word_without_delete_is_someone_elses_post() -> None:
    assert verdict(delete_word=False) == Verdict(Decision.REVIEW, (Reason.NOT_OWN_POST,))


def test_a_copy_is_rejected_and_a_close_match_reviewed() -> None:
    assert verdict(reuse=ReuseMatch.COPY) == Verdict(Decision.REJECT, (Reason.REUSED_SCREENSHOT,))
    assert verdict(reuse=ReuseMatch.CLOSE) == Verdict(Decision.REVIEW, (Reason.POSSIBLY_REUSED,))
    assert verdict(reuse=ReuseMatch.NONE) == Verdict(Decision.APPROVE, ())


def test_rejections_come_first_in_check_order_then_doubts() -> None:
    result = verdict(
        artwork_score=0.1,
        lock_marker=True,
        delete_word=False,
        reuse=ReuseMatch.COPY,
    )
    assert result.decision is Decision.REJECT
    assert result.reasons == (
        Reason.POSTER_MISMATCH,
        Reason.PRIVATE_POST,
        Reason.REUSED_SCREENSHOT,
        Reason.NOT_OWN_POST,
    )
    assert result.reason_codes == ["poster_mismatch", "private_post", "reused_screenshot", "not_own_post"]


def test_a_single_rejection_outranks_every_doubt() -> None:
    result = verdict(artwork_score=0.3, delete_word=False, reuse=ReuseMatch.COPY)
    assert result == Verdict(Decision.REJECT, (Reason.REUSED_SCREENSHOT, Reason.POSTER_UNCERTAIN, Reason.NOT_OWN_POST))


def test_doubts_are_listed_in_check_order() -> None:
    result = verdict(
        qr=QrMatch.NONE,
        poster_located_without_qr=True,
        time_word=None,
        delete_word=True,
        reuse=ReuseMatch.CLOSE,
    )
    assert result == Verdict(Decision.REVIEW, (Reason.QR_UNREADABLE, Reason.MOMENTS_UNCERTAIN, Reason.POSSIBLY_REUSED))


def test_mismatch_and_bare_poster_together() -> None:
    result = verdict(artwork_score=0.1, poster_share=1.0)
    assert result.reasons == (Reason.POSTER_MISMATCH, Reason.BARE_POSTER)


@pytest.mark.parametrize("reason", list(Reason), ids=str)
def test_every_reason_has_a_chinese_text(reason: Reason) -> None:
    assert reason.text.strip()
    assert any("\u4e00" <= char <= "\u9fff" for char in reason.text)


def test_reason_texts_are_distinct() -> None:
    texts = [reason.text for reason in Reason]
    assert len(set(texts)) == len(texts)


def test_default_thresholds() -> None:
    limits = DecisionThresholds()
    assert limits.artwork_mismatch < limits.artwork_match
    assert 0 < limits.reuse_close_similarity < limits.reuse_copy_similarity < 1
    assert decide(GENUINE, None) == decide(GENUINE, limits)


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (None, Verdict(Decision.APPROVE, ())),  # not measured: the whole-frame score decides
        (0.0, Verdict(Decision.REJECT, (Reason.POSTER_MISMATCH,))),
        (0.4999, Verdict(Decision.REJECT, (Reason.POSTER_MISMATCH,))),
        (0.5, Verdict(Decision.REVIEW, (Reason.POSTER_UNCERTAIN,))),
        (0.7999, Verdict(Decision.REVIEW, (Reason.POSTER_UNCERTAIN,))),
        (0.8, Verdict(Decision.APPROVE, ())),
        (1.0, Verdict(Decision.APPROVE, ())),
    ],
)
def test_artwork_cell_agreement_thresholds(cells: float | None, expected: Verdict) -> None:
    # The whole-frame score says "poster" (0.97): the cells alone tell other artwork apart.
    assert verdict(artwork_agreement=cells) == expected


def test_artwork_cell_thresholds_can_be_configured() -> None:
    loose = DecisionThresholds(artwork_cells_match=0.3, artwork_cells_mismatch=0.1)
    assert decide(replace(GENUINE, artwork_agreement=0.35), loose) == Verdict(Decision.APPROVE, ())
    assert decide(replace(GENUINE, artwork_agreement=0.05), loose).reasons == (Reason.POSTER_MISMATCH,)


def test_no_time_row_where_the_screenshot_ends_goes_to_review() -> None:
    # The screenshot stops right under the poster: the row is not missing, it is out of the picture.
    result = verdict(time_word=None, delete_word=False, title=None, time_row_cut=True)
    assert result == Verdict(Decision.REVIEW, (Reason.MOMENTS_UNCERTAIN,))


@pytest.mark.parametrize(
    ("shown", "expected"),
    [
        (None, Verdict(Decision.APPROVE, ())),
        (0.3999, Verdict(Decision.REVIEW, (Reason.POSTER_UNCERTAIN,))),
        (0.4, Verdict(Decision.APPROVE, ())),
        (1.0, Verdict(Decision.APPROVE, ())),
    ],
)
def test_too_little_of_the_poster_on_screen_goes_to_review(shown: float | None, expected: Verdict) -> None:
    assert verdict(artwork_agreement=0.97, artwork_shown=shown) == expected
