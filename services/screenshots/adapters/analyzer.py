"""One screenshot, measured: every check in order, stopping as soon as the outcome cannot change.

CPU-bound (decoding, zxing, OpenCV, tesseract), so it runs in worker processes (:mod:`.pool`), never
on an event loop. The result is an :class:`~services.screenshots.domain.analysis.Analysis`: evidence
plus fingerprints; comparing them with earlier submissions and deciding happen in the service layer.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from services.screenshots.adapters.context_hash import fingerprint
from services.screenshots.adapters.images import ImageLimits, ImageRejected, decode_picture
from services.screenshots.adapters.moments_ui import read_above_poster, read_below_poster, read_title_bar
from services.screenshots.adapters.ocr import OcrEngine
from services.screenshots.adapters.poster_frame import (
    Frame,
    PosterReference,
    artwork_cells,
    artwork_score,
    frame_from_qr,
    locate_by_features,
    poster_reference,
)
from services.screenshots.adapters.qr_codes import find_qr_codes
from services.screenshots.domain.analysis import Analysis, ReferenceUnusable
from services.screenshots.domain.verdicts import DecisionThresholds, Evidence, QrMatch

__all__ = ["Analyzer"]

#: The surroundings of a full-screen image view are near black and flat.
_VIEWER_DARKNESS = 40
#: Screen widths under the poster a time row needs to be seen.
_ROW_ROOM = 0.07


class Analyzer:
    """Measures screenshots against the poster each member was issued. One per worker process."""

    def __init__(
        self,
        engine: OcrEngine,
        limits: ImageLimits | None = None,
        reference_cache: int = 512,
        thresholds: DecisionThresholds | None = None,
    ) -> None:
        self._engine = engine
        self._limits = limits or ImageLimits()
        self._thresholds = thresholds or DecisionThresholds()
        self._reference = functools.lru_cache(maxsize=reference_cache)(self._load_reference)

    def _load_reference(self, poster: bytes, payload: str) -> PosterReference:
        try:
            gray, colour = decode_picture(poster, ImageLimits())
        except ImageRejected as rejected:
            raise ReferenceUnusable(f"the issued poster cannot be decoded: {rejected.detail}") from None
        return poster_reference(gray, payload, colour)

    def analyze(self, screenshot: bytes, poster: bytes, payload: str) -> Analysis:
        """Evidence for one screenshot. Raises ReferenceUnusable if the issued poster is broken."""
        try:
            gray, colour = decode_picture(screenshot, self._limits)
        except ImageRejected as rejected:
            return Analysis(
                Evidence(image_problem=rejected.reason), fingerprint(screenshot, np.zeros((1, 1), dtype=np.uint8), None)
            )
        reference = self._reference(poster, payload)
        evidence, frame, placed = self._locate(gray, colour, reference)
        text = ""
        if frame is not None:
            evidence = self._read_moments(gray, frame, evidence)
            if evidence.moments_checked:  # a decision that may still approve: read what makes it personal
                text = read_above_poster(gray, frame, self._engine)
                evidence = replace(evidence, context_text=text)
        return Analysis(evidence, fingerprint(screenshot, gray, placed, text))

    def _locate(
        self, gray: NDArray[np.uint8], colour: NDArray[np.uint8], reference: PosterReference
    ) -> tuple[Evidence, Frame | None, Frame | None]:
        """Evidence of the poster, the part of it shown (what the Moments UI is read around), and where
        it is placed on the page (what the re-use fingerprint is anchored to)."""
        codes = find_qr_codes(gray)
        own = next((code for code in codes if code.text == reference.payload), None)
        payloads = tuple(code.text for code in ([own] if own else []) + [c for c in codes if c is not own])
        if own is not None:
            frame = frame_from_qr(reference, own)
            cells = artwork_cells(gray, frame, reference, colour)
            boxes = {"qr": own.bounds, "poster": frame.box()}
            shown = placed = frame
            if cells is not None and cells.visible is not None:  # the client shows a crop of the poster
                shown = cells.visible
                placed = cells.placed or shown
                boxes["shown"] = shown.box()
            evidence = Evidence(
                qr=QrMatch.OWN,
                qr_payloads=payloads,
                artwork_score=round(artwork_score(gray, shown, reference, frame), 3),
                artwork_agreement=None if cells is None else cells.agreement,
                artwork_shown=None if cells is None else cells.shown,
                boxes=boxes,
            )
            # What is under the picture is under what the client shows of it.
            return self._placement(gray, frame, evidence), shown, placed
        if codes:
            # Someone else's code: the frame it implies still anchors the re-use hash.
            frame = frame_from_qr(reference, codes[0])
            return Evidence(qr=QrMatch.FOREIGN, qr_payloads=payloads, boxes={"qr": codes[0].bounds}), frame, frame
        found = locate_by_features(gray, reference)
        if found is None:
            return Evidence(qr=QrMatch.NONE), None, None
        evidence = Evidence(qr=QrMatch.NONE, poster_located_without_qr=True, boxes={"poster": found.box()})
        return self._placement(gray, found, evidence), found, found

    def _placement(self, gray: NDArray[np.uint8], frame: Frame, evidence: Evidence) -> Evidence:
        width = gray.shape[1]
        share = frame.width / width
        outside = np.ones_like(gray, dtype=bool)
        left, top, w, h = frame.box()
        outside[max(0, top) : max(0, top + h), max(0, left) : max(0, left + w)] = False
        surroundings = gray[::3, ::3][outside[::3, ::3]]  # a ninth of the pixels tells the percentile as well
        dark = surroundings.size > 0 and float(np.percentile(surroundings, 90)) < _VIEWER_DARKNESS
        return replace(evidence, poster_share=round(share, 3), fullscreen_surroundings=dark)

    def _other_artwork(self, evidence: Evidence) -> bool:
        """The member's code on other artwork: rejected as ``poster_mismatch`` whatever the UI says."""
        limits = self._thresholds
        if evidence.qr is not QrMatch.OWN or evidence.artwork_score is None:
            return False
        cells = evidence.artwork_agreement
        return evidence.artwork_score < limits.artwork_mismatch or (
            cells is not None and cells < limits.artwork_cells_mismatch
        )

    def _read_moments(self, gray: NDArray[np.uint8], frame: Frame, evidence: Evidence) -> Evidence:
        if (
            evidence.qr is QrMatch.FOREIGN
            or (evidence.poster_share or 0) > self._thresholds.max_thumbnail_share
            or self._other_artwork(evidence)
        ):
            return evidence  # the outcome is already a rejection; skip the OCR
        row = read_below_poster(gray, frame, self._engine)
        if row.reading.time_word is None and row.reading.delete_box is None and "shown" in evidence.boxes:
            # The bottom of a client's crop is found to a cell of the poster (1/12 of its width): on a
            # dark page, cells of a dark poster under the crop can pass for shown, and the row's top
            # then falls above where it is looked for. Look a cell higher once.
            raised = Frame(frame.left, frame.top, frame.width, max(1.0, frame.height - frame.width / 12))
            again = read_below_poster(gray, raised, self._engine)
            if again.reading.time_word is not None or again.reading.delete_box is not None:
                row = again
        boxes = dict(evidence.boxes, time_row=row.strip)
        if row.reading.time_box:
            boxes["time"] = row.reading.time_box
        if row.reading.delete_box:
            boxes["delete"] = row.reading.delete_box
        title = None
        if row.reading.time_word is None and row.reading.delete_box is None:
            title = read_title_bar(gray, self._engine)
        return replace(
            evidence,
            time_word=row.reading.time_word,
            delete_word=row.reading.delete_box is not None,
            lock_marker=row.lock_marker,
            moments_checked=True,
            title=title,
            time_row_cut=_row_cut(gray, frame),
            boxes=boxes,
            ocr_text=row.reading.text,
        )


def _row_cut(gray: NDArray[np.uint8], frame: Frame) -> bool:
    """Too little of the screen is left under the poster for a time row: the screenshot ends there."""
    height, width = gray.shape
    return bool(height - frame.bottom < _ROW_ROOM * width)
