"""Life stage as of a moment: from a due date (pregnancy week) or a baby's birthday (age in months).

Pure, and computed from the declaration and ``now`` every time rather than stored, so a member moves
from 孕晚期 to 0-6 months on the day the due date passes, with no new data and no batch job. Tests pass
their own ``now``.

Which declaration counts: declared data (the member said so: the H5 page, a survey, a keyword) beats
inferred data (what they buy), and among the same kind of source the newest wins.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "PREGNANCY_WEEKS",
    "Basis",
    "Confidence",
    "LifeStage",
    "Stage",
    "StageDeclaration",
    "current_declaration",
    "current_stage",
    "months_between",
    "stage_of",
]

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
