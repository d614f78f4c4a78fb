"""Telling a re-used screenshot from an honest one. Pure: fingerprints in, a match out.

Two fingerprints per screenshot: the SHA-256 of its bytes (a file sent again) and a descriptor of the
*context* around the poster with the poster blanked out (avatar, nickname, text, time row). A
whole-image hash cannot separate a copy from another member's honest screenshot of the same poster on
the same phone (they differ only in a small part of the screen); the context is what is personal.
How similar two contexts are is measured elsewhere (:mod:`.similarity`) and passed in.

The picture alone over-matches: two members with default avatars and the campaign's suggested words
have near-identical surroundings at any resolution that survives a crop and a re-encode. So the text
above the poster (the nickname, the member's words) is read too: a picture-level copy is a copy only if
that text agrees; with other words it goes to a person (OCR slips on real copies too, so the text alone
never clears a near-identical picture); a merely similar picture with other words is someone else's.

Which earlier screenshots count: anyone else's that showed their own QR code, and the member's own
earlier *approved* one. The member's own rejected attempts do not count, because trying again after a
rejection (say, after making a private post public) legitimately produces a very similar picture. Nor
does someone else's submission that showed a code not theirs: a cheater who sent this member's
screenshot first must not make the member's own submission look like the copy.

Which earlier screenshots are compared at all is decided by an index, not by reading every one: each
fingerprint has :func:`lookup_keys` (the file's hash, and the bands of its descriptor's signature,
see :func:`.similarity.buckets`); the store returns those earlier submissions that share a key, the
ones sharing most first (:func:`nearest_first`), at most :data:`CANDIDATES` of them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from services.screenshots.domain.similarity import buckets, line_buckets
from services.screenshots.domain.verdicts import Decision, ReuseMatch

__all__ = [
    "CANDIDATES",
    "HOT_KEY",
    "Fingerprint",
    "LineAgreement",
    "LineScores",
    "PriorShot",
    "ReuseFinding",
    "ReuseIndex",
    "Similarity",
    "find_reuse",
    "lookup_keys",
    "nearest_first",
    "pending_twin",
    "text_agreement",
]

#: Earlier submissions compared in full with a new one, at most: those sharing most lookup keys.
CANDIDATES = 64
#: A lookup key this many submissions of the campaign have is the crowd's (the poster's look, the
#: suggested words, the phone's layout), not anyone's own: it is no longer looked up nor counted.
HOT_KEY = 64

#: How alike two context descriptors are, 1.0 for identical.
Similarity = Callable[[bytes, bytes], float]
#: How well the lines of text around two posters agree (0..1), None when there are none to compare.
LineAgreement = Callable[[bytes, bytes], float | None]
#: Each line's best agreement (the screenshot with fewer lines against the other), worst first.
LineScores = Callable[[bytes, bytes], Sequence[float] | None]


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    #: The context descriptor; None when no poster was located to anchor it.
    context: bytes | None
    #: The text just above the poster (nickname, the member's words), normalized, one line per text
    #: line; "" if none was read.
    text: str = ""


def lookup_keys(fingerprint: Fingerprint) -> list[str]:
    """What an earlier fingerprint is found by: ``f:<sha256>`` (the same file), the descriptor's
    signature bands (an alike context) and its lines' bands (the same nickname, words, time row).
    Empty for a fingerprint without any. Keys that many submissions share say nothing personal: the
    store counts them and stops looking them up (:data:`HOT_KEY`)."""
    keys = [f"f:{fingerprint.sha256}"] if fingerprint.sha256 else []
    if fingerprint.context is not None:
        keys += [f"b{key}" for key in buckets(fingerprint.context)] + line_buckets(fingerprint.context)
    return keys


def nearest_first(
    keys: Sequence[str],
    found: Iterable[tuple[str, Sequence[str]]],
    limit: int = CANDIDATES,
    counts: Mapping[str, int] | None = None,
) -> list[str]:
    """Of ``found`` (submission id, its keys), the ids sharing most of ``keys``, at most ``limit``:
    the same file first, then by the keys in common, each weighing the less the more submissions of
    the campaign have it (``counts``): a nickname's key is rare, the layout's common. Ties: the order
    found."""
    wanted = set(keys)
    known = counts or {}
    scored = []
    for order, (submission_id, theirs) in enumerate(found):
        shared = wanted.intersection(theirs)
        same_file = any(key.startswith("f:") for key in shared)
        weight = sum(1.0 / (1 + known.get(key, 0)) for key in shared)
        scored.append((not same_file, -weight, order, submission_id))
    return [submission_id for *_, submission_id in sorted(scored)[:limit]]


@dataclass(frozen=True)
class PriorShot:
    """An earlier submission in the same campaign."""

    submission_id: str
    user: str
    decision: Decision
    fingerprint: Fingerprint
    #: It showed the submitter's own QR code (a screenshot with someone else's code was not theirs).
    own_qr: bool = True


class ReuseIndex:
    """One campaign's earlier submissions found by lookup key, in memory: what offline evaluation and
    calibration use, so they compare a screenshot with the same candidates the live store gives it
    (and not with every earlier one: a long labelled set would take quadratic time).

    The same rules as the store: a key :data:`HOT_KEY` submissions have is no longer counted nor
    asked for; of what shares a key that is, the :data:`CANDIDATES` sharing most (rarest keys
    weighing most, the same file first) are returned, in the order they were added on ties.
    """

    def __init__(self) -> None:
        self._shots: dict[str, tuple[PriorShot, list[str]]] = {}
        self._position: dict[str, int] = {}
        self._by_key: dict[str, list[str]] = {}
        self._counts: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._shots)

    def candidates(self, fingerprint: Fingerprint) -> list[PriorShot]:
        keys = lookup_keys(fingerprint)
        asked = [key for key in keys if self._counts[key] < HOT_KEY]
        seen: dict[str, None] = {}
        for key in asked:
            seen.update(dict.fromkeys(self._by_key.get(key, ())))
        found = sorted(seen, key=self._position.__getitem__)  # the order they were added
        counts = {key: self._counts[key] for key in keys}
        nearest = nearest_first(asked, ((sid, self._shots[sid][1]) for sid in found), CANDIDATES, counts)
        return [self._shots[sid][0] for sid in nearest]

    def add(self, shot: PriorShot) -> None:
        keys = lookup_keys(shot.fingerprint)
        self._position.setdefault(shot.submission_id, len(self._position))
        self._shots[shot.submission_id] = (shot, keys)
        for key in keys:
            if self._counts[key] < HOT_KEY:  # a hot key is never asked for again: no need to list it
                self._counts[key] += 1
                self._by_key.setdefault(key, []).append(shot.submission_id)


@dataclass(frozen=True)
class ReuseFinding:
    match: ReuseMatch
    similarity: float | None = None
    submission_id: str | None = None


#: Text agreement (0..1) at or above which two readings are the same words; below ``_DIFFERENT_TEXT``
#: they are different people's.
_SAME_TEXT = 0.5
_DIFFERENT_TEXT = 0.3
_MIN_TEXT = 3
#: The same for the pictures of the lines of text around the poster (measured: copies >= 0.8, other
#: members' honest screenshots of the same poster <= 0.46).
_SAME_LINES = 0.6
_DIFFERENT_LINES = 0.35
#: Context similarity at or above which the lines alone never clear a picture: a person looks.
_IDENTICAL = 0.999
#: Below the close threshold, surroundings at least this alike whose every line agrees are close:
#: a copy's (issue 18: a re-sent, cropped copy measured 0.90 alike with its lines at 0.9). Another
#: member's lines never agree (<= 0.46 measured, even in one phone's crowd).
_LINES_FROM = 0.85
#: With this many lines or more, one line matching nothing while every other agrees closely is
#: likelier a line measured differently in a copy (two close lines of a comment joined in one and
#: not in the other) than another member's post: theirs differ in the nickname and also in the
#: time or the status bar's clock, which agree at most ~0.75 (measured on one phone's crowd).
_LONE_LINE_FROM = 5
_LONE_LINE_REST = 0.8
#: Against the member's own approved screenshot the nickname cannot be the line that differs: an
#: honest second screenshot of theirs differs in the time row *and* the clock or the words (two
#: lines or more, measured), a re-saved copy in one line its recompression spoiled (issue 18: a copy
#: 0.994 alike, its lines 0.28 / 0.78 / 0.89 / 0.96, was cleared as another post and approved).
_OWN_LONE_LINE_FROM = 3
_OWN_LONE_LINE_REST = 0.75


def _one_line_off(scores: Sequence[float] | None, *, own: bool = False) -> bool:
    """All lines but one agree closely: a person compares rather than the lines clearing the picture."""
    least, rest = (_OWN_LONE_LINE_FROM, _OWN_LONE_LINE_REST) if own else (_LONE_LINE_FROM, _LONE_LINE_REST)
    if scores is None or len(scores) < least:
        return False
    return scores[0] < _DIFFERENT_LINES and min(scores[1:]) >= rest


def _containment(short: str, long: str) -> float:
    """How much of ``short`` ``long`` contains, in order. Not a symmetric ratio: OCR adds stray glyphs
    more often than it drops real ones."""
    blocks = SequenceMatcher(None, short, long, autojunk=False).get_matching_blocks()
    return sum(block.size for block in blocks) / len(short)


def text_agreement(left: str, right: str) -> float | None:
    """How well two readings agree line by line (0..1): the worst line of the reading with fewer
    lines against its best match in the other. None when no line is long enough to judge.

    Line by line because members often paste the campaign's suggested words: two honest posts then
    share every line but the nickname, and that one line is what must decide.
    """
    left_lines = [line for line in left.split("\n") if len(line) >= _MIN_TEXT]
    right_lines = [line for line in right.split("\n") if len(line) >= _MIN_TEXT]
    if not left_lines or not right_lines:
        return None  # a name of two glyphs, misread once, would decide too much
    fewer, more = sorted((left_lines, right_lines), key=len)
    whole = "".join(more)
    return min(max(_containment(line, whole), *(_containment(line, other) for other in more)) for line in fewer)


def _counts(prior: PriorShot, user: str) -> bool:
    if prior.user == user:
        return prior.decision is Decision.APPROVE
    return prior.own_qr


def find_reuse(
    fingerprint: Fingerprint,
    user: str,
    earlier: Iterable[PriorShot],
    similarity: Similarity,
    *,
    copy_at: float,
    close_at: float,
    lines: LineAgreement | None = None,
    line_scores: LineScores | None = None,
) -> ReuseFinding:
    """The most similar earlier screenshot that counts, classified as a copy, close, or unrelated.

    Alike surroundings are a copy only if what is personal agrees too: the pictures of the lines of
    text around the poster (``lines``) when both screenshots have some, otherwise the words read by
    OCR. Thousands of members share the poster, the phone and the suggested words; a copy also
    shares the nickname and the time row."""
    nearest: tuple[float, str] | None = None
    for prior in earlier:
        if not _counts(prior, user):
            continue
        if prior.fingerprint.sha256 == fingerprint.sha256:
            return ReuseFinding(ReuseMatch.COPY, 1.0, prior.submission_id)
        if fingerprint.context is None or prior.fingerprint.context is None:
            continue
        score = similarity(fingerprint.context, prior.fingerprint.context)
        by_lines = None
        if score >= min(close_at, _LINES_FROM) and lines is not None:
            by_lines = lines(fingerprint.context, prior.fingerprint.context)
        if by_lines is not None and score < close_at:
            # Surroundings only somewhat alike (a copy cropped and rescaled moves its window), but
            # every line of text agrees: nickname, words and time row are the member's, a person looks.
            if by_lines >= _SAME_LINES:
                score = close_at
            by_lines = None
        if by_lines is not None:
            if by_lines < _DIFFERENT_LINES:
                theirs = prior.fingerprint.context
                # The member's own rule only for a picture alike enough to be a copy by itself: the
                # crowd's members post twice (the same words, time and phone; only the clock differs).
                own = prior.user == user and score >= copy_at
                lone = line_scores is not None and _one_line_off(line_scores(fingerprint.context, theirs), own=own)
                if score < _IDENTICAL and not lone:
                    continue  # a line (the nickname, the time) matches nothing: someone else's post
                # Surroundings alike to the pixel: no two members' posts are (measured: <= 0.997 in
                # a crowd of one phone, one avatar, the same words); a line cut differently is likelier.
                score = min(score, close_at)
            if by_lines < _SAME_LINES:
                score = min(score, close_at)  # unsure: a person compares
        elif score >= close_at:
            agreement = text_agreement(fingerprint.text, prior.fingerprint.text)
            if agreement is not None and agreement < _DIFFERENT_TEXT and score < copy_at:
                continue  # alike surroundings, someone else's words: not a copy of this one
            if agreement is not None and agreement < _SAME_TEXT:
                # A near-identical picture with other words: two default avatars and the campaign's
                # suggested text, or an OCR slip on a real copy. Never rejected on that: a person looks.
                score = min(score, close_at)
        if nearest is None or score > nearest[0]:
            nearest = (score, prior.submission_id)
    if nearest is None:
        return ReuseFinding(ReuseMatch.NONE)
    score, submission_id = nearest
    if score >= copy_at:
        return ReuseFinding(ReuseMatch.COPY, score, submission_id)
    if score >= close_at:
        return ReuseFinding(ReuseMatch.CLOSE, score, submission_id)
    return ReuseFinding(ReuseMatch.NONE, score)


def pending_twin(
    fingerprint: Fingerprint,
    user: str,
    earlier: Iterable[PriorShot],
    similarity: Similarity,
    *,
    copy_at: float,
    close_at: float,
    lines: LineAgreement | None = None,
    line_scores: LineScores | None = None,
) -> ReuseFinding:
    """The member's own earlier submission still waiting for a person, if this one is (close to) a copy
    of it. Such an attempt does not count as re-use (:func:`find_reuse`: a member tries again after a
    review with a better screenshot of the same post), but it must not be approved on its own either:
    the same picture re-saved would otherwise pass while a person still weighs the first (issue 18: a
    re-sent copy was approved that way). A person looks at both."""
    pending = [
        PriorShot(p.submission_id, p.user, Decision.APPROVE, p.fingerprint, p.own_qr)
        for p in earlier
        if p.user == user and p.decision is Decision.REVIEW
    ]
    if not pending:
        return ReuseFinding(ReuseMatch.NONE)
    found = find_reuse(
        fingerprint, user, pending, similarity, copy_at=copy_at, close_at=close_at, lines=lines, line_scores=line_scores
    )
    if found.match is ReuseMatch.NONE:
        return found
    return ReuseFinding(ReuseMatch.CLOSE, found.similarity, found.submission_id)
