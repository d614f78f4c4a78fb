"""The rollup worker's composition root, shared by ``analytics-worker``, its tests and the benchmark."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.analytics.adapters.rollup_store import ROLLUP_INDEXES, MongoRollupsUnitOfWork
from services.analytics.service_layer.ports import RollupsUnitOfWork
from services.analytics.service_layer.rollups import Folded, RollupFolder
from services.analytics.settings import AnalyticsSettings
from shared.datarights import ERASURE_INDEXES, MemberRights, MongoMemberRights
from shared.events import Envelope, Message
from shared.storage import PROCESSED_EVENTS_INDEXES, connect

__all__ = ["RollupWorker", "bootstrap_worker"]

UnitOfWorkFactory = Callable[[], RollupsUnitOfWork]


@dataclass(frozen=True)
class RollupWorker:
    settings: AnalyticsSettings
    folder: RollupFolder
    ready: Callable[[], Awaitable[None]]
    #: Erased members (their events are dropped by the worker); None in memory.
    rights: MemberRights | None = None

    async def handle(self, envelope: Envelope, message: Message) -> Folded:
        """One event alone: what the runner falls back to for the records of a batch that failed."""
        return await self.folder.fold([(envelope, message)])

    async def handle_batch(self, batch: Sequence[tuple[Envelope, Message]]) -> Folded:
        return await self.folder.fold(batch)


async def _always_ready() -> None:
    return None


@asynccontextmanager
async def bootstrap_worker(
    settings: AnalyticsSettings, *, uow: UnitOfWorkFactory | None = None
) -> AsyncIterator[RollupWorker]:
    """Real MongoDB adapters, or the caller's unit of work (in memory)."""
    if uow is not None:
        yield RollupWorker(settings, RollupFolder(uow), ready=_always_ready)
        return
    async with connect(settings, (*ROLLUP_INDEXES, *PROCESSED_EVENTS_INDEXES, *ERASURE_INDEXES)) as mongo:

        def mongo_uow() -> RollupsUnitOfWork:
            return MongoRollupsUnitOfWork(mongo.client, settings.mongodb_database)

        yield RollupWorker(
            settings, RollupFolder(mongo_uow), ready=mongo.ready, rights=MongoMemberRights(mongo.database)
        )
