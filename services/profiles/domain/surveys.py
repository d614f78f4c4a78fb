"""Surveys with a lottery: questions whose answers map to tags, and one draw per member per survey.

Pure. Ops define a survey (single or multiple choice, a date, short text), each option naming the tags
it declares; a date question can declare the life stage (a due date or a baby's birthday). Completing
it earns exactly one lottery draw from the survey's prize pool: each prize has a probability and a
stock; the probabilities may sum to less than one (the rest is "no prize"). Stock is the adapter's to
guard atomically; :func:`draw` only picks, a picked prize whose stock has run out means no prize
(never another one: the published odds stay true).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from shared.maternal_infant import Basis, Taxonomy

__all__ = [
    "Answer",
    "Prize",
    "PrizeKind",
    "Question",
    "QuestionKind",
    "Survey",
    "SurveyClosed",
    "SurveyError",
    "SurveyOption",
    "SurveyStatus",
    "draw",
    "member_key",
    "read_answers",
]

_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_QUESTIONS = 30
MAX_OPTIONS = 20
MAX_TEXT_ANSWER = 200


class SurveyError(ValueError):
    """A definition or an answer that breaks a rule; ``field`` names it, dotted (``questions.2.options``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class SurveyClosed(Exception):
    """A closed survey stays closed: its draws are final."""

    def __init__(self) -> None:
        super().__init__("a closed survey stays closed")


def member_key(survey_id: str, appid: str, openid: str) -> str:
    """Names a member's one response to a survey (and their one draw): a second submission meets the first."""
    return f"{survey_id}:{appid}:{openid}"


def _require(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise SurveyError(field, message)


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    DATE = "date"
    TEXT = "text"


class PrizeKind(StrEnum):
    COUPON = "coupon"
    POINTS = "points"


class SurveyStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


@dataclass(frozen=True)
class SurveyOption:
    id: str
    label: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Question:
    id: str
    kind: QuestionKind
    text: str
    options: tuple[SurveyOption, ...] = ()
    required: bool = True
    #: Date questions: the life stage the date declares (a due date or a birthday), if any.
    stage_basis: Basis | None = None


@dataclass(frozen=True)
class Prize:
    id: str
    name: str
    kind: PrizeKind
    probability: float
    stock: int
    #: Points prizes: how many points.
    points: int = 0


@dataclass(frozen=True)
class Survey:
    id: str
    appid: str
    title: str
    questions: tuple[Question, ...]
    prizes: tuple[Prize, ...] = ()
    status: SurveyStatus = SurveyStatus.DRAFT

    def moved_to(self, status: SurveyStatus) -> Survey:
        """The survey in ``status`` (published or closed); SurveyClosed once it is closed."""
        if self.status is SurveyStatus.CLOSED:
            raise SurveyClosed()
        return replace(self, status=status)

    def validate(self, taxonomy: Taxonomy) -> None:
        _require(bool(self.title.strip()) and len(self.title) <= 100, "title", "1-100 characters")
        _require(0 < len(self.questions) <= MAX_QUESTIONS, "questions", f"1-{MAX_QUESTIONS} questions")
        ids = [q.id for q in self.questions]
        _require(len(set(ids)) == len(ids), "questions", "each question id once")
        for index, question in enumerate(self.questions):
            where = f"questions.{index}"
            _require(bool(_ID.match(question.id)), f"{where}.id", "letters, digits, _ or -, at most 32")
            _require(bool(question.text.strip()), f"{where}.text", "must not be blank")
            choice = question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE)
            _require(
                (2 <= len(question.options) <= MAX_OPTIONS) if choice else not question.options,
                f"{where}.options",
                f"2-{MAX_OPTIONS} options for a choice question, none otherwise",
            )
            _require(
                question.stage_basis in (None, Basis.DUE_DATE, Basis.BIRTHDAY)
                and (question.stage_basis is None or question.kind is QuestionKind.DATE),
                f"{where}.stage_basis",
                "only a date question declares a stage: due_date or birthday",
            )
            option_ids = [o.id for o in question.options]
            _require(len(set(option_ids)) == len(option_ids), f"{where}.options", "each option id once")
            for o_index, option in enumerate(question.options):
                _require(bool(_ID.match(option.id)), f"{where}.options.{o_index}.id", "letters, digits, _ or -")
                for code in option.tags:
                    _require(
                        code in taxonomy and not code.startswith("stage"),
                        f"{where}.options.{o_index}.tags",
                        f"{code} is not a (non-stage) tag of the taxonomy",
                    )
        prize_ids = [p.id for p in self.prizes]
        _require(len(set(prize_ids)) == len(prize_ids), "prizes", "each prize id once")
        for index, prize in enumerate(self.prizes):
            where = f"prizes.{index}"
            _require(bool(_ID.match(prize.id)), f"{where}.id", "letters, digits, _ or -")
            _require(0 < prize.probability <= 1, f"{where}.probability", "in (0, 1]")
            _require(0 <= prize.stock <= 1_000_000, f"{where}.stock", "0-1000000")
            _require(
                prize.kind is not PrizeKind.POINTS or prize.points > 0, f"{where}.points", "points prizes give points"
            )
        _require(sum(p.probability for p in self.prizes) <= 1 + 1e-9, "prizes", "probabilities sum to at most 1")


@dataclass(frozen=True)
class Answer:
    """A member's answers, checked: the tags they declare and the stage a date declares."""

    values: Mapping[str, tuple[str, ...]]
    tags: tuple[str, ...] = ()
    stage: tuple[Basis, date] | None = None
    texts: Mapping[str, str] = field(default_factory=dict)


def read_answers(survey: Survey, raw: Mapping[str, Sequence[str]]) -> Answer:
    """The form's fields (question id -> values) checked against the survey; SurveyError names the
    question of the first problem."""
    values: dict[str, tuple[str, ...]] = {}
    tags: list[str] = []
    texts: dict[str, str] = {}
    stage: tuple[Basis, date] | None = None
    for question in survey.questions:
        given = [value.strip() for value in raw.get(question.id, []) if value.strip()]
        where = f"answers.{question.id}"
        if not given:
            _require(not question.required, where, "this question needs an answer")
            continue
        if question.kind is QuestionKind.SINGLE:
            _require(len(given) == 1, where, "choose one")
        if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            options = {option.id: option for option in question.options}
            for value in given:
                _require(value in options, where, f"{value!r} is not one of its options")
                tags.extend(options[value].tags)
        elif question.kind is QuestionKind.DATE:
            _require(len(given) == 1, where, "one date")
            try:
                day = date.fromisoformat(given[0])
            except ValueError:
                raise SurveyError(where, "a date like 2026-11-23") from None
            if question.stage_basis is not None:
                stage = (question.stage_basis, day)
        else:
            _require(
                len(given) == 1 and len(given[0]) <= MAX_TEXT_ANSWER, where, f"at most {MAX_TEXT_ANSWER} characters"
            )
            texts[question.id] = given[0]
        values[question.id] = tuple(dict.fromkeys(given))
    return Answer(values, tuple(dict.fromkeys(tags)), stage, texts)


def draw(prizes: Sequence[Prize], roll: float) -> Prize | None:
    """The prize ``roll`` (uniform in [0, 1)) lands on, by the prizes' probabilities; None: no prize."""
    cumulative = 0.0
    for prize in prizes:
        cumulative += prize.probability
        if roll < cumulative:
            return prize
    return None
