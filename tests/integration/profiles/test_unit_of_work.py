"""One contract for the profiles unit-of-work port, run against the in-memory adapter and MongoDB's."""

from __future__ import annotations

import abc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.profiles.adapters.memory import InMemoryProfilesUnitOfWork
from services.profiles.adapters.repository import INDEXES, MongoProfilesUnitOfWork, to_document
from services.profiles.domain.profile import Profile
from services.profiles.service_layer.ports import ProfilesUnitOfWork
from shared.storage import ensure_indexes
from tests.conftest import Isolation

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

MakeUow = Callable[[], ProfilesUnitOfWork]


def _followed(appid: str, openid: str) -> tuple[Profile, list[Any]]:
    profile = Profile(appid, openid)
    return profile, profile.followed(T0, "poster")


class ProfilesUnitOfWorkContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def make_uow(self) -> Any: ...

    async def test_a_committed_profile_reads_back_with_its_version(self, make_uow: MakeUow) -> None:
        profile, changes = _followed("wx1", "o1")
        async with make_uow() as uow:
            await uow.profiles.save(profile, changes)
            await uow.commit()
        assert profile.version == 1
        async with make_uow() as uow:
            stored = await uow.profiles.get_or_new("wx1", "o1")
            assert to_document(stored) == to_document(profile)
            stored.followed(T0.replace(hour=9), "search")
            await uow.profiles.save_many([(stored, [])])
            await uow.commit()
        async with make_uow() as uow:
            assert (await uow.profiles.get_or_new("wx1", "o1")).version == 2

    async def test_unknown_members_are_new_profiles_and_left_out_of_batches(self, make_uow: MakeUow) -> None:
        profile, changes = _followed("wx1", "o1")
        async with make_uow() as uow:
            await uow.profiles.save_many([(profile, changes)])
            await uow.commit()
        async with make_uow() as uow:
            new = await uow.profiles.get_or_new("wx1", "nobody")
            assert (new.appid, new.openid, new.version) == ("wx1", "nobody", 0)
            found = await uow.profiles.get_many([("wx1", "o1"), ("wx1", "nobody"), ("wx2", "o1")])
            assert list(found) == [("wx1", "o1")]
            assert await uow.profiles.get_many([]) == {}

    async def test_a_transaction_sees_its_own_writes_and_without_commit_they_vanish(self, make_uow: MakeUow) -> None:
        profile, changes = _followed("wx1", "ghost")
        async with make_uow() as uow:
            assert await uow.claim("contract", "e9")
            await uow.profiles.save(profile, changes)
            assert list(await uow.profiles.get_many([("wx1", "ghost")])) == [("wx1", "ghost")]
        async with make_uow() as uow:
            assert (await uow.profiles.get_or_new("wx1", "ghost")).version == 0
            assert await uow.claim("contract", "e9")

    async def test_claims_are_granted_once_per_consumer(self, make_uow: MakeUow) -> None:
        async with make_uow() as uow:
            assert await uow.claim_many("profiles", ["e1", "e2"]) == {"e1", "e2"}
            await uow.commit()
        async with make_uow() as uow:
            assert await uow.claim_many("profiles", ["e1", "e2", "e3"]) == {"e3"}
            assert not await uow.claim("profiles", "e1")
            assert await uow.claim("other-consumer", "e1")
            await uow.commit()
        async with make_uow() as uow:
            assert await uow.claim_many("profiles", ["e3"]) == set()


class TestInMemoryProfilesUnitOfWork(ProfilesUnitOfWorkContract):
    @pytest.fixture
    async def make_uow(self) -> Any:
        shared = InMemoryProfilesUnitOfWork()

        def make() -> ProfilesUnitOfWork:  # also checks (mypy) that it implements the port
            return shared

        return make


@pytest.mark.integration
class TestMongoProfilesUnitOfWork(ProfilesUnitOfWorkContract):
    @pytest.fixture
    async def make_uow(self, mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any) -> Any:
        await ensure_indexes(database, INDEXES)

        def make() -> ProfilesUnitOfWork:
            return MongoProfilesUnitOfWork(mongo, isolation.database)

        return make
