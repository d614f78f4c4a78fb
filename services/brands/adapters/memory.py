"""The brands unit of work in memory (tests, local tools): every repository over plain dicts, staged in a
copy and made the committed state on commit, as the MongoDB transaction does. Records are copied in
and out, so callers never share state with the store."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, TypeVar

from services.brands.domain.model import Brand, Deal, NameTaken, Payment, Project, ProjectStatus, Team, as_stored
from services.brands.domain.progress import ProjectDay, ProjectNames
from services.brands.service_layer.ports import (
    BrandRepository,
    CounterRepository,
    DealRepository,
    PaymentRepository,
    ProjectRepository,
    TeamRepository,
)
from shared.storage import InMemoryUnitOfWork

__all__ = ["BrandsState", "InMemoryBrandsUnitOfWork"]

T = TypeVar("T")


@dataclass
class BrandsState:
    teams: dict[str, Team] = field(default_factory=dict)
    brands: dict[str, Brand] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    counters: dict[tuple[str, date], Counter[str]] = field(default_factory=dict)
    names: dict[str, ProjectNames] = field(default_factory=dict)


class _Records(Generic[T]):
    def __init__(self, records: dict[str, T]) -> None:
        self._records = records

    async def get(self, record_id: str) -> T | None:
        return copy.deepcopy(self._records.get(record_id))

    async def get_many(self, record_ids: Collection[str]) -> dict[str, T]:
        return {i: copy.deepcopy(self._records[i]) for i in record_ids if i in self._records}

    def _put(self, record_id: str, record: T) -> None:
        self._records[record_id] = copy.deepcopy(record)

    def _all(self) -> list[T]:
        return copy.deepcopy(list(self._records.values()))


class _Teams(_Records[Team]):
    async def all(self) -> list[Team]:
        return sorted(self._all(), key=lambda t: (t.name, t.id))

    async def add(self, team: Team) -> None:
        if any(t.name == team.name for t in self._records.values()):
            raise NameTaken(f"a team named {team.name!r} exists")
        self._put(team.id, team)

    async def save(self, team: Team) -> None:
        if any(t.name == team.name and t.id != team.id for t in self._records.values()):
            raise NameTaken(f"a team named {team.name!r} exists")
        self._put(team.id, team)

    async def delete(self, team_id: str) -> None:
        self._records.pop(team_id, None)


class _Brands(_Records[Brand]):
    async def owned_by(self, owners: Collection[str] | None) -> list[Brand]:
        found = [b for b in self._all() if owners is None or b.owner_id in owners]
        return sorted(found, key=lambda b: (b.name, b.id))

    async def add(self, brand: Brand) -> None:
        if any(b.name == brand.name for b in self._records.values()):
            raise NameTaken(f"a brand named {brand.name!r} exists")
        self._put(brand.id, brand)

    async def save(self, brand: Brand) -> None:
        if any(b.name == brand.name and b.id != brand.id for b in self._records.values()):
            raise NameTaken(f"a brand named {brand.name!r} exists")
        self._put(brand.id, brand)

    async def touch(self, last_activity: Mapping[str, datetime]) -> None:
        for brand_id, at in last_activity.items():
            brand = self._records.get(brand_id)
            if brand is not None:
                brand.touch(as_stored(at))


class _Projects(_Records[Project]):
    async def of_brands(self, brand_ids: Collection[str] | None) -> list[Project]:
        found = [p for p in self._all() if brand_ids is None or p.brand_id in brand_ids]
        return sorted(found, key=lambda p: (p.starts_on, p.id), reverse=True)

    async def on_account(self, appid: str, status: ProjectStatus | None) -> list[Project]:
        found = [p for p in self._all() if p.appid == appid and (status is None or p.status is status)]
        return sorted(found, key=lambda p: (p.starts_on, p.id), reverse=True)

    async def add(self, project: Project) -> None:
        self._put(project.id, project)

    async def save(self, project: Project) -> None:
        self._put(project.id, project)


class _Deals(_Records[Deal]):
    async def of_brands(self, brand_ids: Collection[str] | None) -> list[Deal]:
        found = [d for d in self._all() if brand_ids is None or d.brand_id in brand_ids]
        return sorted(found, key=lambda d: (d.updated_at, d.id), reverse=True)

    async def add(self, deal: Deal) -> None:
        self._put(deal.id, deal)

    async def save(self, deal: Deal) -> None:
        self._put(deal.id, deal)


class _Payments(_Records[Payment]):
    async def of_brands(self, brand_ids: Collection[str] | None) -> list[Payment]:
        found = [p for p in self._all() if brand_ids is None or p.brand_id in brand_ids]
        return sorted(found, key=lambda p: (p.due_on, p.id))

    async def add(self, payment: Payment) -> None:
        self._put(payment.id, payment)

    async def save(self, payment: Payment) -> None:
        self._put(payment.id, payment)


class _Counters:
    def __init__(self, counters: dict[tuple[str, date], Counter[str]], names: dict[str, ProjectNames]) -> None:
        self._counters = counters
        self._names = names

    async def names(self, project_ids: Collection[str]) -> dict[str, ProjectNames]:
        return {p: copy.deepcopy(self._names[p]) for p in project_ids if p in self._names}

    async def remember_names(self, names: Mapping[str, ProjectNames]) -> None:
        for project_id, changed in names.items():
            into = self._names.setdefault(project_id, ProjectNames())
            into.pushes.update(changed.pushes)
            into.segments.update(changed.segments)

    async def add(self, increments: Mapping[tuple[str, date], Mapping[str, int]]) -> None:
        for key, counts in increments.items():
            self._counters.setdefault(key, Counter()).update(counts)

    def _within(self, project_ids: Collection[str], start: date | None, end: date | None) -> list[ProjectDay]:
        return [
            ProjectDay(project, day, dict(counts))
            for (project, day), counts in sorted(self._counters.items())
            if project in project_ids and (start is None or day >= start) and (end is None or day <= end)
        ]

    async def days(self, project_ids: Collection[str], start: date | None, end: date | None) -> list[ProjectDay]:
        return self._within(project_ids, start, end)

    async def delivered(self, project_ids: Collection[str], start: date, end: date) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for day in self._within(project_ids, start, end):
            totals[day.project_id] += day.counts.get("delivered", 0)
        return dict(totals)


class InMemoryBrandsUnitOfWork(InMemoryUnitOfWork):
    """Every brands repository and the processed-event claims, committing together; reusable, each
    ``async with`` one transaction over :attr:`committed`."""

    teams: TeamRepository
    brands: BrandRepository
    projects: ProjectRepository
    deals: DealRepository
    payments: PaymentRepository
    counters: CounterRepository

    def __init__(self) -> None:
        super().__init__()
        self.committed = BrandsState()
        self._begin()

    def _begin(self) -> None:
        self._staged = copy.deepcopy(self.committed)
        self.teams = _Teams(self._staged.teams)
        self.brands = _Brands(self._staged.brands)
        self.projects = _Projects(self._staged.projects)
        self.deals = _Deals(self._staged.deals)
        self.payments = _Payments(self._staged.payments)
        self.counters = _Counters(self._staged.counters, self._staged.names)

    def _apply(self) -> None:
        self.committed = copy.deepcopy(self._staged)

    def _end(self) -> None:
        self._staged = BrandsState()
