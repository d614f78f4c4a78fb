"""Life stage as of a given day: pregnancy weeks from a due date, age in months from a birthday, and which
declaration counts (declared beats inferred, newest wins)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from shared.maternal_infant import (
    PREGNANCY_WEEKS,
    Basis,
    Confidence,
    LifeStage,
    Stage,
    StageDeclaration,
    current_stage,
    months_between,
    spans_for_age_months,
    spans_for_pregnancy_weeks,
    spans_for_stage,
    stage_of,
)

TODAY = date(2025, 6, 15)


def due(
    on: date, declared_on: date = date(2025, 1, 1), confidence: Confidence = Confidence.DECLARED
) -> StageDeclaration:
    return StageDeclaration(Basis.DUE_DATE, declared_on, on, confidence)


def born(
    on: date, declared_on: date = date(2025, 1, 1), confidence: Confidence = Confidence.DECLARED
) -> StageDeclaration:
    return StageDeclaration(Basis.BIRTHDAY, declared_on, on, confidence)


def preparing(declared_on: date = date(2025, 1, 1)) -> StageDeclaration:
    return StageDeclaration(Basis.PREPARING, declared_on)


def days_to_due(days: int) -> StageDeclaration:
    return due(TODAY + timedelta(days=days))


# -- months_between ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2025, 1, 15), date(2025, 1, 15), 0),
        (date(2025, 1, 15), date(2025, 2, 14), 0),
        (date(2025, 1, 15), date(2025, 2, 15), 1),
        (date(2025, 1, 31), date(2025, 2, 27), 0),
        (date(2025, 1, 31), date(2025, 2, 28), 1),  # February has no 31st: its last day completes the month
        (date(2024, 1, 31), date(2024, 2, 28), 0),  # leap year: the 29th is February's last day
        (date(2024, 1, 31), date(2024, 2, 29), 1),
        (date(2025, 1, 30), date(2025, 2, 28), 1),
        (date(2025, 3, 31), date(2025, 4, 30), 1),
        (date(2025, 1, 31), date(2025, 3, 30), 1),  # March has a 31st: the 30th is not a month-end
        (date(2025, 1, 31), date(2025, 3, 31), 2),
        (date(2024, 2, 29), date(2025, 2, 28), 12),  # a leap-day baby turns one on 28 February
        (date(2024, 12, 15), date(2025, 1, 15), 1),  # across a year end
        (date(2020, 6, 1), date(2025, 6, 1), 60),
        (date(2025, 6, 15), date(2025, 1, 1), 0),  # the end before the start: never negative
    ],
)
def test_months_between_counts_whole_months(start: date, end: date, months: int) -> None:
    assert months_between(start, end) == months


# -- stage_of: pregnancy ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "stage", "week"),
    [
        (PREGNANCY_WEEKS * 7, Stage.EARLY_PREGNANCY, 0),  # exactly 280 days out: week 0
        (280 - 6, Stage.EARLY_PREGNANCY, 0),
        (280 - 7, Stage.EARLY_PREGNANCY, 1),
        (280 - 13 * 7, Stage.EARLY_PREGNANCY, 13),  # first day of week 13
        (280 - 14 * 7 + 1, Stage.EARLY_PREGNANCY, 13),  # last day of week 13
        (280 - 14 * 7, Stage.MID_PREGNANCY, 14),  # first day of week 14
        (280 - 27 * 7, Stage.MID_PREGNANCY, 27),
        (280 - 28 * 7 + 1, Stage.MID_PREGNANCY, 27),
        (280 - 28 * 7, Stage.LATE_PREGNANCY, 28),  # first day of week 28
        (7, Stage.LATE_PREGNANCY, 39),
        (1, Stage.LATE_PREGNANCY, 39),  # the day before the due date
    ],
)
def test_pregnancy_week_is_completed_weeks_from_the_due_date(days: int, stage: Stage, week: int) -> None:
    life = stage_of(days_to_due(days), TODAY)
    assert life == LifeStage(stage, pregnancy_week=week, confidence=Confidence.DECLARED)
    assert life.age_months is None


def test_a_due_date_more_than_280_days_away_is_preparing() -> None:
    life = stage_of(days_to_due(281), TODAY)
    assert life == LifeStage(Stage.PREPARING)
    assert life.pregnancy_week is None
    assert stage_of(days_to_due(400), TODAY).stage is Stage.PREPARING


def test_preparing_has_no_date_and_no_week() -> None:
    life = stage_of(preparing(), TODAY)
    assert life == LifeStage(Stage.PREPARING, confidence=Confidence.DECLARED)
    assert life.pregnancy_week is None
    assert life.age_months is None


def test_on_the_due_date_the_due_date_stands_in_for_the_birthday() -> None:
    life = stage_of(days_to_due(0), TODAY)
    assert life == LifeStage(Stage.BABY_0_6M, age_months=0)
    assert life.pregnancy_week is None


def test_a_member_moves_from_late_pregnancy_to_0_6_months_as_the_due_date_passes() -> None:
    declaration = due(date(2025, 3, 10))
    stages = {day: stage_of(declaration, day) for day in (date(2025, 3, 9), date(2025, 3, 10), date(2025, 3, 11))}
    assert stages[date(2025, 3, 9)] == LifeStage(Stage.LATE_PREGNANCY, pregnancy_week=39)
    assert stages[date(2025, 3, 10)] == LifeStage(Stage.BABY_0_6M, age_months=0)
    assert stages[date(2025, 3, 11)] == LifeStage(Stage.BABY_0_6M, age_months=0)
    # and keeps growing up from the due date with no new data
    assert stage_of(declaration, date(2025, 9, 10)) == LifeStage(Stage.BABY_6_12M, age_months=6)
    assert stage_of(declaration, date(2028, 3, 10)) == LifeStage(Stage.CHILD_3Y_PLUS, age_months=36)


def test_the_stage_carries_the_declarations_confidence() -> None:
    inferred_due = due(TODAY + timedelta(days=100), confidence=Confidence.INFERRED)
    assert stage_of(inferred_due, TODAY).confidence is Confidence.INFERRED
    inferred_birthday = born(date(2025, 1, 1), confidence=Confidence.INFERRED)
    assert stage_of(inferred_birthday, TODAY).confidence is Confidence.INFERRED
    inferred_far = due(TODAY + timedelta(days=300), confidence=Confidence.INFERRED)
    assert stage_of(inferred_far, TODAY) == LifeStage(Stage.PREPARING, confidence=Confidence.INFERRED)


# -- stage_of: baby and child -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birthday", "today", "stage", "months"),
    [
        (date(2025, 6, 15), date(2025, 6, 15), Stage.BABY_0_6M, 0),  # born today
        (date(2025, 1, 15), date(2025, 7, 14), Stage.BABY_0_6M, 5),
        (date(2025, 1, 15), date(2025, 7, 15), Stage.BABY_6_12M, 6),
        (date(2024, 8, 31), date(2025, 2, 27), Stage.BABY_0_6M, 5),
        (date(2024, 8, 31), date(2025, 2, 28), Stage.BABY_6_12M, 6),  # month-end birthday, short month
        (date(2024, 1, 15), date(2025, 1, 14), Stage.BABY_6_12M, 11),
        (date(2024, 1, 15), date(2025, 1, 15), Stage.TODDLER_1_3Y, 12),
        (date(2022, 1, 15), date(2025, 1, 14), Stage.TODDLER_1_3Y, 35),
        (date(2022, 1, 15), date(2025, 1, 15), Stage.CHILD_3Y_PLUS, 36),
        (date(2015, 1, 1), date(2025, 1, 1), Stage.CHILD_3Y_PLUS, 120),
        (date(2025, 8, 1), date(2025, 6, 15), Stage.BABY_0_6M, 0),  # a birthday in the future: not negative
    ],
)
def test_age_stages_by_whole_months(birthday: date, today: date, stage: Stage, months: int) -> None:
    life = stage_of(born(birthday), today)
    assert life == LifeStage(stage, age_months=months)
    assert life.pregnancy_week is None


# -- StageDeclaration -------------------------------------------------------------------------------------


def test_a_declaration_defaults_to_declared_by_the_member() -> None:
    declaration = StageDeclaration(Basis.DUE_DATE, date(2025, 1, 1), date(2025, 9, 1))
    assert declaration.confidence is Confidence.DECLARED
    assert declaration.source == "declared"


@pytest.mark.parametrize("basis", [Basis.DUE_DATE, Basis.BIRTHDAY])
def test_a_due_date_or_birthday_needs_its_date(basis: Basis) -> None:
    with pytest.raises(ValueError, match="needs its date"):
        StageDeclaration(basis, date(2025, 1, 1))


def test_preparing_takes_no_date() -> None:
    with pytest.raises(ValueError, match="'preparing' has none"):
        StageDeclaration(Basis.PREPARING, date(2025, 1, 1), date(2025, 9, 1))


# -- current_stage ----------------------------------------------------------------------------------------


def test_no_declarations_no_stage() -> None:
    assert current_stage([], TODAY) is None


def test_declared_beats_a_newer_inferred_declaration() -> None:
    declared = due(date(2025, 9, 1), declared_on=date(2025, 1, 1))
    inferred = born(date(2025, 5, 1), declared_on=date(2025, 6, 1), confidence=Confidence.INFERRED)
    for order in ([declared, inferred], [inferred, declared]):
        life = current_stage(order, TODAY)
        assert life is not None
        assert life.stage is Stage.LATE_PREGNANCY
        assert life.confidence is Confidence.DECLARED


def test_inferred_counts_when_nothing_is_declared() -> None:
    inferred = born(date(2025, 5, 1), declared_on=date(2025, 6, 1), confidence=Confidence.INFERRED)
    assert current_stage([inferred], TODAY) == LifeStage(Stage.BABY_0_6M, age_months=1, confidence=Confidence.INFERRED)


def test_the_newest_declaration_of_the_same_kind_wins() -> None:
    older = due(date(2025, 9, 1), declared_on=date(2025, 1, 1))
    newer = born(date(2025, 6, 1), declared_on=date(2025, 6, 2))
    newest = preparing(declared_on=date(2025, 6, 10))
    for order in ([older, newer, newest], [newest, older, newer], [newer, newest, older]):
        assert current_stage(order, TODAY) == LifeStage(Stage.PREPARING)
    assert current_stage([newer, older], TODAY) == LifeStage(Stage.BABY_0_6M, age_months=0)


def test_the_newest_inferred_declaration_wins_among_inferred() -> None:
    older = born(date(2024, 1, 1), declared_on=date(2025, 1, 1), confidence=Confidence.INFERRED)
    newer = born(date(2025, 1, 1), declared_on=date(2025, 5, 1), confidence=Confidence.INFERRED)
    life = current_stage([newer, older], TODAY)
    assert life is not None
    assert life.age_months == 5


def test_a_correction_declared_later_the_same_day_wins() -> None:
    """Declarations are dated by day: a member fixing a typo on the H5 page minutes later must be believed.

    Fails today: ``current_stage`` sorts with ``reverse=True``, which keeps equal keys in their original
    order, so the *first* declaration of the day wins over a later correction.
    """
    typo = due(date(2025, 12, 1), declared_on=TODAY)
    corrected = due(date(2025, 9, 1), declared_on=TODAY)
    life = current_stage([typo, corrected], TODAY)  # in the order they were made
    assert life is not None
    assert life.stage is Stage.LATE_PREGNANCY


# -- date spans: stages as ranges of due dates and birthdays, for queries -------------------------------

SPAN_DAYS = [date(2026, 11, 23), date(2027, 1, 31), date(2028, 2, 29), date(2027, 3, 31), date(2026, 12, 31)]


def declarations_around(today: date) -> list[StageDeclaration]:
    """Every due date and birthday from five years back to a year and a half ahead, plus 'preparing'."""
    dates = [today + timedelta(days=offset) for offset in range(-5 * 366, 550)]
    return [
        preparing(),
        *(StageDeclaration(basis, today, on) for on in dates for basis in (Basis.DUE_DATE, Basis.BIRTHDAY)),
    ]


@pytest.mark.parametrize("today", SPAN_DAYS)
def test_each_declaration_falls_in_exactly_the_spans_of_its_stage(today: date) -> None:
    spans = {stage: spans_for_stage(stage, today) for stage in Stage}
    for declaration in declarations_around(today):
        holding = [stage for stage, ranges in spans.items() if any(declaration in span for span in ranges)]
        assert holding == [stage_of(declaration, today).stage], declaration


@pytest.mark.parametrize("today", SPAN_DAYS)
@pytest.mark.parametrize(("first", "last"), [(0, 0), (0, 5), (3, 3), (6, 11), (12, 35), (36, None), (24, 200), (7, 2)])
def test_age_spans_select_exactly_the_children_of_those_ages(today: date, first: int, last: int | None) -> None:
    spans = spans_for_age_months(first, last, today)
    for declaration in declarations_around(today):
        stage = stage_of(declaration, today)
        age = stage.age_months
        expected = age is not None and first <= age and (last is None or age <= last)
        assert any(declaration in span for span in spans) == expected, (declaration, age)


@pytest.mark.parametrize("today", SPAN_DAYS[:2])
@pytest.mark.parametrize(("first", "last"), [(0, 0), (0, 13), (14, 27), (28, 39), (20, 24), (38, 45), (5, 4)])
def test_week_spans_select_exactly_those_pregnancy_weeks(today: date, first: int, last: int) -> None:
    spans = spans_for_pregnancy_weeks(first, last, today)
    for declaration in declarations_around(today):
        week = stage_of(declaration, today).pregnancy_week
        expected = week is not None and first <= week <= last
        assert any(declaration in span for span in spans) == expected, (declaration, week)
