"""One contract for the member repository port, run against the fake and the MongoDB adapter."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.members.adapters.repository import INDEXES
from services.members.adapters.unit_of_work import MongoMembersUnitOfWork
from services.members.domain.model import Member
from services.members.service_layer.ports import UnitOfWork
from shared.storage import ensure_indexes
from tests.conftest import Isolation
from tests.fakes import FakeUnitOfWork

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class UnitOfWorkContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def make_uow(self) -> Any: ...

    async def test_saved_member_reads_back(self, make_uow: Any) -> None:
        member = Member("wx1", "o1")
        member.follow(T0, "poster")
        async with make_uow() as uow:
            assert await uow.claim("contract", "e1")
            await uow.members.save(member)
            await uow.commit()
        async with make_uow() as uow:
            assert await uow.members.get("wx1", "o1") == member
            assert await uow.members.get("wx1", "nobody") is None
            assert await uow.members.get("wx2", "o1") is None

    async def test_uncommitted_writes_vanish(self, make_uow: Any) -> None:
        async with make_uow() as uow:
            await uow.claim("contract", "e9")
            await uow.members.save(Member("wx1", "ghost"))
        async with make_uow() as uow:
            assert await uow.members.get("wx1", "ghost") is None
            assert await uow.claim("contract", "e9")

    async def test_a_claim_is_granted_once(self, make_uow: Any) -> None:
        async with make_uow() as uow:
            assert await uow.claim("contract", "e2")
            await uow.commit()
        async with make_uow() as uow:
            assert not await uow.claim("contract", "e2")


class TestFakeUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    async def make_uow(self) -> Any:
        shared = FakeUnitOfWork()
        return lambda: shared


@pytest.mark.integration
class TestMongoUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    async def make_uow(
        self, mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
    ) -> AsyncIterator[Any]:
        await ensure_indexes(database, INDEXES)

        def factory() -> UnitOfWork:
            return MongoMembersUnitOfWork(mongo, isolation.database)

        yield factory
