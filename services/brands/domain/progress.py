"""Project counters from push deliveries and clicks, and what a project page and its value report show.

Counters are kept per project and Beijing day (the event's own time), as ``{metric: count}``:
``delivered``, ``clicks``, ``clickers`` (members' first click on a push), and per segment and push
``delivered:seg:<id>``, ``clicks:seg:<id>``, ``delivered:push:<id>``, ``clicks:push:<id>``,
``clickers:push:<id>``. Counters only ever grow.

Beside them, the latest name seen of each push and segment of a project (the events carry names so a
brand's report never shows ids): the name of the event with the latest time wins, so a late redelivery
of an older event does not undo a rename. Pure.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from services.brands.domain.model import Project, as_stored, beijing_day

__all__ = [
    "Breakdown",
    "DeliveryFact",
    "NameSeen",
    "ProjectDay",
    "ProjectNames",
    "ProjectProgress",
    "SeriesPoint",
    "fold",
    "learn_names",
    "progress",
    "rate",
]


@dataclass(frozen=True)
class DeliveryFact:
    """One delivery or click of a push composed for a project."""

    kind: Literal["delivered", "clicked"]
    project_id: str
    push_id: str
    segment_id: str
    at: datetime
    #: For clicks: the member's first click on this push (counts a clicker).
    first: bool = False
    #: What the push and its segment were called, when the event says.
    push_name: str | None = None
    segment_name: str | None = None


@dataclass(frozen=True)
class NameSeen:
    name: str
    #: The time of the event that carried it.
    at: datetime


@dataclass
class ProjectNames:
    """The latest name seen of each push and segment (by id) of one project."""

    pushes: dict[str, NameSeen] = field(default_factory=dict)
    segments: dict[str, NameSeen] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.pushes or self.segments)


def _newer(known: Mapping[str, NameSeen], changed: dict[str, NameSeen], key: str, seen: NameSeen) -> None:
    current = changed.get(key) or known.get(key)
    # A tie keeps what is known: the same event again changes nothing.
    if current is None or seen.at > current.at:
        changed[key] = seen


def learn_names(known: Mapping[str, ProjectNames], facts: Iterable[DeliveryFact]) -> dict[str, ProjectNames]:
    """The names ``facts`` change, by project: only entries newer than ``known`` (by event time)."""
    changes: dict[str, ProjectNames] = defaultdict(ProjectNames)
    for fact in facts:
        before = known.get(fact.project_id, ProjectNames())
        into = changes[fact.project_id]
        if fact.push_name:
            _newer(before.pushes, into.pushes, fact.push_id, NameSeen(fact.push_name, as_stored(fact.at)))
        if fact.segment_name:
            _newer(before.segments, into.segments, fact.segment_id, NameSeen(fact.segment_name, as_stored(fact.at)))
    return {project_id: names for project_id, names in changes.items() if names}


@dataclass
class ProjectDay:
    project_id: str
    day: date
    counts: dict[str, int] = field(default_factory=dict)


def fold(facts: Iterable[DeliveryFact]) -> dict[tuple[str, date], Counter[str]]:
    """The counter increments of ``facts``, by (project, Beijing day)."""
    increments: dict[tuple[str, date], Counter[str]] = defaultdict(Counter)
    for fact in facts:
        c = increments[(fact.project_id, beijing_day(fact.at))]
        if fact.kind == "delivered":
            c["delivered"] += 1
            c[f"delivered:seg:{fact.segment_id}"] += 1
            c[f"delivered:push:{fact.push_id}"] += 1
        else:
            c["clicks"] += 1
            c[f"clicks:seg:{fact.segment_id}"] += 1
            c[f"clicks:push:{fact.push_id}"] += 1
            if fact.first:
                c["clickers"] += 1
                c[f"clickers:push:{fact.push_id}"] += 1
    return dict(increments)


def rate(part: int, whole: int) -> float | None:
    """``part / whole`` in percent, one decimal; None when there is no whole."""
    return None if whole <= 0 else round(100 * part / whole, 1)


@dataclass(frozen=True)
class SeriesPoint:
    day: date
    delivered: int
    clicks: int
    delivered_total: int
    clicks_total: int
    #: Where a straight line from 0 on the first day to the target on the last would be at the day's end.
    target_line: float


@dataclass(frozen=True)
class Breakdown:
    """Deliveries and clicks of one segment or push."""

    id: str
    delivered: int
    clicks: int
    clickers: int | None = None
    #: The latest name seen; the id when no event named it (deliveries counted before events had names).
    name: str = ""


@dataclass(frozen=True)
class ProjectProgress:
    project: Project
    delivered: int
    clicks: int
    clickers: int
    #: delivered / target, percent.
    completion: float | None
    click_completion: float | None
    #: clickers / delivered, percent.
    click_rate: float | None
    #: The target line today: what a project on schedule would have delivered by now.
    expected_by_now: float
    series: list[SeriesPoint]
    by_segment: list[Breakdown]
    by_push: list[Breakdown]


def _target_line(project: Project, day: date) -> float:
    elapsed = min(max((day - project.starts_on).days + 1, 0), project.days)
    return round(project.target_deliveries * elapsed / project.days, 2)


def progress(
    project: Project, days: Iterable[ProjectDay], today: date, names: ProjectNames | None = None
) -> ProjectProgress:
    """The project's completion against its target, from its daily counters.

    The series runs from the project's first day to its last or to today, whichever is earlier (and
    further if deliveries were counted outside that window), cumulative against the linear target line.
    """
    by_day: dict[date, Mapping[str, int]] = {d.day: d.counts for d in days}
    totals: Counter[str] = Counter()
    for counts in by_day.values():
        totals.update(counts)
    first = min([project.starts_on, *by_day])
    last = max([min(project.ends_on, max(today, project.starts_on)), *by_day])
    series: list[SeriesPoint] = []
    delivered_total = clicks_total = 0
    day = first
    while day <= last:
        counts = by_day.get(day, {})
        delivered_total += counts.get("delivered", 0)
        clicks_total += counts.get("clicks", 0)
        series.append(
            SeriesPoint(
                day,
                counts.get("delivered", 0),
                counts.get("clicks", 0),
                delivered_total,
                clicks_total,
                _target_line(project, day),
            )
        )
        day += timedelta(days=1)
    delivered, clicks, clickers = totals["delivered"], totals["clicks"], totals["clickers"]
    return ProjectProgress(
        project=project,
        delivered=delivered,
        clicks=clicks,
        clickers=clickers,
        completion=rate(delivered, project.target_deliveries),
        click_completion=None if project.target_clicks is None else rate(clicks, project.target_clicks),
        click_rate=rate(clickers, delivered),
        expected_by_now=_target_line(project, today),
        series=series,
        by_segment=_breakdown(totals, "seg", names.segments if names else {}, with_clickers=False),
        by_push=_breakdown(totals, "push", names.pushes if names else {}, with_clickers=True),
    )


def _breakdown(
    totals: Mapping[str, int], dimension: str, names: Mapping[str, NameSeen], *, with_clickers: bool
) -> list[Breakdown]:
    ids = sorted({key.split(":", 2)[2] for key in totals if key.split(":", 2)[1:2] == [dimension]})
    rows = [
        Breakdown(
            id,
            totals.get(f"delivered:{dimension}:{id}", 0),
            totals.get(f"clicks:{dimension}:{id}", 0),
            totals.get(f"clickers:{dimension}:{id}", 0) if with_clickers else None,
            names[id].name if id in names else id,
        )
        for id in ids
    ]
    return sorted(rows, key=lambda row: (-row.delivered, row.id))
