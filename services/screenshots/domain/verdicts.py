"""Deciding what a Moments share screenshot proves. Pure: the image analysis measures, this decides.

Each check contributes a :class:`Reason` when it fails or is unsure; :func:`decide` turns the
evidence into approve / reject / review. Approval needs every positive signal (the member's own QR
code, the poster's artwork around it, the Moments time row with 删除 under it) and no negative one,
because an approval pays out: precision matters more than recall, and anything unclear goes to a
person rather than being guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "Decision",
    "DecisionThresholds",
    "Evidence",
    "QrMatch",
    "Reason",
    "ReuseMatch",
    "Verdict",
    "decide",
]


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REVIEW = "review"


class Reason(StrEnum):
    """Machine-readable reasons. :attr:`text` is what the member reads (rejections) or a reviewer sees."""

    IMAGE_UNREADABLE = "image_unreadable"
    IMAGE_TOO_LARGE = "image_too_large"
    IMAGE_TOO_SMALL = "image_too_small"
    NO_POSTER = "no_poster"
    FOREIGN_QR = "foreign_qr"
    QR_UNREADABLE = "qr_unreadable"
    POSTER_MISMATCH = "poster_mismatch"
    POSTER_UNCERTAIN = "poster_uncertain"
    BARE_POSTER = "bare_poster"
    FULLSCREEN_VIEW = "fullscreen_view"
    NOT_MOMENTS = "not_moments"
    MOMENTS_UNCERTAIN = "moments_uncertain"
    NOT_OWN_POST = "not_own_post"
    PRIVATE_POST = "private_post"
    REUSED_SCREENSHOT = "reused_screenshot"
    POSSIBLY_REUSED = "possibly_reused"
    REFERENCE_UNUSABLE = "reference_unusable"
    ANALYSIS_TIMEOUT = "analysis_timeout"

    @property
    def text(self) -> str:
        return _REASON_TEXTS[self]


_REASON_TEXTS: dict[Reason, str] = {
    Reason.IMAGE_UNREADABLE: "图片无法识别，请发送朋友圈截图（JPG 或 PNG）",
    Reason.IMAGE_TOO_LARGE: "图片过大，请直接发送手机截图",
    Reason.IMAGE_TOO_SMALL: "图片太小，请发送完整的手机截图",
    Reason.NO_POSTER: "截图中没有找到您的专属海报",
    Reason.FOREIGN_QR: "截图中的海报不是您的专属海报，请分享您收到的海报",
    Reason.QR_UNREADABLE: "海报二维码无法识别，已转人工审核",
    Reason.POSTER_MISMATCH: "截图中的海报与本活动海报不符",
    Reason.POSTER_UNCERTAIN: "海报识别不确定，已转人工审核",
    Reason.BARE_POSTER: "请发送朋友圈截图，而不是海报图片本身",
    Reason.FULLSCREEN_VIEW: "请发送朋友圈动态的截图，而不是全屏查看的图片",
    Reason.NOT_MOMENTS: "截图不是朋友圈动态，请分享到朋友圈后截图（需包含发布时间）",
    Reason.MOMENTS_UNCERTAIN: "无法确认是朋友圈动态，已转人工审核",
    Reason.NOT_OWN_POST: "截图不是您本人发布的朋友圈，已转人工审核",
    Reason.PRIVATE_POST: "这条朋友圈设置了私密或部分可见，请公开分享后重新截图",
    Reason.REUSED_SCREENSHOT: "这张截图已被使用过，请发送您本人的新截图",
    Reason.POSSIBLY_REUSED: "截图与已提交的截图相似，已转人工审核",
    Reason.REFERENCE_UNUSABLE: "暂时无法核对您的海报，已转人工审核",
    Reason.ANALYSIS_TIMEOUT: "截图识别超时，已转人工审核",
}


class QrMatch(StrEnum):
    OWN = "own"  # the member's own code was decoded
    FOREIGN = "foreign"  # codes were decoded, none of them the member's
    NONE = "none"  # no code could be decoded


class ReuseMatch(StrEnum):
    NONE = "none"
    CLOSE = "close"  # similar context: a person should look
    COPY = "copy"  # byte-identical or near-identical context: a copy


@dataclass(frozen=True)
class DecisionThresholds:
    """Cut-offs for the measured scores, calibrated on the evaluation set (see docs/screenshots.md)."""

    #: Normalized correlation of the poster artwork around the decoded QR with the issued poster.
    artwork_match: float = 0.55
    artwork_mismatch: float = 0.25
    #: Share of the poster's artwork cells (QR left out) that agree with the issued poster, pattern
    #: and colour, at or above which it is the poster, and below which it is other artwork (measured
    #: on the synthetic corpus: genuine >= 0.96, the member's code on other artwork <= 0.04).
    artwork_cells_match: float = 0.8
    artwork_cells_mismatch: float = 0.5
    #: Below this share of the poster's artwork on screen, what agrees is too little to approve on.
    artwork_min_shown: float = 0.4
    #: Poster width over screenshot width above which it is the poster itself or a full-screen view:
    #: Moments shows a single picture at most about two thirds of the screen wide.
    max_thumbnail_share: float = 0.8
    #: Context similarity at or above which two screenshots are copies, and at or above which they
    #: are close enough for a person to compare (measured: copies >= 0.97, other members <= 0.92).
    reuse_copy_similarity: float = 0.955
    reuse_close_similarity: float = 0.93


@dataclass(frozen=True)
class Evidence:
    """What the analysis of one screenshot measured. ``None`` means the check did not get that far."""

    image_problem: Reason | None = None
    qr: QrMatch = QrMatch.NONE
    #: Every QR payload found (for reviewers), the member's own first when present.
    qr_payloads: tuple[str, ...] = ()
    #: Normalized correlation of the artwork around the QR with the issued poster.
    artwork_score: float | None = None
    #: Share of the poster's artwork cells that agree with the issued poster, one by one (None: not
    #: measured). A code pasted onto other artwork keeps the code and loses the cells around it.
    artwork_agreement: float | None = None
    #: Share of the poster's artwork the screenshot shows (off screen or cropped by the client).
    artwork_shown: float | None = None
    #: Poster located without a decodable QR (feature matching): a poster, but whose?
    poster_located_without_qr: bool = False
    #: Poster width / screenshot width.
    poster_share: float | None = None
    #: The screen around the poster is a dark, empty viewer.
    fullscreen_surroundings: bool = False
    #: The Moments UI around the poster was read (skipped when the outcome was already a rejection).
    moments_checked: bool = False
    time_word: str | None = None
    delete_word: bool = False
    lock_marker: bool = False
    title: str | None = None
    #: The screenshot ends (or the page is covered) right under the poster, where the time row would be:
    #: its absence then proves nothing.
    time_row_cut: bool = False
    reuse: ReuseMatch = ReuseMatch.NONE
    reuse_similarity: float | None = None
    #: The earlier submission this one resembles.
    reused_from: str | None = None
    #: Where things were found, for reviewers: name -> (x, y, width, height) in screenshot pixels.
    boxes: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    ocr_text: str = ""
    #: The text above the poster (nickname, the member's words), as read for the re-use check.
    context_text: str = ""


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reasons: tuple[Reason, ...]

    @property
    def reason_codes(self) -> list[str]:
        return [reason.value for reason in self.reasons]


def decide(evidence: Evidence, thresholds: DecisionThresholds | None = None) -> Verdict:
    """Approve only on complete positive evidence; reject on proof of a problem; otherwise review.

    Reasons are listed most important first; a rejection's first reason is the one the member reads.
    """
    limits = thresholds or DecisionThresholds()
    if evidence.image_problem is not None:
        return Verdict(Decision.REJECT, (evidence.image_problem,))

    rejections: list[Reason] = []
    doubts: list[Reason] = []

    match evidence.qr:
        case QrMatch.FOREIGN:
            rejections.append(Reason.FOREIGN_QR)
        case QrMatch.NONE if evidence.poster_located_without_qr:
            doubts.append(Reason.QR_UNREADABLE)
        case QrMatch.NONE:
            return Verdict(Decision.REJECT, (Reason.NO_POSTER,))
        case QrMatch.OWN:
            score = evidence.artwork_score
            # Cells not measured (None) leave the decision to the whole-frame score.
            cells = 1.0 if evidence.artwork_agreement is None else evidence.artwork_agreement
            if score is None or score < limits.artwork_mismatch or cells < limits.artwork_cells_mismatch:
                rejections.append(Reason.POSTER_MISMATCH)
            else:
                shown = 1.0 if evidence.artwork_shown is None else evidence.artwork_shown
                if (
                    score < limits.artwork_match
                    or cells < limits.artwork_cells_match
                    or shown < limits.artwork_min_shown
                ):
                    doubts.append(Reason.POSTER_UNCERTAIN)

    share = evidence.poster_share
    if share is not None and share > limits.max_thumbnail_share:
        rejections.append(Reason.FULLSCREEN_VIEW if evidence.fullscreen_surroundings else Reason.BARE_POSTER)
    elif not evidence.moments_checked:
        if not rejections:  # nothing else decides it: without the Moments UI read, a person must look
            doubts.append(Reason.MOMENTS_UNCERTAIN)
    else:
        if evidence.lock_marker:
            rejections.append(Reason.PRIVATE_POST)
        if evidence.time_word is None and not evidence.delete_word:
            if evidence.title in ("朋友圈", "详情") or evidence.time_row_cut:
                doubts.append(Reason.MOMENTS_UNCERTAIN)
            else:
                rejections.append(Reason.NOT_MOMENTS)
        elif evidence.time_word is None:
            doubts.append(Reason.MOMENTS_UNCERTAIN)
        elif not evidence.delete_word:
            doubts.append(Reason.NOT_OWN_POST)

    if evidence.reuse is ReuseMatch.COPY:
        rejections.append(Reason.REUSED_SCREENSHOT)
    elif evidence.reuse is ReuseMatch.CLOSE:
        doubts.append(Reason.POSSIBLY_REUSED)

    if rejections:
        return Verdict(Decision.REJECT, (*rejections, *doubts))
    if doubts:
        return Verdict(Decision.REVIEW, tuple(doubts))
    return Verdict(Decision.APPROVE, ())
