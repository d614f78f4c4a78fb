"""One contract for segments' copy of campaign participation (the ``ParticipationUnitOfWork`` port), run
against the in-memory adapter and MongoDB's."""

from __future__ import annotations

import abc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.segments.adapters.memory import InMemoryParticipationUnitOfWork
from services.segments.adapters.participation import INDEXES, MongoParticipationUnitOfWork
from services.segments.domain.participation import Standing
from services.segments.service_layer.ports import ParticipationUnitOfWork
from shared.storage import ensure_indexes
from tests.conftest import Isolation

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

MakeUow = Callable[[], ParticipationUnitOfWork]


class ParticipationContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def make_uow(self) -> Any: ...

    async def test_a_committed_standing_is_kept_per_member_and_campaign(self, make_uow: MakeUow) -> None:
        async with make_uow() as uow:
            assert await uow.claim("segments-participation", "e1")
            await uow.participation.keep(Standing("wx1", "o1", "c1", 1, 1, T0))
            await uow.participation.keep(Standing("wx1", "o1", "c2", 0, 0, T0))
            await uow.commit()
        async with make_uow() as uow:
            assert await uow.participation.kept("wx1", "o1", "c1") == Standing("wx1", "o1", "c1", 1, 1, T0)
            assert await uow.participation.kept("wx1", "o1", "c2") == Standing("wx1", "o1", "c2", 0, 0, T0)
            assert await uow.participation.kept("wx2", "o1", "c1") is None
            await uow.participation.keep(Standing("wx1", "o1", "c1", 2, 3, T0))  # replaced
            await uow.commit()
        async with make_uow() as uow:
            assert await uow.participation.kept("wx1", "o1", "c1") == Standing("wx1", "o1", "c1", 2, 3, T0)

    async def test_without_a_commit_the_standing_and_the_claim_vanish(self, make_uow: MakeUow) -> None:
        async with make_uow() as uow:
            assert await uow.claim("segments-participation", "e9")
            await uow.participation.keep(Standing("wx1", "ghost", "c1", 1, 1, T0))
        async with make_uow() as uow:
            assert await uow.participation.kept("wx1", "ghost", "c1") is None
            assert await uow.claim("segments-participation", "e9")

    async def test_a_claim_is_granted_once(self, make_uow: MakeUow) -> None:
        async with make_uow() as uow:
            assert await uow.claim("segments-participation", "e2")
            await uow.commit()
        async with make_uow() as uow:
            assert not await uow.claim("segments-participation", "e2")


class TestInMemoryParticipation(ParticipationContract):
    @pytest.fixture
    async def make_uow(self) -> Any:
        shared = InMemoryParticipationUnitOfWork()

        def make() -> ParticipationUnitOfWork:  # also checks (mypy) that it implements the port
            return shared

        return make


@pytest.mark.integration
class TestMongoParticipation(ParticipationContract):
    @pytest.fixture
    async def make_uow(self, mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any) -> Any:
        await ensure_indexes(database, INDEXES)

        def make() -> ParticipationUnitOfWork:
            return MongoParticipationUnitOfWork(mongo, isolation.database)

        return make
