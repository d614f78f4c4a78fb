"""The members unit of work: a transaction, the member repository and processed-event records."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

from pymongo.asynchronous.client_session import AsyncClientSession

from services.members.adapters.repository import MemberRepository, MongoMemberRepository
from shared.storage import MongoUnitOfWork


class UnitOfWork(abc.ABC):
    """The port handlers use. ``claim`` and the repository's writes commit together."""

    members: MemberRepository

    @abc.abstractmethod
    async def __aenter__(self) -> Self: ...

    @abc.abstractmethod
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    @abc.abstractmethod
    async def claim(self, consumer: str, event_id: str) -> bool: ...

    @abc.abstractmethod
    async def commit(self) -> None: ...


class MongoMembersUnitOfWork(MongoUnitOfWork, UnitOfWork):
    def _bind(self, session: AsyncClientSession) -> None:
        self.members = MongoMemberRepository(self.database, session)
