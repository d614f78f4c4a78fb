"""Which profile tags become WeChat user tags, for mass sends by tag. Pure: profiles in, a plan out.

WeChat allows 100 tags per account, 20 per member and 50 members per tagging call, so only a budgeted
subset of the taxonomy is synced (the ``budget``, in priority order), a member gets at most 20 of
them (the first by that order), and changes go out in batches of 50. A profile qualifies for a code
when it holds it (or a descendant of it) with a current weight at or above the threshold; stage codes
come from the stage as of today.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.profiles.domain.profile import Profile
from shared.maternal_infant import Taxonomy

__all__ = ["PER_ACCOUNT", "PER_BATCH", "PER_MEMBER", "TagChange", "plan_changes", "validate_budget", "wanted_codes"]

PER_ACCOUNT = 100
PER_MEMBER = 20
PER_BATCH = 50


@dataclass(frozen=True)
class TagChange:
    code: str
    add: bool
    openids: tuple[str, ...]


def validate_budget(budget: Iterable[str], taxonomy: Taxonomy, limit: int = PER_ACCOUNT) -> tuple[str, ...]:
    codes = tuple(budget)
    if len(codes) > limit:
        raise ValueError(f"the tag budget has {len(codes)} codes; WeChat allows {limit} tags per account")
    if len(set(codes)) != len(codes):
        raise ValueError("the tag budget lists a code twice")
    unknown = [code for code in codes if code not in taxonomy]
    if unknown:
        raise ValueError(f"the tag budget names codes not in the taxonomy: {unknown}")
    return codes


def wanted_codes(
    profile: Profile,
    budget: tuple[str, ...],
    taxonomy: Taxonomy,
    now: datetime,
    *,
    min_weight: float,
    half_life: timedelta,
) -> list[str]:
    """The budget's codes this member qualifies for, in budget order, at most :data:`PER_MEMBER`."""
    held: set[str] = set()
    for view in profile.tag_views(now, half_life):
        if view.weight >= min_weight and view.code in taxonomy:
            held.add(view.code)
            held.update(taxonomy.ancestors(view.code))
    return [code for code in budget if code in held][:PER_MEMBER]


def plan_changes(current: Mapping[str, set[str]], wanted: Mapping[str, set[str]]) -> list[TagChange]:
    """Tag and untag calls (at most :data:`PER_BATCH` members each) that turn ``current`` into ``wanted``.

    Every removal comes before any addition, so a member moving between tags never holds more than
    :data:`PER_MEMBER` on the way.
    """
    removals: list[TagChange] = []
    additions: list[TagChange] = []
    for code in sorted(set(current) | set(wanted)):
        have, want = current.get(code, set()), wanted.get(code, set())
        for add, openids, into in ((False, sorted(have - want), removals), (True, sorted(want - have), additions)):
            for start in range(0, len(openids), PER_BATCH):
                into.append(TagChange(code, add, tuple(openids[start : start + PER_BATCH])))
    return removals + additions
