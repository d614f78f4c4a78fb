"""Telling a re-used screenshot from an honest one. Pure: fingerprints in, a match out.

Two fingerprints per screenshot: the SHA-256 of its bytes (a file sent again) and a 256-bit perceptual
hash of the *context* around the poster with the poster blanked out (avatar, nickname, text, time row).
A whole-image hash cannot separate a copy from another member's honest screenshot of the same poster on
the same phone (they differ only in a small part of the screen); the context is what is personal.

Which earlier screenshots count: anyone else's, and the member's own earlier *approved* one. The
member's own rejected attempts do not count, because trying again after a rejection (say, after making
a private post public) legitimately produces a very similar picture.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.screenshots.domain.verdicts import Decision, ReuseMatch

__all__ = ["Fingerprint", "PriorShot", "ReuseFinding", "find_reuse", "hamming"]


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    #: 256-bit context hash as 64 hex digits; None when no poster was located to anchor it.
    context: str | None


@dataclass(frozen=True)
class PriorShot:
    """An earlier submission in the same campaign."""

    submission_id: str
    user: str
    decision: Decision
    fingerprint: Fingerprint


@dataclass(frozen=True)
class ReuseFinding:
    match: ReuseMatch
    distance: int | None = None
    submission_id: str | None = None


def hamming(left: str, right: str) -> int:
    return (int(left, 16) ^ int(right, 16)).bit_count()


def _counts(prior: PriorShot, user: str) -> bool:
    return prior.user != user or prior.decision is Decision.APPROVE


def find_reuse(
    fingerprint: Fingerprint,
    user: str,
    earlier: Iterable[PriorShot],
    *,
    copy_distance: int,
    close_distance: int,
) -> ReuseFinding:
    """The closest earlier screenshot that counts, classified as a copy, close, or unrelated."""
    nearest: tuple[int, str] | None = None
    for prior in earlier:
        if not _counts(prior, user):
            continue
        if prior.fingerprint.sha256 == fingerprint.sha256:
            return ReuseFinding(ReuseMatch.COPY, 0, prior.submission_id)
        if fingerprint.context is None or prior.fingerprint.context is None:
            continue
        distance = hamming(fingerprint.context, prior.fingerprint.context)
        if nearest is None or distance < nearest[0]:
            nearest = (distance, prior.submission_id)
    if nearest is None:
        return ReuseFinding(ReuseMatch.NONE)
    distance, submission_id = nearest
    if distance <= copy_distance:
        return ReuseFinding(ReuseMatch.COPY, distance, submission_id)
    if distance < close_distance:
        return ReuseFinding(ReuseMatch.CLOSE, distance, submission_id)
    return ReuseFinding(ReuseMatch.NONE, distance)
