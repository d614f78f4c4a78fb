"""The members unit of work: a transaction, the member repository and processed-event records."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from services.members.adapters.repository import MongoMemberRepository
from services.members.service_layer.ports import UnitOfWork
from shared.storage import MongoUnitOfWork


class MongoMembersUnitOfWork(MongoUnitOfWork, UnitOfWork):
    def _bind(self, session: AsyncClientSession) -> None:
        self.members = MongoMemberRepository(self.database, session)
