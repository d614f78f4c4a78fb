"""Segment rules answered two ways over the same profile documents: the live index (filled as the service
fills it) and MongoDB queries (the profiles service's indexes) — the same members, as days pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scrm.bench_segments import BENCH_RULES, synthetic_profiles
from services.profiles.adapters.repository import INDEXES, PROFILES
from services.segments.adapters.profile_documents import NotQueryable, facts_from_profile, rule_filter
from services.segments.domain.membership import MembershipIndex
from services.segments.domain.rules import parse_rule
from shared.storage import ensure_indexes

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MORE_RULES: list[dict[str, Any]] = [
    {"stage_in": ["stage.preparing", "stage.child.3y_plus"]},
    {"pregnancy_week": {"min": 0, "max": 13}},
    {"followed_before": "2025-01-01"},
    {"not": {"consent": "marketing"}},
    {"any": [{"account": "wx_other"}, {"tag_weight": {"code": "interest.toys", "min": 4.5}}]},
]


async def test_the_live_index_and_mongodb_select_the_same_members(database: Any) -> None:
    documents = list(synthetic_profiles(1_500, NOW, seed=5))
    await ensure_indexes(database, INDEXES)
    await database[PROFILES].insert_many(documents)
    index = MembershipIndex()
    async for document in database[PROFILES].find({}):  # as the service fills it at start
        index.upsert(facts_from_profile(document, NOW.date()))
    rules = [parse_rule(data) for data in [*BENCH_RULES.values(), *MORE_RULES]]
    for days_later in (0, 40, 400):
        now = NOW + timedelta(days=days_later)
        for rule in rules:
            members = {index.member(n)[1] for n in index.select(rule, now)}
            found = {doc["openid"] async for doc in database[PROFILES].find(rule_filter(rule, now), {"openid": 1})}
            assert members == found, rule
            assert members or days_later > 0  # today, no rule is trivially empty
    with pytest.raises(NotQueryable):
        rule_filter(parse_rule({"joined_campaign": "c1"}), NOW)
