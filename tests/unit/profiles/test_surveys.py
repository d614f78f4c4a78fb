"""Survey definitions, answers and the lottery pick (pure)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import pytest

from services.profiles.domain.surveys import (
    Prize,
    PrizeKind,
    Question,
    QuestionKind,
    Survey,
    SurveyError,
    SurveyOption,
    draw,
    read_answers,
)
from shared.maternal_infant import DEFAULT_TAXONOMY, Basis, parse_taxonomy

TAXONOMY = parse_taxonomy(json.loads(DEFAULT_TAXONOMY.read_text(encoding="utf-8")))
FEEDING = Question(
    "feeding",
    QuestionKind.SINGLE,
    "怎么喂养？",
    (SurveyOption("formula", "奶粉", ("interest.feeding.formula",)), SurveyOption("breast", "母乳", ())),
)
CARE = Question(
    "care",
    QuestionKind.MULTIPLE,
    "关心什么？",
    (SurveyOption("bath", "洗浴", ("interest.care.bath",)), SurveyOption("toys", "玩具", ("interest.toys",))),
    required=False,
)
BIRTHDAY = Question("birthday", QuestionKind.DATE, "宝宝生日", stage_basis=Basis.BIRTHDAY)
SURVEY = Survey(
    "s1",
    "wx1",
    "小调查",
    (FEEDING, CARE, BIRTHDAY),
    (Prize("a", "10元券", PrizeKind.COUPON, 0.1, 10), Prize("p", "积分", PrizeKind.POINTS, 0.3, 100, points=50)),
)


def test_a_valid_survey_passes() -> None:
    SURVEY.validate(TAXONOMY)


UNKNOWN_TAG = (SurveyOption("x", "x", ("interest.no",)), SurveyOption("y", "y"))
STAGE_TAG = (SurveyOption("x", "x", ("stage.baby",)), SurveyOption("y", "y"))


@pytest.mark.parametrize(
    ("survey", "field"),
    [
        (replace(SURVEY, title=" "), "title"),
        (replace(SURVEY, questions=()), "questions"),
        (replace(SURVEY, questions=(FEEDING, FEEDING)), "questions"),
        (replace(SURVEY, questions=(replace(FEEDING, options=FEEDING.options[:1]),)), "questions.0.options"),
        (replace(SURVEY, questions=(replace(BIRTHDAY, options=FEEDING.options),)), "questions.0.options"),
        (replace(SURVEY, questions=(replace(FEEDING, stage_basis=Basis.BIRTHDAY),)), "questions.0.stage_basis"),
        (replace(SURVEY, questions=(replace(FEEDING, options=STAGE_TAG),)), "questions.0.options.0.tags"),
        (replace(SURVEY, questions=(replace(FEEDING, options=UNKNOWN_TAG),)), "questions.0.options.0.tags"),
        (replace(SURVEY, prizes=(replace(SURVEY.prizes[0], probability=0.0),)), "prizes.0.probability"),
        (replace(SURVEY, prizes=(replace(SURVEY.prizes[0], probability=0.8), SURVEY.prizes[1])), "prizes"),
        (replace(SURVEY, prizes=(replace(SURVEY.prizes[1], points=0),)), "prizes.0.points"),
        (replace(SURVEY, prizes=(replace(SURVEY.prizes[0], stock=-1),)), "prizes.0.stock"),
    ],
)
def test_broken_definitions_name_the_field(survey: Survey, field: str) -> None:
    with pytest.raises(SurveyError) as caught:
        survey.validate(TAXONOMY)
    assert caught.value.field == field


def test_answers_become_tags_and_a_stage() -> None:
    answer = read_answers(
        SURVEY, {"feeding": ["formula"], "care": ["bath", "toys", "bath"], "birthday": ["2026-08-01"]}
    )
    assert answer.tags == ("interest.feeding.formula", "interest.care.bath", "interest.toys")
    assert answer.stage == (Basis.BIRTHDAY, date(2026, 8, 1))
    assert answer.values["care"] == ("bath", "toys")


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"birthday": ["2026-08-01"]}, "answers.feeding"),  # required
        ({"feeding": ["formula", "breast"], "birthday": ["2026-08-01"]}, "answers.feeding"),  # single: one
        ({"feeding": ["cola"], "birthday": ["2026-08-01"]}, "answers.feeding"),
        ({"feeding": ["formula"], "birthday": ["soon"]}, "answers.birthday"),
    ],
)
def test_unusable_answers_name_the_question(raw: dict[str, list[str]], field: str) -> None:
    with pytest.raises(SurveyError) as caught:
        read_answers(SURVEY, raw)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("roll", "prize"),
    [(0.0, "a"), (0.0999, "a"), (0.1, "p"), (0.3999, "p"), (0.4, None), (0.9999, None)],
)
def test_the_draw_follows_the_probabilities(roll: float, prize: str | None) -> None:
    won = draw(SURVEY.prizes, roll)
    assert (won.id if won else None) == prize


def test_the_draw_is_fair_over_many_rolls() -> None:
    rolls = [n / 10_000 for n in range(10_000)]
    won = [draw(SURVEY.prizes, roll) for roll in rolls]
    assert sum(1 for p in won if p and p.id == "a") == 1000
    assert sum(1 for p in won if p and p.id == "p") == 3000
