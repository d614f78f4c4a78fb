"""The brands service's composition root, shared by its API, its worker and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.brands.adapters.mongo import INDEXES, MongoBrandsUnitOfWork
from services.brands.domain.progress import DeliveryFact
from services.brands.domain.rules import TierThresholds
from services.brands.service_layer.deliveries import record_deliveries
from services.brands.service_layer.ports import BrandsUnitOfWork
from services.brands.service_layer.use_cases import BrandsUseCases, Policy
from services.brands.settings import BrandsSettings
from shared.storage import PROCESSED_EVENTS_INDEXES, connect

__all__ = ["Brands", "bootstrap", "policy_of"]

UnitOfWorkFactory = Callable[[], BrandsUnitOfWork]


def policy_of(settings: BrandsSettings) -> Policy:
    return Policy(
        thresholds=TierThresholds.in_yuan(settings.tier_a_yuan, settings.tier_b_yuan),
        inactive_days=settings.brands_inactive_days,
        renewal_days=settings.renewal_window_days,
    )


@dataclass(frozen=True)
class Brands:
    settings: BrandsSettings
    uow: UnitOfWorkFactory
    use_cases: BrandsUseCases
    ready: Callable[[], Awaitable[None]]

    async def record_deliveries(self, facts: Sequence[tuple[str, DeliveryFact]]) -> int:
        return await record_deliveries(self.uow(), facts)


async def _always_ready() -> None:
    return None


@asynccontextmanager
async def bootstrap(settings: BrandsSettings, *, uow: UnitOfWorkFactory | None = None) -> AsyncIterator[Brands]:
    """MongoDB, or the caller's unit of work (tests: ``InMemoryBrandsUnitOfWork``)."""
    if uow is not None:
        yield Brands(settings, uow, BrandsUseCases(uow, policy_of(settings)), _always_ready)
        return
    async with connect(settings, (*INDEXES, *PROCESSED_EVENTS_INDEXES)) as mongo:

        def mongo_uow() -> BrandsUnitOfWork:
            return MongoBrandsUnitOfWork(mongo.client, settings.mongodb_database)

        yield Brands(settings, mongo_uow, BrandsUseCases(mongo_uow, policy_of(settings)), mongo.ready)
