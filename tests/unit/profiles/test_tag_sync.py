"""Planning the WeChat tag sync (pure): the budget, what a member qualifies for, and batched changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.profiles.domain.profile import Profile
from services.profiles.domain.tag_sync import (
    PER_BATCH,
    PER_MEMBER,
    TagChange,
    plan_changes,
    validate_budget,
    wanted_codes,
)
from services.profiles.domain.tags import Tag, TagSource
from services.profiles.settings import DEFAULT_TAG_BUDGET
from shared.maternal_infant import DEFAULT_TAXONOMY, load_taxonomy

TAXONOMY = load_taxonomy(DEFAULT_TAXONOMY)
NOW = datetime(2026, 11, 23, tzinfo=UTC)
HALF_LIFE = timedelta(days=30)


def test_the_default_budget_is_valid() -> None:
    assert validate_budget(DEFAULT_TAG_BUDGET, TAXONOMY) == DEFAULT_TAG_BUDGET


@pytest.mark.parametrize(
    ("budget", "why"),
    [(["interest.toys"] * 2, "twice"), (["interest.nope"], "not in the taxonomy"), (["spend.a"] * 101, "100")],
)
def test_a_bad_budget_is_refused(budget: list[str], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        validate_budget(budget, TAXONOMY)


def profile_with(*tags: tuple[str, TagSource, float, int]) -> Profile:
    profile = Profile("wx1", "o1")
    for code, source, weight, days_ago in tags:
        seen = NOW - timedelta(days=days_ago)
        profile.tags[(code, source)] = Tag(code, source, weight, seen, seen)
    return profile


def test_a_member_qualifies_by_current_weight_with_ancestors_in_budget_order() -> None:
    profile = profile_with(
        ("interest.feeding.formula", TagSource.DECLARED, 1.0, 400),  # declared: does not fade
        ("interest.gear.stroller", TagSource.MALL, 1.5, 60),  # faded to 0.375: below the threshold
        ("interest.toys", TagSource.MALL, 3.0, 1),
    )
    codes = wanted_codes(profile, DEFAULT_TAG_BUDGET, TAXONOMY, NOW, min_weight=1.0, half_life=HALF_LIFE)
    assert codes == ["interest.feeding", "interest.feeding.formula", "interest.toys"]


def test_a_member_gets_at_most_twenty() -> None:
    many = [code for code in TAXONOMY.tags if code.startswith(("interest.", "purchase."))]
    assert len(many) > PER_MEMBER
    profile = profile_with(*((code, TagSource.OPS, 1.0, 0) for code in many))
    budget = tuple(code for code in TAXONOMY.tags if not code.startswith("stage"))
    assert len(wanted_codes(profile, budget, TAXONOMY, NOW, min_weight=1.0, half_life=HALF_LIFE)) == PER_MEMBER


def test_changes_come_in_batches_of_fifty_removals_first() -> None:
    current = {"a": {f"o{n}" for n in range(60)}, "b": {"x"}}
    wanted = {"a": {f"o{n}" for n in range(10, 130)}, "c": {"y"}}
    plan = plan_changes(current, wanted)
    assert all(len(change.openids) <= PER_BATCH for change in plan)
    first_addition = next(i for i, change in enumerate(plan) if change.add)
    assert all(not change.add for change in plan[:first_addition]) and all(c.add for c in plan[first_addition:])
    removed = {(c.code, o) for c in plan if not c.add for o in c.openids}
    added = {(c.code, o) for c in plan if c.add for o in c.openids}
    assert removed == {("a", f"o{n}") for n in range(10)} | {("b", "x")}
    assert added == {("a", f"o{n}") for n in range(60, 130)} | {("c", "y")}
    assert plan_changes(wanted, wanted) == []
    assert TagChange("c", True, ("y",)) in plan
