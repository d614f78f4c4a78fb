"""The members service's composition root, shared by its HTTP API, its worker and the tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.members.adapters.repository import INDEXES
from services.members.adapters.unit_of_work import MongoMembersUnitOfWork
from services.members.adapters.views import MemberCounterRebuild, MemberViews
from services.members.service_layer import handlers
from services.members.service_layer.ports import MemberReader, UnitOfWork
from services.members.settings import MembersSettings
from shared.contracts import MemberFollowed, MemberUnfollowed
from shared.datarights import ERASURE_INDEXES, InMemoryMemberRights, MemberRights, MongoMemberRights
from shared.events import Envelope, Message
from shared.storage import PROCESSED_EVENTS_INDEXES, connect

UnitOfWorkFactory = Callable[[], UnitOfWork]


@dataclass(frozen=True)
class Members:
    settings: MembersSettings
    uow: UnitOfWorkFactory
    views: MemberReader | None
    ready: Callable[[], Awaitable[None]]
    #: Members' data rights over every store (export, erase): the API's one call for each.
    rights: MemberRights | None = None

    async def handle(self, envelope: Envelope, message: Message) -> None:
        """Route one decoded event to its handler; events this service does not need are ignored."""
        if isinstance(message, MemberFollowed):
            await handlers.record_follow(envelope, message, self.uow())
        elif isinstance(message, MemberUnfollowed):
            await handlers.record_unfollow(envelope, message, self.uow())


async def _always_ready() -> None:
    return None


@asynccontextmanager
async def bootstrap(
    settings: MembersSettings,
    *,
    uow: UnitOfWorkFactory | None = None,
    views: MemberReader | None = None,
    rights: MemberRights | None = None,
) -> AsyncIterator[Members]:
    """Real MongoDB adapters, or the caller's unit-of-work fake and (for the API) its read side."""
    if uow is not None:
        yield Members(settings, uow, views=views, ready=_always_ready, rights=rights or InMemoryMemberRights())
        return
    async with connect(settings, (*INDEXES, *PROCESSED_EVENTS_INDEXES, *ERASURE_INDEXES)) as mongo:

        def mongo_uow() -> UnitOfWork:
            return MongoMembersUnitOfWork(mongo.client, settings.mongodb_database)

        yield Members(
            settings,
            mongo_uow,
            views=MemberViews(mongo.database),
            ready=mongo.ready,
            rights=MongoMemberRights(mongo.database),
        )


@asynccontextmanager
async def member_rights(settings: MembersSettings) -> AsyncIterator[MemberRights]:
    """Data rights over the platform's database, for the CLI (``scrm members export|erase``)."""
    async with connect(settings, ERASURE_INDEXES) as mongo:
        yield MongoMemberRights(mongo.database)


async def rebuild_counters(settings: MembersSettings, *, appid: str | None = None) -> list[str]:
    """Recompute the accounts' counters (members, following) from their members; the accounts done.

    For members recorded before the counters, and for repair; safe to repeat and beside the worker."""
    async with connect(settings, INDEXES) as mongo:
        rebuild = MemberCounterRebuild(mongo.database)
        accounts = [appid] if appid is not None else await rebuild.accounts()
        for account in accounts:
            await rebuild.rebuild(account)
        return accounts
