"""What the brands use cases need of storage: one unit of work holding every repository, so a write and
the records it touches (a hand-over moves a brand, its open projects and deals; a batch of deliveries
adds counters, touches brands and claims its events) commit together or not at all."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from services.brands.domain.model import Brand, Deal, Payment, Project, ProjectStatus, Team
from services.brands.domain.progress import ProjectDay, ProjectNames

__all__ = [
    "BrandRepository",
    "BrandsUnitOfWork",
    "CounterRepository",
    "DealRepository",
    "PaymentRepository",
    "ProjectRepository",
    "TeamRepository",
]


class TeamRepository(Protocol):
    async def get(self, team_id: str) -> Team | None: ...

    async def all(self) -> list[Team]:
        """By name."""
        ...

    async def add(self, team: Team) -> None:
        """Raises :class:`~services.brands.domain.model.NameTaken` when the name is taken (so does ``save``)."""
        ...

    async def save(self, team: Team) -> None: ...

    async def delete(self, team_id: str) -> None: ...


class BrandRepository(Protocol):
    async def get(self, brand_id: str) -> Brand | None: ...

    async def get_many(self, brand_ids: Collection[str]) -> dict[str, Brand]: ...

    async def owned_by(self, owners: Collection[str] | None) -> list[Brand]:
        """The brands of ``owners`` (every brand for None), by name."""
        ...

    async def add(self, brand: Brand) -> None:
        """Raises :class:`~services.brands.domain.model.NameTaken` when the name is taken (so does ``save``)."""
        ...

    async def save(self, brand: Brand) -> None: ...

    async def touch(self, last_activity: Mapping[str, datetime]) -> None:
        """Move each brand's ``last_activity_at`` forward to the given moment (never back)."""
        ...


class ProjectRepository(Protocol):
    async def get(self, project_id: str) -> Project | None: ...

    async def get_many(self, project_ids: Collection[str]) -> dict[str, Project]: ...

    async def of_brands(self, brand_ids: Collection[str] | None) -> list[Project]:
        """The projects of ``brand_ids`` (all for None), newest start first."""
        ...

    async def on_account(self, appid: str, status: ProjectStatus | None) -> list[Project]: ...

    async def add(self, project: Project) -> None: ...

    async def save(self, project: Project) -> None: ...


class DealRepository(Protocol):
    async def get(self, deal_id: str) -> Deal | None: ...

    async def of_brands(self, brand_ids: Collection[str] | None) -> list[Deal]:
        """Most recently changed first."""
        ...

    async def add(self, deal: Deal) -> None: ...

    async def save(self, deal: Deal) -> None: ...


class PaymentRepository(Protocol):
    async def get(self, payment_id: str) -> Payment | None: ...

    async def of_brands(self, brand_ids: Collection[str] | None) -> list[Payment]:
        """By due day."""
        ...

    async def add(self, payment: Payment) -> None: ...

    async def save(self, payment: Payment) -> None: ...


class CounterRepository(Protocol):
    async def add(self, increments: Mapping[tuple[str, date], Mapping[str, int]]) -> None:
        """Add to the counters of each (project, day)."""
        ...

    async def days(self, project_ids: Collection[str], start: date | None, end: date | None) -> list[ProjectDay]:
        """The counters of those projects' days from ``start`` to ``end`` (inclusive; None: unbounded)."""
        ...

    async def delivered(self, project_ids: Collection[str], start: date, end: date) -> dict[str, int]:
        """Each project's deliveries from ``start`` to ``end``."""
        ...

    async def names(self, project_ids: Collection[str]) -> dict[str, ProjectNames]:
        """The latest names seen of the pushes and segments of those projects (projects without any left out)."""
        ...

    async def remember_names(self, names: Mapping[str, ProjectNames]) -> None:
        """Set these names (each entry replaces the one of its push or segment; others stay)."""
        ...


class BrandsUnitOfWork(Protocol):
    teams: TeamRepository
    brands: BrandRepository
    projects: ProjectRepository
    deals: DealRepository
    payments: PaymentRepository
    counters: CounterRepository

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def claim_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]: ...

    async def commit(self) -> None: ...
