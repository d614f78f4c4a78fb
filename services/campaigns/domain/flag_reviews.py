"""The review of patterns the referral graph flags: each flag is kept, with a person's decision on it. Pure.

:func:`~services.campaigns.domain.graph.find_flags` computes the patterns from the edges each time.
What a reviewer decides must outlast that: a flag is stored once per (account, kind, inviter) and its
review state stays with it however often the pattern is computed again, so a flag dismissed stays
dismissed (and out of the open list) while the pattern lasts, even as it grows.

Keys: an unfollow burst and silent invitees are about one inviter, who is the key. A ring is about
all its members: it is kept under the member that already carries a ring flag of the account (a ring
that grew, or two that merged, keeps its review; a reviewed flag wins over an open one), else under
its first member in sort order. Rings are disjoint, so no two rings share a key at one time.

Review states: ``open`` (new: for a person to look at), ``dismissed`` (looked at: nothing wrong),
``confirmed`` (looked at: the pattern is what it seems; freezing or blacklisting the inviter is a
separate decision). Any state may move to any other with who, when and a note; moving to the state a
flag is in already is refused (two reviewers deciding at once: the second is told).

A stored flag whose pattern is no longer found (an invitee interacted, say) is kept, marked not
``current``; found again, it is current again with its review as it was.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from services.campaigns.domain.graph import Flag

__all__ = [
    "FLAG_KINDS",
    "REVIEW_STATES",
    "FlagReview",
    "ReviewRefused",
    "flag_id",
    "key_inviter",
    "observed",
    "parse_flag_id",
    "reviewed",
]

FLAG_KINDS = ("ring", "unfollow_burst", "silent_invitees")
REVIEW_STATES = ("open", "dismissed", "confirmed")


class ReviewRefused(Exception):
    """The flag is in that review state already (409)."""


def flag_id(kind: str, inviter: str) -> str:
    """A stored flag's id within its account: ``<kind>:<inviter>``."""
    return f"{kind}:{inviter}"


def parse_flag_id(value: str) -> tuple[str, str] | None:
    """``(kind, inviter)`` of a flag id, or None when it names no kind."""
    kind, sep, inviter = value.partition(":")
    return (kind, inviter) if sep and kind in FLAG_KINDS and inviter else None


@dataclass(frozen=True)
class FlagReview:
    """A stored flag: the pattern as last computed (no member but the key inviter is kept) and its review."""

    appid: str
    kind: str
    inviter: str
    first_seen_at: datetime
    last_seen_at: datetime
    #: When the pattern last happened (the flag's ``at``), its credits, campaigns and description.
    at: datetime
    edges: int = 0
    campaigns: tuple[str, ...] = ()
    detail: str = ""
    #: Whether the last computation found the pattern.
    current: bool = True
    status: str = "open"
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    note: str = ""

    @property
    def id(self) -> str:
        return flag_id(self.kind, self.inviter)


def key_inviter(flag: Flag, stored: Mapping[str, FlagReview]) -> str:
    """The inviter ``flag`` is kept under, given the account's stored flags by id (see the module's doc)."""
    if flag.kind != "ring":
        return flag.inviters[0] if flag.inviters else flag.members[0]
    held = [stored[flag_id("ring", m)] for m in flag.members if flag_id("ring", m) in stored]
    if not held:
        return min(flag.members)
    return min(held, key=lambda review: (review.status == "open", review.inviter)).inviter


def observed(
    appid: str, flags: Sequence[Flag], stored: Mapping[str, FlagReview], now: datetime
) -> tuple[list[tuple[Flag, FlagReview]], list[FlagReview]]:
    """The computed ``flags`` joined with their stored reviews (new ones open), and the stored flags
    no longer found (marked not current). Review states are never changed here."""
    found: list[tuple[Flag, FlagReview]] = []
    seen: set[str] = set()
    for flag in flags:
        inviter = key_inviter(flag, stored)
        key = flag_id(flag.kind, inviter)
        if key in seen:  # two rings keyed alike cannot happen (rings are disjoint); keep the first
            continue
        seen.add(key)
        before = stored.get(key)
        review = replace(
            before or FlagReview(appid, flag.kind, inviter, first_seen_at=now, last_seen_at=now, at=flag.at),
            at=flag.at,
            edges=flag.edges,
            campaigns=tuple(flag.campaigns),
            detail=flag.detail,
            current=True,
            last_seen_at=now,
        )
        found.append((flag, review))
    gone = [replace(review, current=False) for key, review in stored.items() if key not in seen and review.current]
    return found, gone


def reviewed(flag: FlagReview, status: str, by: str, at: datetime, note: str = "") -> FlagReview:
    """The flag moved to ``status`` by ``by`` at ``at``. Raises :class:`ReviewRefused` when it is
    there already, ``ValueError`` for a state that does not exist."""
    if status not in REVIEW_STATES:
        raise ValueError(f"a review state is one of {', '.join(REVIEW_STATES)}")
    if status == flag.status:
        raise ReviewRefused(f"the flag {flag.id} is {status} already")
    return replace(flag, status=status, reviewed_by=by, reviewed_at=at, note=note)
