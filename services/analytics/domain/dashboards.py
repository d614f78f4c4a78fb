"""What the dashboards show, computed from rollup counters: date ranges and the period before them,
totals and their change, daily series with every day present, the campaign funnel with invitee
retention, and the CSV the console downloads. Pure: the service layer reads the rollups and calls these.

A rollup is one account's counters for one scope (``account``, ``campaign:<id>``, ``push:<id>``,
``project:<id>``) on one Beijing day; metric names carry their dimensions after ``:``
(``follows:poster``, ``failed:45009``, ``delivered:v:A``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.tabular import csv_text

__all__ = [
    "BEIJING",
    "DEFAULT_DAYS",
    "FUNNEL_STEPS",
    "MAX_DAYS",
    "RETENTION_WINDOWS",
    "Change",
    "Counters",
    "DayRange",
    "Figure",
    "RangeInvalid",
    "Rollup",
    "Table",
    "beijing_today",
    "by_day",
    "by_scope",
    "change",
    "csv_document",
    "dimension",
    "funnel",
    "month_to_date",
    "ratio",
    "resolve_range",
    "retention",
    "series",
    "sum_counters",
    "sum_days",
    "tier_reached",
    "tiers",
    "within",
]

BEIJING = ZoneInfo("Asia/Shanghai")
#: Without ``from``, a range ends today and covers this many days.
DEFAULT_DAYS = 30
#: The longest range one request may ask for (a year and a bit, to compare a year with the last).
MAX_DAYS = 400
#: Invitee retention windows, in days after the credit.
RETENTION_WINDOWS = (7, 30)

Counters = Mapping[str, int]
Figure = int | float | None


@dataclass(frozen=True)
class Rollup:
    """One rollup document: an account's counters for one scope on one Beijing day (``YYYY-MM-DD``)."""

    scope: str
    day: str
    counters: Counters


class RangeInvalid(ValueError):
    """A ``from``/``to`` that cannot be answered; ``field`` names the query parameter at fault."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class DayRange:
    """Beijing days ``start`` to ``end``, both included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def first(self) -> str:
        return self.start.isoformat()

    @property
    def last(self) -> str:
        return self.end.isoformat()

    def previous(self) -> DayRange:
        """The range of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return DayRange(end - timedelta(days=self.days - 1), end)

    def each_day(self) -> list[str]:
        return [(self.start + timedelta(days=n)).isoformat() for n in range(self.days)]

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.first, "to": self.last, "days": self.days}


def beijing_today(now: datetime) -> date:
    return now.astimezone(BEIJING).date()


def resolve_range(start: date | None, end: date | None, today: date) -> DayRange:
    """The range a request asks for: ``to`` defaults to today, ``from`` to ``DEFAULT_DAYS`` days before
    ``to``. A range that starts after it ends, ends after today, or is longer than ``MAX_DAYS`` is refused."""
    last = end or today
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    if last > today:
        raise RangeInvalid("to", f"to is after today ({today.isoformat()}, Beijing)")
    if first > last:
        raise RangeInvalid("from", "from is after to")
    if (last - first).days + 1 > MAX_DAYS:
        raise RangeInvalid("from", f"the range is longer than {MAX_DAYS} days")
    return DayRange(first, last)


def month_to_date(today: date) -> DayRange:
    """This Beijing month up to and including today."""
    return DayRange(today.replace(day=1), today)


def sum_counters(rollups: Iterable[Rollup]) -> dict[str, int]:
    total: dict[str, int] = {}
    for rollup in rollups:
        for metric, value in rollup.counters.items():
            total[metric] = total.get(metric, 0) + value
    return total


def by_day(rollups: Iterable[Rollup]) -> dict[str, dict[str, int]]:
    """Counters summed per day (over every scope read)."""
    days: dict[str, dict[str, int]] = {}
    for rollup in rollups:
        found = days.get(rollup.day)
        if found is None:
            days[rollup.day] = dict(rollup.counters)
            continue
        for metric, value in rollup.counters.items():
            found[metric] = found.get(metric, 0) + value
    return days


def by_scope(rollups: Iterable[Rollup]) -> dict[str, list[Rollup]]:
    scopes: dict[str, list[Rollup]] = {}
    for rollup in rollups:
        scopes.setdefault(rollup.scope, []).append(rollup)
    return scopes


def within(rollups: Iterable[Rollup], days: DayRange) -> list[Rollup]:
    return [rollup for rollup in rollups if days.first <= rollup.day <= days.last]


def dimension(counters: Counters, metric: str) -> dict[str, int]:
    """The ``<metric>:<value>`` counters as ``{value: count}``, largest first (``follows`` → by source)."""
    prefix = f"{metric}:"
    found = {name[len(prefix) :]: value for name, value in counters.items() if name.startswith(prefix) and value}
    return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` to four decimals, or None when there is nothing to divide by."""
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Change:
    delta: int | float | None
    percent: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"delta": self.delta, "percent": self.percent}


def _change(current: Figure, previous: Figure) -> Change:
    if current is None or previous is None:
        return Change(None, None)
    delta = current - previous
    if isinstance(delta, float):
        delta = round(delta, 4)
    percent = round(delta / previous * 100, 1) if previous else None
    return Change(delta, percent)


def change(current: Mapping[str, Figure], previous: Mapping[str, Figure]) -> dict[str, dict[str, Any]]:
    """Per figure: the difference from the previous period, and that difference in percent of it
    (None when the previous period had none: no percentage of zero)."""
    return {name: _change(value, previous.get(name)).as_dict() for name, value in current.items()}


def series(
    days: DayRange, daily: Mapping[str, Counters], figures: Callable[[Counters], Mapping[str, Figure]]
) -> list[dict[str, Any]]:
    """One entry per day of the range, in order, days without rollups as zeros."""
    return [{"day": day, **figures(daily.get(day, {}))} for day in days.each_day()]


# -- the campaign funnel ---------------------------------------------------------------------------

FUNNEL_STEPS = (
    "poster_sent",
    "poster_scans",
    "poster_follows",
    "credited",
    "retained_7d",
    "retained_30d",
    "tier_reached",
    "rewards",
)


def tiers(counters: Counters) -> dict[int, int]:
    """Participants who reached each tier (``tier:<n>``), by tier."""
    found = {int(name): value for name, value in dimension(counters, "tier").items() if name.isdigit()}
    return dict(sorted(found.items()))


def tier_reached(counters: Counters) -> int:
    """Participants who reached any tier: each reaches the lowest tier first, so the largest of the
    per-tier counts, never their sum (someone at tier 2 is also counted at tier 1)."""
    return max(tiers(counters).values(), default=0)


def cohort_days(days: DayRange, today: date, window: int) -> DayRange | None:
    """The credit days of ``days`` whose ``window``-day retention window has closed by ``today``: an
    invitee credited late on day d is watched until d + window, so the day counts once
    d + window < today. None when no day of the range is that old yet."""
    last = min(days.end, today - timedelta(days=window + 1))
    if last < days.start:
        return None
    return DayRange(days.start, last)


def retention(daily: Mapping[str, Counters], days: DayRange, today: date, window: int) -> dict[str, Any]:
    """Credited invitees still following ``window`` days after their credit, over the cohort days
    whose window has closed: ``credited - invitees_lost_<window>d`` of those days."""
    cohort = cohort_days(days, today, window)
    if cohort is None:
        return {"window_days": window, "cohort": None, "credited": 0, "retained": 0, "rate": None}
    counters = sum_days(daily, cohort)
    credited = counters.get("credited", 0)
    retained = max(0, credited - counters.get(f"invitees_lost_{window}d", 0))
    return {
        "window_days": window,
        "cohort": cohort.as_dict(),
        "credited": credited,
        "retained": retained,
        "rate": ratio(retained, credited),
    }


def sum_days(daily: Mapping[str, Counters], days: DayRange) -> dict[str, int]:
    """The counters of the days of ``days`` in ``daily`` (counters by day), summed."""
    total: dict[str, int] = {}
    for day in days.each_day():
        for metric, value in daily.get(day, {}).items():
            total[metric] = total.get(metric, 0) + value
    return total


def funnel(daily: Mapping[str, Counters], days: DayRange, today: date) -> list[dict[str, Any]]:
    """The referral funnel of a campaign over ``days``.

    Each step has its count, its conversion from the step before and from the first step. The two
    retention steps are measured on the credit days whose window has closed (``cohort``), and compared
    with what those same days credited (retained_7d) and kept for 7 days (retained_30d); the steps after
    them (tier reached, rewards) are compared with the whole range's credits again.
    """
    totals = sum_days(daily, days)
    week, month = (retention(daily, days, today, window) for window in RETENTION_WINDOWS)
    month_cohort = cohort_days(days, today, RETENTION_WINDOWS[1])
    kept_a_week_of_month_cohort = 0
    if month_cohort is not None:
        counters = sum_days(daily, month_cohort)
        kept_a_week_of_month_cohort = max(0, counters.get("credited", 0) - counters.get("invitees_lost_7d", 0))
    counts: dict[str, int] = {
        "poster_sent": totals.get("poster_sent", 0),
        "poster_scans": totals.get("poster_scans", 0),
        "poster_follows": totals.get("poster_follows", 0),
        "credited": totals.get("credited", 0),
        "retained_7d": week["retained"],
        "retained_30d": month["retained"],
        "tier_reached": tier_reached(totals),
        "rewards": totals.get("rewards", 0),
    }
    # What each step is compared with: the step before, except where the text above says otherwise.
    base: dict[str, int] = {
        "poster_scans": counts["poster_sent"],
        "poster_follows": counts["poster_scans"],
        "credited": counts["poster_follows"],
        "retained_7d": week["credited"],
        "retained_30d": kept_a_week_of_month_cohort,
        "tier_reached": counts["credited"],
        "rewards": counts["tier_reached"],
    }
    first = counts["poster_sent"]
    steps: list[dict[str, Any]] = []
    for name in FUNNEL_STEPS:
        step: dict[str, Any] = {
            "step": name,
            "count": counts[name],
            "from_previous": ratio(counts[name], base[name]) if name in base else None,
            "from_first": ratio(counts[name], first),
        }
        if name == "retained_7d":
            step["cohort"] = week["cohort"]
        elif name == "retained_30d":
            step["cohort"] = month["cohort"]
        steps.append(step)
    return steps


# -- CSV -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """One section of a CSV download: a title line, a header and rows."""

    title: str
    header: Sequence[str]
    rows: Sequence[Sequence[Any]]

    @classmethod
    def of(cls, title: str, entries: Sequence[Mapping[str, Any]], header: Sequence[str] | None = None) -> Table:
        """A table from dicts that share their keys (the first entry's, unless ``header`` is given)."""
        columns = list(header) if header is not None else (list(entries[0]) if entries else [])
        return cls(title, columns, [[entry.get(column) for column in columns] for entry in entries])


def _lines(tables: Sequence[Table]) -> Iterator[Sequence[Any]]:
    for n, table in enumerate(tables):
        if n:
            yield []
        yield [table.title]
        yield list(table.header)
        yield from table.rows


def csv_document(tables: Sequence[Table]) -> str:
    """The tables one after another, each under its title and separated by an empty line. Starts with a
    byte order mark so Excel reads it as UTF-8 (Chinese names stay readable)."""
    return csv_text(_lines(tables))  # every cell neutralised: no name ever runs as a formula
