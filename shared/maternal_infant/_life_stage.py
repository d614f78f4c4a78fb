"""Life stage as of a moment: from a due date (pregnancy week) or a baby's birthday (age in months).

Pure, and computed from the declaration and ``now`` every time rather than stored, so a member moves
from 孕晚期 to 0-6 months on the day the due date passes, with no new data and no batch job. Tests pass
their own ``now``.

Stored profiles keep the declaration that counts (it does not depend on the day); :func:`spans_for_stage`
and its siblings turn "in 孕晚期 today" or "6-11 months old today" into ranges of due dates and birthdays,
so a database can count and select members by stage with an index instead of reading every profile.

Which declaration counts: declared data (the member said so: the H5 page, a survey, a keyword) beats
inferred data (what they buy), and among the same kind of source the newest wins.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

#: A pregnancy is counted as 40 weeks from the last period to the due date.
PREGNANCY_WEEKS = 40
#: A due date further out than this is not a pregnancy yet: the member is preparing (备孕).
_PREPARING_BEYOND_DAYS = PREGNANCY_WEEKS * 7


class Stage(StrEnum):
    """Stable codes (they are tag codes too); the zh-CN names are the taxonomy's."""

    PREPARING = "stage.preparing"  # 备孕
    EARLY_PREGNANCY = "stage.pregnancy.early"  # 孕早期, weeks 1-13
    MID_PREGNANCY = "stage.pregnancy.mid"  # 孕中期, weeks 14-27
    LATE_PREGNANCY = "stage.pregnancy.late"  # 孕晚期, weeks 28 to birth
    BABY_0_6M = "stage.baby.0_6m"
    BABY_6_12M = "stage.baby.6_12m"
    TODDLER_1_3Y = "stage.child.1_3y"
    CHILD_3Y_PLUS = "stage.child.3y_plus"


class Basis(StrEnum):
    DUE_DATE = "due_date"
    BIRTHDAY = "birthday"
    PREPARING = "preparing"


class Confidence(StrEnum):
    DECLARED = "declared"  # the member said so (H5 page, survey, keyword)
    INFERRED = "inferred"  # read from behaviour (what they buy)


@dataclass(frozen=True)
class StageDeclaration:
    """One statement about the member's stage: a due date, a birthday, or "preparing" (no date)."""

    basis: Basis
    declared_on: date
    on: date | None = None
    confidence: Confidence = Confidence.DECLARED
    source: str = "declared"

    def __post_init__(self) -> None:
        if (self.basis is Basis.PREPARING) != (self.on is None):
            raise ValueError("a due date or birthday needs its date; 'preparing' has none")


@dataclass(frozen=True)
class LifeStage:
    stage: Stage
    #: Completed pregnancy weeks (pregnancy stages).
    pregnancy_week: int | None = None
    #: Completed months of age (baby and child stages).
    age_months: int | None = None
    confidence: Confidence = Confidence.DECLARED


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (a baby born on the 31st is one month old on the 30th or
    31st of the next month, whichever that month has)."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day and not _last_day_of_month(end):
        months -= 1
    return max(0, months)


def _last_day_of_month(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def _baby(birthday: date, today: date, confidence: Confidence) -> LifeStage:
    age = months_between(birthday, today)
    if age < 6:
        stage = Stage.BABY_0_6M
    elif age < 12:
        stage = Stage.BABY_6_12M
    elif age < 36:
        stage = Stage.TODDLER_1_3Y
    else:
        stage = Stage.CHILD_3Y_PLUS
    return LifeStage(stage, age_months=age, confidence=confidence)


def stage_of(declaration: StageDeclaration, today: date) -> LifeStage:
    """The stage ``declaration`` implies on ``today``."""
    confidence = declaration.confidence
    if declaration.basis is Basis.PREPARING or declaration.on is None:
        return LifeStage(Stage.PREPARING, confidence=confidence)
    if declaration.basis is Basis.BIRTHDAY:
        return _baby(declaration.on, today, confidence)
    days_to_due = (declaration.on - today).days
    if days_to_due <= 0:  # born (as far as anyone told us): the due date stands in for the birthday
        return _baby(declaration.on, today, confidence)
    if days_to_due > _PREPARING_BEYOND_DAYS:
        return LifeStage(Stage.PREPARING, confidence=confidence)
    week = (_PREPARING_BEYOND_DAYS - days_to_due) // 7  # completed weeks: 孕N周
    if week <= 13:
        stage = Stage.EARLY_PREGNANCY
    elif week <= 27:
        stage = Stage.MID_PREGNANCY
    else:
        stage = Stage.LATE_PREGNANCY
    return LifeStage(stage, pregnancy_week=week, confidence=confidence)


def current_declaration(declarations: Iterable[StageDeclaration]) -> StageDeclaration | None:
    """The declaration that counts: declared beats inferred, then the newest; among one day's, the one
    made last (a correction minutes later)."""
    ranked = sorted(declarations, key=lambda d: (d.confidence is Confidence.DECLARED, d.declared_on))
    return ranked[-1] if ranked else None


def current_stage(declarations: Iterable[StageDeclaration], today: date) -> LifeStage | None:
    """The stage on ``today`` from the declaration that counts."""
    counting = current_declaration(declarations)
    return None if counting is None else stage_of(counting, today)


@dataclass(frozen=True)
class DateSpan:
    """Declarations on ``basis`` whose date lies in ``after < on <= through`` (None: unbounded).

    For :attr:`Basis.PREPARING` both bounds are None: those declarations carry no date.
    """

    basis: Basis
    after: date | None = None
    through: date | None = None

    def __contains__(self, declaration: object) -> bool:
        if not isinstance(declaration, StageDeclaration) or declaration.basis is not self.basis:
            return False
        on = declaration.on
        if on is None:
            return self.after is None and self.through is None
        return (self.after is None or on > self.after) and (self.through is None or on <= self.through)


def spans_for_pregnancy_weeks(first: int, last: int, today: date) -> list[DateSpan]:
    """Due dates that put a member in completed pregnancy weeks ``first``..``last`` on ``today``."""
    first, last = max(0, first), min(last, PREGNANCY_WEEKS - 1)
    if first > last:
        return []
    # week = (280 - days_to_due) // 7 with days_to_due in 1..280.
    nearest = max(0, _PREPARING_BEYOND_DAYS - 7 * (last + 1))
    furthest = _PREPARING_BEYOND_DAYS - 7 * first
    return [DateSpan(Basis.DUE_DATE, today + timedelta(days=nearest), today + timedelta(days=furthest))]


def spans_for_age_months(first: int, last: int | None, today: date) -> list[DateSpan]:
    """Birthdays (and due dates now past, which stand in for them) that make a child ``first``..``last``
    completed months old on ``today``; ``last`` None is no upper limit."""
    first = max(0, first)
    if last is not None and first > last:
        return []
    # Age only grows as the birthday moves back, so each end is the last day before a boundary.
    oldest = None if last is None else _last_day(lambda day: months_between(day, today) > last, today)
    youngest = _last_day(lambda day: months_between(day, today) >= first, today) if first > 0 else None
    # A future birthday (never accepted; an inferred one might round) reads as age 0, as in stage_of;
    # a due date counts once it has passed.
    due_through = today if youngest is None else min(youngest, today)
    return [DateSpan(Basis.BIRTHDAY, oldest, youngest), DateSpan(Basis.DUE_DATE, oldest, due_through)]


def spans_for_stage(stage: Stage, today: date) -> list[DateSpan]:
    """The declarations that put a member in ``stage`` on ``today``, as date spans per basis."""
    if stage is Stage.PREPARING:
        return [DateSpan(Basis.PREPARING), DateSpan(Basis.DUE_DATE, today + timedelta(days=_PREPARING_BEYOND_DAYS))]
    weeks = {Stage.EARLY_PREGNANCY: (0, 13), Stage.MID_PREGNANCY: (14, 27), Stage.LATE_PREGNANCY: (28, 39)}
    if stage in weeks:
        return spans_for_pregnancy_weeks(*weeks[stage], today)
    months: dict[Stage, tuple[int, int | None]] = {
        Stage.BABY_0_6M: (0, 5),
        Stage.BABY_6_12M: (6, 11),
        Stage.TODDLER_1_3Y: (12, 35),
        Stage.CHILD_3Y_PLUS: (36, None),
    }
    return spans_for_age_months(*months[stage], today)


def _last_day(holds: Callable[[date], bool], today: date) -> date:
    """The latest day on or before ``today`` for which ``holds`` is true, given that it then holds for
    every earlier day too (a binary search over 150 years)."""
    if holds(today):
        return today
    low, high = today.toordinal() - 366 * 150, today.toordinal()
    while high - low > 1:  # holds(low), not holds(high)
        middle = (low + high) // 2
        if holds(date.fromordinal(middle)):
            low = middle
        else:
            high = middle
    return date.fromordinal(low)
