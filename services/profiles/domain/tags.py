"""Tags on a profile: where each came from, how strongly it holds, and how behaviour fades.

A tag is keyed by code *and* source: "likes formula" said by the member (declared) and "likes formula"
read from their mall views are different facts with different reliability, and ops removing one must
not remove the other. What the member declared (directly or in a survey) and what ops set hold until
changed; what behaviour suggests (mall, inferred) fades with a half-life, so last year's browsing does
not outweigh this month's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = ["DEFAULT_HALF_LIFE", "Tag", "TagSource", "decay_factor", "reinforce"]

#: Behavioural interest halves in this time without new signals.
DEFAULT_HALF_LIFE = timedelta(days=30)


class TagSource(StrEnum):
    DECLARED = "declared"
    SURVEY = "survey"
    MALL = "mall"
    INFERRED = "inferred"
    OPS = "ops"

    @property
    def fades(self) -> bool:
        return self in (TagSource.MALL, TagSource.INFERRED)


def decay_factor(elapsed: timedelta, half_life: timedelta) -> float:
    """How much of a weight is left after ``elapsed`` (1.0 for no time or a moment in the past)."""
    if elapsed <= timedelta(0):
        return 1.0
    return float(0.5 ** (elapsed / half_life))


@dataclass(frozen=True)
class Tag:
    code: str
    source: TagSource
    weight: float
    first_seen: datetime
    last_seen: datetime

    def weight_at(self, now: datetime, half_life: timedelta = DEFAULT_HALF_LIFE) -> float:
        """The weight as of ``now``: faded for behavioural sources, as set for the others."""
        if not self.source.fades:
            return self.weight
        return self.weight * decay_factor(now - self.last_seen, half_life)


def reinforce(
    existing: Tag | None,
    code: str,
    source: TagSource,
    increment: float,
    at: datetime,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> Tag | None:
    """The tag after a signal of ``increment`` at ``at``; None once its weight is gone (a refund, say).

    Signals can arrive out of order: one older than the tag's last signal adds its own faded share
    instead of resetting the clock.
    """
    if existing is None:
        return Tag(code, source, increment, at, at) if increment > 0 else None
    if not source.fades:
        weight = max(existing.weight, increment)
        return replace(
            existing, weight=weight, first_seen=min(existing.first_seen, at), last_seen=max(existing.last_seen, at)
        )
    if at >= existing.last_seen:
        weight = existing.weight_at(at, half_life) + increment
        last_seen = at
    else:
        weight = existing.weight + increment * decay_factor(existing.last_seen - at, half_life)
        last_seen = existing.last_seen
    if weight <= 1e-6:
        return None
    return Tag(code, source, round(weight, 6), min(existing.first_seen, at), last_seen)
