"""Flags of the referral graph kept with their review (issue 21 item 9): one per (account, kind, key
inviter), new ones open, a review that outlasts every computation, and a ring that grows keeps it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.campaigns.domain.flag_reviews import (
    FlagReview,
    ReviewRefused,
    flag_id,
    key_inviter,
    observed,
    parse_flag_id,
    reviewed,
)
from services.campaigns.domain.graph import Flag

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def ring(*members: str) -> Flag:
    return Flag("ring", tuple(sorted(members)), ("c1", "c2"), len(members), "ring", T0, inviters=tuple(sorted(members)))


def burst(inviter: str, *invitees: str) -> Flag:
    return Flag("unfollow_burst", (inviter, *invitees), ("c1",), len(invitees), "burst", T0, inviters=(inviter,))


def test_flag_ids_name_the_kind_and_the_inviter() -> None:
    assert flag_id("ring", "o_A") == "ring:o_A"
    assert parse_flag_id("silent_invitees:o_B") == ("silent_invitees", "o_B")
    for bad in ("ring", "ring:", "loop:o_A", ":o_A"):
        assert parse_flag_id(bad) is None


def test_a_ring_is_kept_under_the_member_that_carries_its_flag_already() -> None:
    assert key_inviter(ring("o_B", "o_C"), {}) == "o_B"  # new: its first member
    assert key_inviter(burst("o_Z", "o_1", "o_2"), {}) == "o_Z"
    kept = FlagReview("wx1", "ring", "o_C", T0, T0, T0)
    grown = ring("o_A", "o_B", "o_C")  # o_A joined: sorts first, but the ring keeps its flag
    assert key_inviter(grown, {kept.id: kept}) == "o_C"
    dismissed = FlagReview("wx1", "ring", "o_D", T0, T0, T0, status="dismissed")
    merged = ring("o_A", "o_B", "o_C", "o_D")  # two kept rings merged: the reviewed one's key wins
    assert key_inviter(merged, {kept.id: kept, dismissed.id: dismissed}) == "o_D"


def test_computing_again_keeps_the_review_and_marks_patterns_no_longer_found() -> None:
    now = T0 + timedelta(days=1)
    found, gone = observed("wx1", [ring("o_A", "o_B"), burst("o_Z", "o_1", "o_2", "o_3")], {}, T0)
    assert [(r.id, r.status, r.first_seen_at) for _, r in found] == [
        ("ring:o_A", "open", T0),
        ("unfollow_burst:o_Z", "open", T0),
    ]
    assert gone == []
    dismissed = reviewed(found[0][1], "dismissed", "rita", T0, "friends")
    stored = {dismissed.id: dismissed, found[1][1].id: found[1][1]}
    found, gone = observed("wx1", [ring("o_A", "o_B", "o_C")], stored, now)
    [(_, review)] = found
    assert (review.id, review.status, review.note, review.edges) == ("ring:o_A", "dismissed", "friends", 3)
    assert (review.first_seen_at, review.last_seen_at, review.current) == (T0, now, True)
    assert [(r.id, r.current, r.status) for r in gone] == [("unfollow_burst:o_Z", False, "open")]


def test_a_review_moves_between_states_and_says_who_and_when() -> None:
    flag = FlagReview("wx1", "silent_invitees", "o_A", T0, T0, T0)
    confirmed = reviewed(flag, "confirmed", "rita", T0 + timedelta(hours=1), "bought followers")
    assert (confirmed.status, confirmed.reviewed_by, confirmed.note) == ("confirmed", "rita", "bought followers")
    assert reviewed(confirmed, "open", "ada", T0).status == "open"
    with pytest.raises(ReviewRefused, match="confirmed already"):
        reviewed(confirmed, "confirmed", "ada", T0)
    with pytest.raises(ValueError, match="review state"):
        reviewed(flag, "maybe", "ada", T0)
