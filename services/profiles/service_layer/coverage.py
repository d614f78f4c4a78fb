"""Coverage read from the counters (never by walking the members), and the counters rebuilt.

The counters (``services.profiles.domain.coverage``) are kept by every profile write, in its
transaction. Here they become the dashboard's figures: the account's counts (:func:`profile_counts`),
the coverage report over a date range with the previous period for comparison (:func:`coverage_report`),
and :func:`rebuild_coverage`, which recounts an account's profiles (data from before the counters, or
a repair).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from services.profiles.domain.coverage import (
    ALL,
    FOLLOWING,
    StageKind,
    code_key,
    code_of,
    facets,
    series,
    stages_of,
)
from services.profiles.service_layer.ports import CoverageStore, ProfileCounts, ProfileReader
from shared.maternal_infant import Stage

__all__ = [
    "MAX_DAYS",
    "CoverageReport",
    "CoverageRow",
    "DayCoverage",
    "coverage_report",
    "profile_counts",
    "rebuild_coverage",
]

#: The longest range one report covers (days, both ends included).
MAX_DAYS = 400
#: Families whose tags a profile stores (life stages come from dates, spend tiers from spend).
_STORED_FAMILIES = ("interest", "purchase", "campaign", "ops")


def profile_counts(totals: Mapping[str, int], today: date) -> ProfileCounts:
    """The account's dashboard counts (``/profiles/stats``) from its counters."""
    return ProfileCounts(
        profiles=totals.get(f"{ALL}:members", 0),
        following=totals.get(f"{FOLLOWING}:members", 0),
        tagged=totals.get(f"{ALL}:tagged", 0),
        consented_marketing=totals.get(f"{ALL}:marketing", 0),
        by_stage=stages_of(totals, ALL, today),
    )


@dataclass(frozen=True)
class CoverageRow:
    """One figure at the end of the range and at the end of the previous period."""

    key: str  # a tag code, a stage kind, or "<kind>|<code>" for the cross-tab
    count: int
    base: int  # what the share is of: following members (of the kind, for the cross-tab)
    previous: int
    previous_base: int

    @property
    def share(self) -> float:
        return round(self.count / self.base, 4) if self.base else 0.0

    @property
    def previous_share(self) -> float:
        return round(self.previous / self.previous_base, 4) if self.previous_base else 0.0

    @property
    def delta(self) -> int:
        return self.count - self.previous


@dataclass(frozen=True)
class DayCoverage:
    day: date
    following: int
    tagged: int
    #: Following members holding each tag code at the end of the day.
    tags: dict[str, int]


@dataclass(frozen=True)
class CoverageReport:
    first: date
    last: date
    previous_first: date
    previous_last: date
    #: The stages are as of this day (the date histograms are kept in the totals only).
    today: date
    members: int
    following: CoverageRow
    tagged: CoverageRow
    tags: list[CoverageRow]
    kinds: list[CoverageRow]
    cross: list[CoverageRow]
    stages: dict[Stage, int]
    series: list[DayCoverage]


def _tag_counts(counts: Mapping[str, int], prefix: str) -> dict[str, int]:
    return {code_of(key[len(prefix) :]): n for key, n in counts.items() if key.startswith(prefix) and n}


async def coverage_report(
    reader: ProfileReader, appid: str, first: date, last: date, today: date, codes: Iterable[str]
) -> CoverageReport:
    """Coverage among following members over ``first``..``last`` (Beijing days): each figure at the end
    of ``last`` and of the day before ``first`` (the previous period's end), the daily series, and the
    stages as of ``today``. ``codes``: the taxonomy's, listed even when nobody holds them. Reads the
    totals and one small document per day since ``first``."""
    if first > last:
        raise ValueError("from: after to")
    previous_last = first - timedelta(days=1)
    previous_first = previous_last - (last - first)
    totals = await reader.coverage_totals(appid)
    days = await reader.coverage_days(appid, first)
    daily = series(totals, days, previous_last, last)
    before, end = daily[0][1], daily[-1][1]
    f = f"{FOLLOWING}:"

    def row(key: str, field: str, base_field: str = f"{FOLLOWING}:members") -> CoverageRow:
        return CoverageRow(
            key, end.get(field, 0), end.get(base_field, 0), before.get(field, 0), before.get(base_field, 0)
        )

    listed = [c for c in codes if c.split(".", 1)[0] in _STORED_FAMILIES]
    held = set(_tag_counts(end, f + "tag:")) | set(_tag_counts(before, f + "tag:"))
    all_codes = sorted(set(listed) | held)
    tags = [row(code, f"{f}tag:{code_key(code)}") for code in all_codes]
    kinds = [row(kind.value, f"{f}kind:{kind.value}") for kind in StageKind]
    cross = [
        row(f"{kind.value}|{code}", f"{f}kt:{kind.value}:{code_key(code)}", f"{f}kind:{kind.value}")
        for kind in StageKind
        for code in all_codes
        if code.startswith("interest")
    ]
    return CoverageReport(
        first=first,
        last=last,
        previous_first=previous_first,
        previous_last=previous_last,
        today=today,
        members=end.get(f"{ALL}:members", 0),
        following=row("following", f"{f}members"),
        tagged=row("tagged", f"{f}tagged"),
        tags=tags,
        kinds=kinds,
        cross=cross,
        stages=stages_of(totals, FOLLOWING, today),
        series=[
            DayCoverage(day, counts.get(f"{f}members", 0), counts.get(f"{f}tagged", 0), _tag_counts(counts, f + "tag:"))
            for day, counts in daily[1:]
        ],
    )


async def rebuild_coverage(reader: ProfileReader, store: CoverageStore, appid: str) -> int:
    """Recount the account's counters from its profiles and replace the totals; return how many
    profiles were counted. The daily documents stay: the series is worked back from the totals, so
    days before the rebuild read as the recount less what changed since. Writes made while it walks
    the profiles may be counted twice or not at all: run it while the profiles worker is stopped."""
    totals: Counter[str] = Counter()
    counted = 0
    async for profile in reader.each(appid):
        totals.update(facets(profile))
        counted += 1
    await store.replace_coverage(appid, dict(totals))
    return counted
