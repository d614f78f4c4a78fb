"""The live membership index agrees with evaluating the rule member by member, as facts change and days
pass; and it answers for members it has never heard of with nothing."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from services.segments.domain.membership import MembershipIndex
from services.segments.domain.rules import MemberFacts, Rule, evaluate, parse_rule
from shared.maternal_infant import Basis

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CODES = ("interest.feeding.formula", "interest.toys", "interest.diapers", "interest.care")


def random_facts(rng: random.Random, n: int) -> MemberFacts:
    basis = rng.choice([None, Basis.PREPARING, Basis.DUE_DATE, Basis.BIRTHDAY])
    on = None if basis in (None, Basis.PREPARING) else NOW.date() + timedelta(days=rng.randrange(-1500, 320))
    followed = None if rng.random() < 0.1 else NOW - timedelta(days=rng.randrange(0, 900), hours=rng.randrange(24))
    return MemberFacts(
        appid=rng.choice(["wx1", "wx2"]),
        openid=f"o{n}",
        tags={code: round(rng.uniform(0.05, 6), 2) for code in rng.sample(CODES, rng.randrange(0, 4))},
        stage_basis=basis,
        stage_on=on,
        following=rng.random() < 0.8,
        first_followed_at=followed,
        last_active_at=None
        if followed is None
        else NOW - timedelta(days=rng.randrange(0, 30), hours=rng.randrange(24)),
        campaigns=frozenset(rng.sample(["c1", "c2", "c3"], rng.randrange(0, 3))),
        invites={campaign: rng.randrange(0, 6) for campaign in rng.sample(["c1", "c2"], rng.randrange(0, 3))},
        spend_tier=rng.choice([None, "spend.a", "spend.b", "spend.c"]),
        consents=frozenset(rng.sample(["marketing", "data_use"], rng.randrange(0, 3))),
    )


RULES = [
    {"has_tag": "interest.toys"},
    {"tag_weight": {"code": "interest.feeding.formula", "min": 2.5}},
    {"tag_weight": {"code": "interest.care", "min": 0.1}},
    {"stage_in": ["stage.pregnancy.late", "stage.baby.0_6m"]},
    {"stage_in": ["stage.preparing"]},
    {"pregnancy_week": {"min": 20, "max": 30}},
    {"baby_age_months": {"min": 6, "max": 18}},
    {"baby_age_months": {"min": 36}},
    {"followed_since": "2026-06-01"},
    {"followed_before": "2025-12-31"},
    {"active_within_days": 2},
    {"joined_campaign": "c2"},
    {"invited_at_least": {"count": 3}},
    {"invited_at_least": {"count": 2, "campaign": "c1"}},
    {"spend_tier": ["spend.a", "spend.b"]},
    {"consent": "marketing"},
    {"account": "wx2"},
    {
        "all": [
            {"any": [{"stage_in": ["stage.pregnancy.late"]}, {"baby_age_months": {"max": 3}}]},
            {"has_tag": "interest.feeding.formula"},
            {"not": {"any": [{"spend_tier": ["spend.c"]}, {"account": "wx1"}]}},
        ]
    },
    {"not": {"all": [{"consent": "marketing"}, {"active_within_days": 7}]}},
]


def check(index: MembershipIndex, members: dict[int, MemberFacts], rule: Rule, now: datetime) -> None:
    expected = {n for n, facts in members.items() if evaluate(rule, facts, now)}
    assert set(index.select(rule, now)) == expected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_index_agrees_with_member_by_member_evaluation_as_facts_change_and_days_pass(seed: int) -> None:
    rng = random.Random(seed)
    index = MembershipIndex()
    members: dict[int, MemberFacts] = {}
    for n in range(1500):
        facts = random_facts(rng, n)
        index.upsert(facts)
        members[index.number(facts.appid, facts.openid)] = facts
    for n in rng.sample(range(1500), 400):  # profile changes: the same member, new facts
        key = index.member(n)
        facts = random_facts(rng, 0)
        facts = MemberFacts(**{**facts.__dict__, "appid": key[0], "openid": key[1]})
        index.upsert(facts)
        members[n] = facts
    rules = [parse_rule(data) for data in RULES]
    for days_later in (0, 1, 31, 200):
        for rule in rules:
            check(index, members, rule, NOW + timedelta(days=days_later))


def test_preview_gives_the_size_and_a_sample_of_members() -> None:
    index = MembershipIndex()
    for n in range(50):
        index.upsert(MemberFacts("wx1", f"o{n}", tags={"interest.toys": 1.0} if n % 5 == 0 else {}))
    preview = index.preview(parse_rule({"has_tag": "interest.toys"}), NOW, sample=3)
    assert preview.size == 10 and preview.sample == (("wx1", "o0"), ("wx1", "o5"), ("wx1", "o10"))
    assert index.preview(parse_rule({"has_tag": "interest.unknown"}), NOW).size == 0
    assert len(index) == 50


def test_reach_splits_the_selected_members_as_the_dispatcher_would_skip_them() -> None:
    index = MembershipIndex()
    for n in range(10):
        following, consents = n < 7, frozenset({"marketing"}) if n < 4 or n == 8 else frozenset()
        index.upsert(MemberFacts("wx1", f"o{n}", tags={"interest.toys": 1.0}, following=following, consents=consents))
    reach = index.reach(index.select(parse_rule({"has_tag": "interest.toys"}), NOW))
    # o0-o3 follow and consent; o4-o6 follow without consent; o7-o9 do not follow (o8's consent does not help).
    assert (reach.matching, reach.reachable, reach.no_consent, reach.not_following) == (10, 4, 3, 3)
    assert reach.skipped == 6
    index.upsert(MemberFacts("wx1", "o0", tags={"interest.toys": 1.0}, following=False))  # unfollowed since
    assert index.reach(index.select(parse_rule({"has_tag": "interest.toys"}), NOW)).reachable == 3


def test_a_removed_tag_or_date_leaves_every_set() -> None:
    index = MembershipIndex()
    index.upsert(
        MemberFacts("wx1", "o1", tags={"interest.toys": 3.0}, stage_basis=Basis.BIRTHDAY, stage_on=date(2026, 10, 1))
    )
    index.upsert(MemberFacts("wx1", "o1"))
    for data in (
        {"has_tag": "interest.toys"},
        {"tag_weight": {"code": "interest.toys", "min": 1}},
        {"baby_age_months": {"max": 2}},
    ):
        assert len(index.select(parse_rule(data), NOW)) == 0
