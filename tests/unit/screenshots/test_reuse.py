"""find_reuse(): which earlier screenshots count, and how similar a copy is.

The similarity of two contexts is the adapter's measurement; here a fake stands in for it: a context is
the text of a number, and two contexts are as similar as the smaller of their numbers. So against
:data:`MINE` (context ``1.0``) an earlier screenshot with context ``context(s)`` has similarity ``s``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from services.screenshots.domain.reuse import (
    HOT_KEY,
    Fingerprint,
    PriorShot,
    ReuseFinding,
    ReuseIndex,
    find_reuse,
    lookup_keys,
    nearest_first,
    pending_twin,
    text_agreement,
)
from services.screenshots.domain.similarity import BANDS, DESCRIPTOR_BYTES, DESCRIPTOR_SIDE, buckets
from services.screenshots.domain.verdicts import Decision, DecisionThresholds, ReuseMatch

COPY = DecisionThresholds().reuse_copy_similarity
CLOSE = DecisionThresholds().reuse_close_similarity


def context(score: float) -> bytes:
    return repr(score).encode()


def fake_similarity(left: bytes, right: bytes) -> float:
    return min(float(left.decode()), float(right.decode()))


class Recorder:
    """:func:`fake_similarity` that remembers which contexts it was asked to compare with."""

    def __init__(self) -> None:
        self.compared: list[bytes] = []

    def __call__(self, left: bytes, right: bytes) -> float:
        self.compared.append(right)
        return fake_similarity(left, right)


def shot(
    submission: str, user: str, score: float | None, *, sha: str | None = None, decision: Decision = Decision.APPROVE
) -> PriorShot:
    fingerprint = Fingerprint(sha or f"sha-{submission}", None if score is None else context(score))
    return PriorShot(submission, user, decision, fingerprint)


MINE = Fingerprint("sha-new", context(1.0))


def reuse(earlier: list[PriorShot], fingerprint: Fingerprint = MINE, user: str = "alice") -> ReuseFinding:
    return find_reuse(fingerprint, user, earlier, fake_similarity, copy_at=COPY, close_at=CLOSE)


def test_the_fake_similarity() -> None:
    assert fake_similarity(context(1.0), context(0.94)) == 0.94
    assert fake_similarity(context(0.94), context(1.0)) == 0.94


def test_the_default_thresholds_are_ordered() -> None:
    assert 0 < CLOSE < COPY < 1


def test_nothing_earlier() -> None:
    assert reuse([]) == ReuseFinding(ReuseMatch.NONE)


def test_the_same_file_sent_by_someone_else_is_a_copy() -> None:
    earlier = [shot("s1", "bob", 0.1, sha="sha-new", decision=Decision.REJECT)]
    assert reuse(earlier) == ReuseFinding(ReuseMatch.COPY, 1.0, "s1")


def test_the_same_file_is_a_copy_even_without_a_context() -> None:
    earlier = [shot("s1", "bob", None, sha="sha-new")]
    assert reuse(earlier, Fingerprint("sha-new", None)) == ReuseFinding(ReuseMatch.COPY, 1.0, "s1")


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (1.0, ReuseFinding(ReuseMatch.COPY, 1.0, "s1")),
        (0.99, ReuseFinding(ReuseMatch.COPY, 0.99, "s1")),
        (COPY, ReuseFinding(ReuseMatch.COPY, COPY, "s1")),
        (0.954, ReuseFinding(ReuseMatch.CLOSE, 0.954, "s1")),
        (CLOSE, ReuseFinding(ReuseMatch.CLOSE, CLOSE, "s1")),
        (0.929, ReuseFinding(ReuseMatch.NONE, 0.929)),
        (0.5, ReuseFinding(ReuseMatch.NONE, 0.5)),
        (0.0, ReuseFinding(ReuseMatch.NONE, 0.0)),
        (-0.4, ReuseFinding(ReuseMatch.NONE, -0.4)),
    ],
)
def test_context_similarity_edges(score: float, expected: ReuseFinding) -> None:
    assert reuse([shot("s1", "bob", score)]) == expected


def test_the_thresholds_are_the_callers() -> None:
    earlier = [shot("s1", "bob", 0.8)]
    assert find_reuse(MINE, "alice", earlier, fake_similarity, copy_at=0.8, close_at=0.7) == ReuseFinding(
        ReuseMatch.COPY, 0.8, "s1"
    )
    assert find_reuse(MINE, "alice", earlier, fake_similarity, copy_at=0.9, close_at=0.8) == ReuseFinding(
        ReuseMatch.CLOSE, 0.8, "s1"
    )


def test_the_contexts_are_passed_to_the_similarity() -> None:
    recorder = Recorder()
    earlier = [shot("s1", "bob", 0.3), shot("s2", "carol", 0.6)]
    find_reuse(MINE, "alice", earlier, recorder, copy_at=COPY, close_at=CLOSE)
    assert recorder.compared == [context(0.3), context(0.6)]


@pytest.mark.parametrize("decision", [Decision.REJECT, Decision.REVIEW])
def test_own_attempts_that_were_not_approved_are_ignored(decision: Decision) -> None:
    recorder = Recorder()
    earlier = [
        shot("s1", "alice", 1.0, sha="sha-new", decision=decision),  # even byte-identical
        shot("s2", "alice", 0.99, decision=decision),
    ]
    assert find_reuse(MINE, "alice", earlier, recorder, copy_at=COPY, close_at=CLOSE) == ReuseFinding(ReuseMatch.NONE)
    assert recorder.compared == []  # not even compared


def test_own_approved_screenshot_counts() -> None:
    assert reuse([shot("s1", "alice", 0.97, decision=Decision.APPROVE)]) == ReuseFinding(ReuseMatch.COPY, 0.97, "s1")
    assert reuse([shot("s1", "alice", 0.2, sha="sha-new")]) == ReuseFinding(ReuseMatch.COPY, 1.0, "s1")


@pytest.mark.parametrize("decision", list(Decision), ids=str)
def test_others_count_whatever_their_decision(decision: Decision) -> None:
    assert reuse([shot("s1", "bob", 0.94, decision=decision)]) == ReuseFinding(ReuseMatch.CLOSE, 0.94, "s1")


def test_the_most_similar_counting_screenshot_wins() -> None:
    earlier = [
        shot("far", "bob", 0.2),
        shot("own-rejected", "alice", 0.999, decision=Decision.REJECT),  # most similar, but does not count
        shot("close", "carol", 0.94),
        shot("no-context", "dave", None),
        shot("nearer", "erin", 0.97),
        shot("as-near", "frank", 0.97),  # a tie keeps the first
    ]
    assert reuse(earlier) == ReuseFinding(ReuseMatch.COPY, 0.97, "nearer")


def test_the_most_similar_decides_even_when_it_is_close() -> None:
    earlier = [shot("far", "bob", 0.3), shot("close", "carol", 0.94), shot("farther", "dave", -0.2)]
    assert reuse(earlier) == ReuseFinding(ReuseMatch.CLOSE, 0.94, "close")


def test_when_nothing_is_similar_the_best_score_is_kept_without_a_submission() -> None:
    earlier = [shot("a", "bob", 0.3), shot("b", "carol", 0.6), shot("c", "dave", 0.1)]
    assert reuse(earlier) == ReuseFinding(ReuseMatch.NONE, 0.6)


def test_an_exact_file_match_wins_over_a_more_similar_context() -> None:
    earlier = [shot("similar", "bob", 0.999), shot("same-file", "carol", 0.1, sha="sha-new")]
    assert reuse(earlier) == ReuseFinding(ReuseMatch.COPY, 1.0, "same-file")


def test_without_a_context_only_the_file_hash_is_compared() -> None:
    recorder = Recorder()
    earlier = [shot("s1", "bob", 1.0)]
    no_context = Fingerprint("sha-new", None)
    assert find_reuse(no_context, "alice", earlier, recorder, copy_at=COPY, close_at=CLOSE) == ReuseFinding(
        ReuseMatch.NONE
    )
    assert recorder.compared == []


def test_earlier_shots_without_a_context_are_skipped() -> None:
    assert reuse([shot("s1", "bob", None), shot("s2", "carol", None)]) == ReuseFinding(ReuseMatch.NONE)


def test_a_generator_of_earlier_shots_is_accepted() -> None:
    earlier = (shot(f"s{n}", "bob", n / 100) for n in (60, 97, 94))
    assert find_reuse(MINE, "alice", earlier, fake_similarity, copy_at=COPY, close_at=CLOSE) == ReuseFinding(
        ReuseMatch.COPY, 0.97, "s97"
    )


def test_a_cheaters_earlier_submission_of_this_members_screenshot_does_not_count() -> None:
    # Bob sent Alice's screenshot first (it showed Alice's code, not his: rejected as foreign_qr). When
    # Alice's own arrives, even byte for byte the same file, it is hers and not a copy of Bob's.
    bobs = PriorShot("bob-1", "bob", Decision.REJECT, Fingerprint("sha-new", context(1.0)), own_qr=False)
    assert reuse([bobs]).match is ReuseMatch.NONE
    honest = PriorShot("bob-2", "bob", Decision.APPROVE, Fingerprint("sha-new", context(1.0)), own_qr=True)
    assert reuse([honest]).match is ReuseMatch.COPY


def text_fingerprint(text: str, score: float = 1.0, sha: str = "sha-other") -> Fingerprint:
    return Fingerprint(sha, context(score), text)


@pytest.mark.parametrize(
    ("mine", "theirs", "score", "expected"),
    [
        ("小雨妈妈\n宝妈们快来领取", "小雨妈妈\n宝妈们快来领取", 0.99, ReuseMatch.COPY),  # the same words
        ("小雨妈妈\n宝妈们快来领取", "小雨妈姐\n宝妈们快来领取", 0.99, ReuseMatch.COPY),  # an OCR slip
        ("小雨妈妈\n宝妈们快来领取", "豆豆爸爸\n宝妈们快来领取", 0.99, ReuseMatch.CLOSE),  # another nickname
        ("小雨妈妈\n宝妈们快来领取", "豆豆爸爸\n宝妈们快来领取", 0.94, ReuseMatch.NONE),  # and a different picture
        ("阿杰", "静静", 0.99, ReuseMatch.COPY),  # too short to judge: the picture decides
        ("", "豆豆爸爸", 0.99, ReuseMatch.COPY),  # nothing read
    ],
    ids=["same", "ocr-slip", "other-nickname", "other-nickname-less-alike", "short", "unread"],
)
def test_the_words_above_the_poster_decide_between_alike_pictures(
    mine: str, theirs: str, score: float, expected: ReuseMatch
) -> None:
    earlier = [PriorShot("bob-1", "bob", Decision.APPROVE, text_fingerprint(theirs, score))]
    assert reuse(earlier, fingerprint=text_fingerprint(mine, sha="sha-mine")).match is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("小雨妈妈\n宝妈们快来领取", "小雨妈妈\n宝妈们快来领取", 1.0),
        ("小雨妈妈", "Eee小雨妈妈", 1.0),  # stray glyphs OCR added
        ("豆豆爸爸\n宝妈们快来领取", "小雨妈妈\n宝妈们快来领取", 0.0),  # the worst line decides
        ("阿杰", "静静", None),
        ("", "小雨妈妈", None),
    ],
)
def test_text_agreement(left: str, right: str, expected: float | None) -> None:
    assert text_agreement(left, right) == (None if expected is None else pytest.approx(expected))


# --- the lines of text around the poster (``lines``): what differs between members ---------------------


def lines_say(value: float | None) -> Callable[[bytes, bytes], float | None]:
    return lambda left, right: value


@pytest.mark.parametrize(
    ("score", "agreement", "expected"),
    [
        (0.999, 0.9, ReuseMatch.COPY),  # the same picture, the same lines: a copy
        (0.999, 0.5, ReuseMatch.CLOSE),  # unsure: a person compares
        (0.99, 0.1, ReuseMatch.NONE),  # a line matches nothing (the nickname): someone else's post
        # ... unless the surroundings are alike to the pixel (no two members' posts are, a crowd
        # measured <= 0.997): a line cut differently in a copy is likelier, so a person looks.
        (0.999, 0.1, ReuseMatch.CLOSE),
        (0.94, 0.9, ReuseMatch.CLOSE),  # the picture alone is only close
        (0.94, 0.1, ReuseMatch.NONE),
        (0.5, 0.9, ReuseMatch.NONE),  # not alike at all: the lines are not even asked
        (0.999, None, ReuseMatch.COPY),  # no lines to compare: the picture (and the OCR text) decide
    ],
)
def test_the_lines_around_the_poster_decide_between_alike_pictures(
    score: float, agreement: float | None, expected: ReuseMatch
) -> None:
    earlier = [shot("s1", "bob", score)]
    found = find_reuse(
        MINE, "alice", earlier, fake_similarity, copy_at=COPY, close_at=CLOSE, lines=lines_say(agreement)
    )
    assert found.match is expected


def test_the_lines_outrank_the_ocr_text() -> None:
    # OCR slipped on the copy's nickname; the pictures of the lines still agree: a copy.
    earlier = [PriorShot("bob-1", "bob", Decision.APPROVE, text_fingerprint("豆豆爸爸\n宝妈们快来领取", 0.99))]
    mine = text_fingerprint("小雨妈妈\n宝妈们快来领取", sha="sha-mine")
    found = find_reuse(mine, "alice", earlier, fake_similarity, copy_at=COPY, close_at=CLOSE, lines=lines_say(0.95))
    assert found.match is ReuseMatch.COPY


def test_the_same_file_needs_no_lines() -> None:
    earlier = [shot("s1", "bob", 0.1, sha="sha-new")]
    found = find_reuse(MINE, "alice", earlier, fake_similarity, copy_at=COPY, close_at=CLOSE, lines=lines_say(0.0))
    assert found == ReuseFinding(ReuseMatch.COPY, 1.0, "s1")


def judged_by_lines(prior: PriorShot, scores: tuple[float, ...]) -> ReuseMatch:
    """Alice's screenshot against ``prior``, the lines measured as ``scores`` (worst first)."""
    found = find_reuse(
        MINE,
        "alice",
        [prior],
        fake_similarity,
        copy_at=COPY,
        close_at=CLOSE,
        lines=lines_say(scores[0]),
        line_scores=lambda _left, _right: scores,
    )
    return found.match


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        # One line matching nothing among five that agree closely: a line measured differently in a
        # copy (two comment lines joined in one screenshot, not in the other): a person compares.
        ((0.0, 0.86, 0.97, 1.0, 1.0), ReuseMatch.CLOSE),
        # Another member of one phone's crowd: the nickname differs and the clock or time only
        # half agrees: someone else's post, as before.
        ((0.0, 0.73, 1.0, 1.0, 1.0), ReuseMatch.NONE),
        ((0.0, 0.0, 0.9, 1.0, 1.0), ReuseMatch.NONE),  # two lines match nothing
        ((0.0, 0.95, 1.0, 1.0), ReuseMatch.NONE),  # too few lines to forgive one
    ],
)
def test_one_line_measured_differently_among_many_sends_alike_pictures_to_a_person(
    scores: tuple[float, ...], expected: ReuseMatch
) -> None:
    assert judged_by_lines(shot("s1", "bob", 0.995), scores) is expected


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        # The member's own approved screenshot, re-saved: the nickname cannot be the line that differs,
        # so one line spoiled by recompression among agreeing ones is a person's to judge.
        ("alice", ReuseMatch.CLOSE),
        # Another member's: four lines are too few to forgive the one that matches nothing.
        ("bob", ReuseMatch.NONE),
    ],
)
def test_one_line_off_against_the_members_own_approved_screenshot_goes_to_a_person(
    user: str, expected: ReuseMatch
) -> None:
    scores = (0.28, 0.78, 0.89, 0.96)  # measured on a re-saved copy 0.994 alike (issue 18)
    assert judged_by_lines(shot("s1", user, 0.994), scores) is expected


def test_an_honest_second_post_of_the_member_is_not_held() -> None:
    # Their own second screenshot differs in the time row and the clock or the words: two lines.
    assert judged_by_lines(shot("s1", "alice", 0.954), (0.0, 0.52, 0.7, 0.95)) is ReuseMatch.NONE
    # A crowd member's second screenshot (the same words, time and phone) differs in the clock alone,
    # but it is a new picture, not alike enough to be a copy by itself (measured 0.933).
    assert judged_by_lines(shot("s1", "alice", 0.933), (0.0, 0.83, 0.89, 0.98)) is ReuseMatch.NONE


@pytest.mark.parametrize(
    ("earlier", "expected"),
    [
        # The member's own picture still in review, sent again (re-saved): it waits for the person too.
        ([shot("s1", "alice", 0.99, decision=Decision.REVIEW)], ReuseFinding(ReuseMatch.CLOSE, 0.99, "s1")),
        (
            [shot("s1", "alice", 0.2, sha="sha-new", decision=Decision.REVIEW)],
            ReuseFinding(ReuseMatch.CLOSE, 1.0, "s1"),
        ),
        # A rejected attempt does not count (a member tries again after fixing the post) ...
        ([shot("s1", "alice", 0.99, decision=Decision.REJECT)], ReuseFinding(ReuseMatch.NONE)),
        # ... nor does another screenshot of the member's that is not alike, nor anyone else's.
        ([shot("s1", "alice", 0.5, decision=Decision.REVIEW)], ReuseFinding(ReuseMatch.NONE, 0.5)),
        ([shot("s1", "bob", 0.99, decision=Decision.REVIEW)], ReuseFinding(ReuseMatch.NONE)),
    ],
)
def test_a_copy_of_the_members_own_picture_in_review_goes_to_review(
    earlier: list[PriorShot], expected: ReuseFinding
) -> None:
    found = pending_twin(MINE, "alice", earlier, fake_similarity, copy_at=COPY, close_at=CLOSE)
    assert found == expected


@pytest.mark.parametrize(
    ("score", "agreement", "expected"),
    [
        (0.9, 0.9, ReuseMatch.CLOSE),  # a cropped, rescaled copy: the window moved, every line agrees
        (0.9, 0.5, ReuseMatch.NONE),  # a line disagrees: someone else's post
        (0.84, 0.95, ReuseMatch.NONE),  # not alike enough to ask the lines
    ],
)
def test_somewhat_alike_pictures_whose_every_line_agrees_are_close(
    score: float, agreement: float, expected: ReuseMatch
) -> None:
    earlier = [shot("s1", "bob", score)]
    found = find_reuse(
        MINE, "alice", earlier, fake_similarity, copy_at=COPY, close_at=CLOSE, lines=lines_say(agreement)
    )
    assert found.match is expected


# --- lookup keys --------------------------------------------------------------------------------------


def test_lookup_keys_are_the_file_and_the_descriptors_bands() -> None:
    descriptor = bytes(np.random.default_rng(1).integers(0, 255, DESCRIPTOR_BYTES, dtype=np.uint8))
    keys = lookup_keys(Fingerprint("abc", descriptor))
    assert keys[0] == "f:abc" and len(keys) == 1 + BANDS
    assert all(key.startswith(f"b{band}:") for band, key in enumerate(keys[1:]))
    assert lookup_keys(Fingerprint("abc", descriptor)) == keys  # fixed directions: the same keys every time
    assert lookup_keys(Fingerprint("abc", None)) == ["f:abc"]
    assert lookup_keys(Fingerprint("", b"short")) == []


def test_alike_descriptors_share_bands_unrelated_ones_do_not() -> None:
    rng = np.random.default_rng(2)
    cells = rng.integers(0, 255, DESCRIPTOR_SIDE * DESCRIPTOR_SIDE).astype(np.int16)
    everywhere = b"\xff" * (DESCRIPTOR_BYTES - cells.size)

    def described(values: np.ndarray) -> set[str]:
        return set(buckets(np.clip(values, 0, 255).astype(np.uint8).tobytes() + everywhere))

    mine = described(cells)
    copy = described(cells + rng.integers(-12, 13, cells.size))  # re-encoded: a little noise
    other = described(rng.integers(0, 255, cells.size))
    assert len(mine & copy) >= 3
    assert not mine & other


def test_nearest_first_ranks_the_same_file_then_shared_keys() -> None:
    keys = ["f:abc", "b0:1", "b1:2", "b2:3"]
    found = [("one-band", ["f:x", "b0:1"]), ("two-bands", ["f:y", "b0:1", "b2:3"]), ("same-file", ["f:abc"])]
    assert nearest_first(keys, found) == ["same-file", "two-bands", "one-band"]
    assert nearest_first(keys, found, limit=2) == ["same-file", "two-bands"]
    assert nearest_first(keys, []) == []


def test_nearest_first_weighs_rare_keys_more() -> None:
    keys = ["b0:1", "b1:2", "l0:3"]
    counts = {"b0:1": 40, "b1:2": 40, "l0:3": 0}  # two keys of the crowd's layout, one nickname line
    found = [("layout-alike", ["b0:1", "b1:2"]), ("same-nickname", ["l0:3"])]
    assert nearest_first(keys, found, counts=counts) == ["same-nickname", "layout-alike"]
    assert nearest_first(keys, found) == ["layout-alike", "same-nickname"]  # unweighed: by count


# --- ReuseIndex: offline evaluation finds candidates as the store does -------------------------------------


def indexed(submission: str, user: str, keys_of: bytes, *, sha: str | None = None) -> PriorShot:
    return PriorShot(submission, user, Decision.APPROVE, Fingerprint(sha or f"sha-{submission}", keys_of))


def descriptor(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    edges = rng.integers(0, 255, DESCRIPTOR_SIDE * DESCRIPTOR_SIDE, dtype=np.uint8).tobytes()
    return edges + np.packbits(np.ones(DESCRIPTOR_SIDE * DESCRIPTOR_SIDE, dtype=bool)).tobytes()


def test_the_index_returns_what_shares_a_key_same_file_first() -> None:
    index = ReuseIndex()
    alike, other = descriptor(1), descriptor(2)
    index.add(indexed("s1", "bob", alike))
    index.add(indexed("s2", "carol", other))
    index.add(indexed("s3", "dave", other, sha="sha-mine"))
    found = index.candidates(Fingerprint("sha-mine", alike))
    assert [shot.submission_id for shot in found] == ["s3", "s1"]
    assert len(index) == 3


def test_the_index_stops_asking_for_a_key_the_crowd_shares() -> None:
    index = ReuseIndex()
    crowd = descriptor(3)
    for n in range(HOT_KEY):
        index.add(indexed(f"s{n}", f"member-{n}", crowd))
    # Every key of that descriptor is now the crowd's: nothing is found by them, not even a copy.
    assert index.candidates(Fingerprint("sha-x", crowd)) == []
    # The same file is still found by its own key (a file sent again by someone else).
    assert [shot.submission_id for shot in index.candidates(Fingerprint("sha-s5", crowd))] == ["s5"]
