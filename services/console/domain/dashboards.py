"""What the dashboards show: the date range chosen (presets, the previous period), changes against
the previous period, and the analytics API's figures shaped for tiles, tables and charts. Pure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from services.console.domain.formatting import BEIJING
from services.console.domain.messages import N_

__all__ = [
    "FUNNEL_STEPS",
    "MAX_DAYS",
    "PRESETS",
    "SOURCE_LABELS",
    "WAIT_BUCKETS",
    "Change",
    "DateRange",
    "RangeChoice",
    "beijing_today",
    "change",
    "chart",
    "choose_range",
    "csv_sections",
    "daily_chart",
    "day_series",
    "has_any",
    "rate",
    "same_days_last_month",
    "series",
]

#: The analytics API answers at most this many days at once (longer is its 422).
MAX_DAYS = 400

#: Preset key → label; "month" is this Beijing month up to today.
PRESETS: dict[str, str] = {
    "7d": N_("Last 7 days"),
    "30d": N_("Last 30 days"),
    "90d": N_("Last 90 days"),
    "month": N_("This month"),
}

#: How a member came to follow (the follow's scene): see docs/analytics.md.
SOURCE_LABELS: dict[str, str] = {
    "poster": N_("Invitation posters"),
    "campaign_code": N_("Campaign join codes"),
    "qr": N_("Other QR codes"),
    "direct": N_("Search and other"),
    "unknown": N_("Unknown"),
}

#: The referral funnel, in order: API step key → label.
FUNNEL_STEPS: dict[str, str] = {
    "poster_sent": N_("Posters sent"),
    "poster_scans": N_("Posters scanned"),
    "poster_follows": N_("Followed by scanning"),
    "credited": N_("Invites credited"),
    "retained_7d": N_("Still following after 7 days"),
    "retained_30d": N_("Still following after 30 days"),
    "tier_reached": N_("Reached a tier"),
    "rewards": N_("Rewards granted"),
}

#: Reviewer decisions by how long the screenshot waited.
WAIT_BUCKETS: dict[str, str] = {
    "lt1h": N_("Under 1 hour"),
    "lt4h": N_("1 to 4 hours"),
    "lt24h": N_("4 to 24 hours"),
    "ge24h": N_("24 hours or more"),
}


def beijing_today(now: datetime) -> date:
    return now.astimezone(BEIJING).date()


@dataclass(frozen=True)
class DateRange:
    """Beijing days, both ends included."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> DateRange:
        """The same number of days right before."""
        end = self.start - timedelta(days=1)
        return DateRange(end - timedelta(days=self.days - 1), end)

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]

    def params(self) -> dict[str, str]:
        """The analytics API's query (and the console's own links)."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


@dataclass(frozen=True)
class RangeChoice:
    """What the range control shows: the range, which preset it is (if any), and a problem with what
    was typed (field → message id), in which case the range is the default one."""

    range: DateRange
    preset: str
    errors: Mapping[str, str]

    def query(self) -> str:
        return f"from={self.range.start.isoformat()}&to={self.range.end.isoformat()}"


def preset_range(key: str, today: date) -> DateRange:
    if key == "month":
        return DateRange(today.replace(day=1), today)
    days = int(key.removesuffix("d"))
    return DateRange(today - timedelta(days=days - 1), today)


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def choose_range(start: str, end: str, preset: str, today: date) -> RangeChoice:
    """The range from the control: a preset wins; otherwise ``from``/``to`` (either may be left empty:
    30 days up to ``to``, or up to today); problems fall back to the last 30 days, naming the field."""
    if preset in PRESETS:
        return RangeChoice(preset_range(preset, today), preset, {})
    errors: dict[str, str] = {}
    first = _parse_day(start) if start else None
    last = _parse_day(end) if end else today
    if start and first is None:
        errors["from"] = N_("Enter a date as YYYY-MM-DD.")
    if last is None:
        errors["to"] = N_("Enter a date as YYYY-MM-DD.")
    if not errors and last is not None:
        first = first or last - timedelta(days=29)
        if last > today:
            errors["to"] = N_("The end cannot be after today (Beijing time).")
        elif first > last:
            errors["from"] = N_("The start must not be after the end.")
        elif (last - first).days + 1 > MAX_DAYS:
            errors["to"] = N_("At most 400 days at once.")
        else:
            chosen = DateRange(first, last)
            same = next((key for key in PRESETS if preset_range(key, today) == chosen), "")
            return RangeChoice(chosen, same, {})
    return RangeChoice(preset_range("30d", today), "30d", errors)


@dataclass(frozen=True)
class Change:
    """A figure against the previous period: the difference and, when the previous is not zero, the
    ratio. A figure that is None (a rate with nothing to divide) has neither."""

    value: float | None
    previous: float | None

    @property
    def delta(self) -> float | None:
        return None if self.value is None or self.previous is None else self.value - self.previous

    @property
    def ratio(self) -> float | None:
        delta = self.delta
        return None if delta is None or not self.previous else delta / self.previous

    @property
    def direction(self) -> str:
        delta = self.delta
        return "flat" if not delta else ("up" if delta > 0 else "down")


def same_days_last_month(today: date) -> DateRange:
    """Last month's first days, as many as this month has had up to today (the 31st of a month
    compared with a 30-day month stops at its 30th)."""
    last_month_end = today.replace(day=1) - timedelta(days=1)
    start = last_month_end.replace(day=1)
    return DateRange(start, min(start + timedelta(days=today.day - 1), last_month_end))


def change(value: Any, previous: Any) -> Change:
    return Change(None if value is None else _number(value), None if previous is None else _number(previous))


def rate(part: Any, whole: Any) -> float | None:
    """``part / whole``; None when there is no whole (shown as a dash, never as 0%)."""
    whole_n = _number(whole)
    return _number(part) / whole_n if whole_n else None


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return value


def day_series(rows: Iterable[Mapping[str, Any]], days: Sequence[date], key: str, *, rates: bool = False) -> list[Any]:
    """One figure per day of ``days`` from rows like ``{"day": "2026-01-01", key: n}``: 0 on a day the
    rows lack, or, for ``rates``, None there and where the rate is None (a gap, never 0%)."""
    if rates:
        found = {str(row.get("day")): row.get(key) for row in rows}
        return [found.get(day.isoformat()) for day in days]
    by_day = {str(row.get("day")): _number(row.get(key)) for row in rows}
    return [by_day.get(day.isoformat(), 0) for day in days]


# -- charts: specs for static/dashboards.js ---------------------------------------------------------


def series(
    name: str,
    data: Sequence[Any],
    *,
    dashed: bool = False,
    colour: int | None = None,
    stack: str | None = None,
    axis: int = 0,
    kind: str | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "data": list(data), "dashed": dashed, "axis": axis}
    if colour is not None:
        spec["colour"] = colour
    if stack:
        spec["stack"] = stack
    if kind:
        spec["type"] = kind
    return spec


def chart(
    kind: str, x: Sequence[str], all_series: Sequence[Mapping[str, Any]], *, percent: bool = False
) -> dict[str, Any]:
    return {"type": kind, "x": list(x), "series": list(all_series), "percent": percent}


def daily_chart(
    kind: str,
    chosen: DateRange,
    rows: Iterable[Mapping[str, Any]],
    previous_rows: Iterable[Mapping[str, Any]] | None,
    metrics: Sequence[tuple[str, str]],
    *,
    previous_label: str = "%(name)s (previous period)",
    stack: str | None = None,
    percent: bool = False,
) -> dict[str, Any]:
    """One series per metric over the range's days and, when ``previous_rows`` are given, the previous
    period's as dashed lines day by day (its first day under the range's first day). ``metrics`` are
    (key, shown name); ``previous_label`` is the translated pattern of a previous series' name;
    ``percent``: the figures are rates (fractions), drawn as percentages with gaps where None."""
    rows, days = list(rows), chosen.each_day()
    shown = [
        series(name, day_series(rows, days, key, rates=percent), colour=index, stack=stack)
        for index, (key, name) in enumerate(metrics)
    ]
    if previous_rows is not None:
        before, earlier = list(previous_rows), chosen.previous().each_day()
        shown += [
            series(
                previous_label % {"name": name},
                day_series(before, earlier, key, rates=percent),
                dashed=True,
                colour=index,
                kind="line",
            )
            for index, (key, name) in enumerate(metrics)
        ]
    return chart(kind, [day.isoformat() for day in days], shown, percent=percent)


def has_any(rows: Iterable[Mapping[str, Any]], keys: Iterable[str]) -> bool:
    wanted = tuple(keys)
    return any(_number(row.get(key)) for row in rows for key in wanted)


# -- CSV ----------------------------------------------------------------------------------------------


def csv_sections(content: bytes, titles: Sequence[str]) -> bytes:
    """Only the wanted tables of the analytics API's CSV (tables one after another, each under a title
    line, separated by an empty line; a title matches by its first words, so ``totals`` finds
    ``totals 2026-01-01 to ...``). Everything, unchanged, when none matches: better too much than nothing."""
    text = content.decode("utf-8-sig")
    tables: list[list[list[str]]] = [[]]
    for row in csv.reader(io.StringIO(text)):
        if not row or not any(row):
            tables.append([])
        else:
            tables[-1].append(row)
    kept = [t for t in tables if t and any(t[0][0] == w or t[0][0].startswith(w + " ") for w in titles)]
    if not kept:
        return content
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for n, table in enumerate(kept):
        if n:
            writer.writerow([])
        writer.writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
