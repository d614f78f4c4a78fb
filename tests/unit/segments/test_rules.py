"""Segment rules: parsing with every problem's path, readable summaries, evaluation and explanation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from services.segments.domain.rules import (
    MAX_DEPTH,
    All,
    AnyOf,
    MemberFacts,
    Not,
    Predicate,
    RuleInvalid,
    evaluate,
    explain,
    parse_rule,
    summarize,
)
from shared.maternal_infant import Basis

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TAGS = frozenset({"interest.feeding.formula", "interest.toys", "interest.diapers"})

LATE_AND_FORMULA = {
    "all": [
        {"stage_in": ["stage.pregnancy.late"]},
        {"any": [{"has_tag": "interest.feeding.formula"}, {"tag_weight": {"code": "interest.toys", "min": 2}}]},
        {"not": {"spend_tier": ["spend.c"]}},
        {"consent": "marketing"},
    ]
}


def mom(**facts: object) -> MemberFacts:
    base: dict[str, object] = {
        "appid": "wx1",
        "openid": "o_mom",
        "tags": {"interest.feeding.formula": 1.0},
        # Due in 7 weeks: pregnancy week 33, 孕晚期.
        "stage_basis": Basis.DUE_DATE,
        "stage_on": NOW.date() + timedelta(weeks=7),
        "following": True,
        "first_followed_at": NOW - timedelta(days=40),
        "last_active_at": NOW - timedelta(days=2, hours=6),
        "consents": frozenset({"marketing"}),
    }
    return MemberFacts(**(base | facts))  # type: ignore[arg-type]


def test_a_nested_rule_parses_into_its_tree() -> None:
    rule = parse_rule(LATE_AND_FORMULA, TAGS)
    assert isinstance(rule, All) and len(rule.children) == 4
    assert rule.children[0] == Predicate("stage_in", frozenset({"stage.pregnancy.late"}))
    assert isinstance(rule.children[1], AnyOf)
    assert rule.children[1].children[1] == Predicate("tag_weight", ("interest.toys", 2.0))
    assert isinstance(rule.children[2], Not)


@pytest.mark.parametrize(
    ("data", "path", "words"),
    [
        ({"all": []}, "rule.all", "non-empty list"),
        ({"all": [{"has_tag": "interest.nope"}]}, "rule.all[0].has_tag", "not a tag of the taxonomy"),
        ({"any": [{"stage_in": ["stage.teen"]}]}, "rule.any[0].stage_in", "'stage.teen'"),
        ({"pregnancy_week": {"min": 30, "max": 20}}, "rule.pregnancy_week", "min 30 is above max 20"),
        ({"baby_age_months": {"min": -1}}, "rule.baby_age_months.min", "whole number"),
        ({"baby_age_months": {"from": 1}}, "rule.baby_age_months", '"min"'),
        ({"followed_since": "2026-13-01"}, "rule.followed_since", "not a date"),
        ({"active_within_days": True}, "rule.active_within_days", "whole number"),
        ({"invited_at_least": {"count": 0}}, "rule.invited_at_least.count", "from 1"),
        ({"consent": "spam"}, "rule.consent", "marketing"),
        ({"tag_weight": {"code": "interest.toys", "min": "high"}}, "rule.tag_weight.min", "weight"),
        ({"tag_weight": {"code": "interest.toys", "min": 1.25}}, "rule.tag_weight.min", "in tenths"),
        ({"wizard": 1}, "rule", "unknown condition 'wizard'"),
        ({"has_tag": "interest.toys", "consent": "marketing"}, "rule", "exactly one key"),
        ([], "rule", "exactly one key"),
        ({"not": {"not": None}}, "rule.not.not", "exactly one key"),
    ],
)
def test_bad_rules_name_the_path_and_the_problem(data: object, path: str, words: str) -> None:
    with pytest.raises(RuleInvalid) as raised:
        parse_rule(data, TAGS)
    [problem] = raised.value.problems
    assert problem.path == path and words in problem.message


def test_every_problem_is_reported_at_once() -> None:
    data = {"all": [{"has_tag": "x.y"}, {"consent": "nope"}, {"spend_tier": []}]}
    with pytest.raises(RuleInvalid) as raised:
        parse_rule(data, TAGS)
    assert [p.path for p in raised.value.problems] == [
        "rule.all[0].has_tag",
        "rule.all[1].consent",
        "rule.all[2].spend_tier",
    ]


def test_hostile_depth_is_refused_not_recursed_into() -> None:
    data: dict[str, object] = {"has_tag": "interest.toys"}
    for _ in range(MAX_DEPTH + 5):
        data = {"not": data}
    with pytest.raises(RuleInvalid, match="nested deeper"):
        parse_rule(data, TAGS)
    deep: dict[str, object] = {"has_tag": "interest.toys"}
    for _ in range(10_000):  # what a JSON body could hold
        deep = {"any": [deep]}
    with pytest.raises(RuleInvalid, match="nested deeper"):
        parse_rule(deep, TAGS)


def test_summaries_read_in_english_and_chinese() -> None:
    rule = parse_rule(LATE_AND_FORMULA, TAGS)
    names = {"interest.feeding.formula": "奶粉", "interest.toys": "玩具"}
    assert summarize(rule, "en") == (
        "stage is late pregnancy and (has tag interest.feeding.formula or interest.toys weight ≥ 2)"
        " and not (spend tier C) and consented to marketing messages"
    )
    # Named tags read as name and code in both languages (issue 22: one place showed codes, another names).
    assert summarize(rule, "zh", names) == (
        "阶段为孕晚期 且 （有标签「奶粉」(interest.feeding.formula) 或 「玩具」(interest.toys)权重≥2）"
        " 且 非（消费等级C） 且 同意接收营销消息"
    )
    english = {"interest.feeding.formula": "Formula", "interest.toys": "interest.toys"}
    assert summarize(rule, "en", english) == (
        'stage is late pregnancy and (has tag "Formula" (interest.feeding.formula) or interest.toys weight ≥ 2)'
        " and not (spend tier C) and consented to marketing messages"
    )
    assert summarize(rule, "zh") == (  # no names at all: the codes
        "阶段为孕晚期 且 （有标签「interest.feeding.formula」 或 「interest.toys」权重≥2）"
        " 且 非（消费等级C） 且 同意接收营销消息"
    )


def test_a_member_in_the_segment_and_why() -> None:
    rule = parse_rule(LATE_AND_FORMULA, TAGS)
    assert evaluate(rule, mom(), NOW)
    why = explain(rule, mom(), NOW)
    assert why.held and [part.held for part in why.parts] == [True, True, True, True]
    assert why.parts[1].parts[0].summary == "has tag interest.feeding.formula"


@pytest.mark.parametrize(
    ("facts", "failing"),
    [
        ({"stage_basis": Basis.BIRTHDAY, "stage_on": NOW.date() - timedelta(days=40)}, 0),
        ({"tags": {"interest.toys": 1.5}}, 1),
        ({"spend_tier": "spend.c"}, 2),
        ({"consents": frozenset()}, 3),
    ],
)
def test_members_outside_are_told_which_condition_failed(facts: dict[str, object], failing: int) -> None:
    why = explain(parse_rule(LATE_AND_FORMULA, TAGS), mom(**facts), NOW)
    assert not why.held
    assert [index for index, part in enumerate(why.parts) if not part.held] == [failing]


def test_time_based_and_counting_predicates() -> None:
    member = mom(campaigns=frozenset({"c1"}), invites={"c1": 2, "c2": 2})
    checks = {
        json.dumps({"pregnancy_week": {"min": 28, "max": 36}}): True,
        json.dumps({"pregnancy_week": {"min": 34}}): False,
        json.dumps({"stage_in": ["stage.pregnancy.late"]}): True,
        json.dumps({"baby_age_months": {"max": 6}}): False,
        json.dumps({"followed_since": (NOW - timedelta(days=40)).date().isoformat()}): True,
        json.dumps({"followed_before": (NOW - timedelta(days=40)).date().isoformat()}): False,
        json.dumps({"active_within_days": 2}): True,
        json.dumps({"active_within_days": 1}): False,
        json.dumps({"joined_campaign": "c1"}): True,
        json.dumps({"invited_at_least": {"count": 3}}): True,
        json.dumps({"invited_at_least": {"count": 3, "campaign": "c1"}}): False,
        json.dumps({"account": "wx1"}): True,
        json.dumps({"account": "wx2"}): False,
    }
    for text, expected in checks.items():
        assert evaluate(parse_rule(json.loads(text), TAGS), member, NOW) is expected, text


def test_an_unknown_tag_says_where_the_codes_are_listed() -> None:
    with pytest.raises(RuleInvalid) as refused:
        parse_rule({"has_tag": "interest.nope"}, TAGS)
    assert "GET /accounts/{appid}/profiles/taxonomy" in str(refused.value)
