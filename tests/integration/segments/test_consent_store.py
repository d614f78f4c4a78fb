"""One contract for members' subscription-message consents (the ``ConsentUnitOfWork`` and
``ConsentStore`` ports), run against the in-memory adapter and MongoDB's: changes commit with their
claim or not at all, one-time consents add up and are used one per message, never twice at once, a
long-term one is never used up, and a consent given back is there again."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.segments.adapters.consents import CONSENT_INDEXES, MongoConsents, MongoConsentUnitOfWork
from services.segments.adapters.memory import InMemoryConsentUnitOfWork
from services.segments.domain.consents import ConsentChange, ConsentStatus
from services.segments.service_layer.ports import ConsentStore, ConsentUnitOfWork
from shared.storage import ensure_indexes
from tests.conftest import Isolation

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
GRANT, CANCEL = ConsentChange.GRANT, ConsentChange.CANCEL


@dataclass
class Stores:
    make_uow: Callable[[], ConsentUnitOfWork]
    #: The committed consents, outside any transaction (as the dispatcher uses them).
    store: ConsentStore


class ConsentContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def stores(self) -> Any: ...

    async def _apply(self, stores: Stores, event_id: str, *changes: tuple[str, str, ConsentChange, bool]) -> bool:
        async with stores.make_uow() as uow:
            if not await uow.claim("segments.consents", event_id):
                return False
            for openid, template_id, change, long_term in changes:
                await uow.consents.apply(
                    "wx1", openid, template_id, change, long_term=long_term, at=T0, answer="accept"
                )
            await uow.commit()
        return True

    async def test_changes_commit_with_their_claim_once(self, stores: Stores) -> None:
        assert await self._apply(stores, "e1", ("o1", "A", GRANT, False), ("o1", "L", GRANT, True))
        assert await self._apply(stores, "e2", ("o1", "A", GRANT, False))
        assert not await self._apply(stores, "e2", ("o1", "A", GRANT, False))
        held = {c.template_id: c for c in await stores.store.of_member("wx1", "o1")}
        assert (held["A"].status, held["A"].credits, held["A"].long_term) == (ConsentStatus.ACCEPTED, 2, False)
        assert (held["L"].credits, held["L"].long_term, held["L"].usable) == (0, True, True)
        assert held["A"].updated_at == T0 and held["A"].last_answer == "accept"
        assert await stores.store.of_member("wx2", "o1") == []

    async def test_without_a_commit_the_change_and_the_claim_vanish(self, stores: Stores) -> None:
        async with stores.make_uow() as uow:
            assert await uow.claim("segments.consents", "e9")
            await uow.consents.apply("wx1", "ghost", "A", GRANT, long_term=False, at=T0)
        assert await stores.store.of_member("wx1", "ghost") == []
        assert await self._apply(stores, "e9", ("ghost", "A", GRANT, False))

    async def test_usable_consents_per_member_and_a_cancel_ends_them(self, stores: Stores) -> None:
        await self._apply(stores, "e1", ("o1", "A", GRANT, False), ("o2", "A", GRANT, False), ("o2", "B", GRANT, False))
        assert await stores.store.usable("wx1", ["o1", "o2", "o3"], ["A", "B"]) == {
            "o1": frozenset({"A"}),
            "o2": frozenset({"A", "B"}),
        }
        await self._apply(stores, "e2", ("o2", "A", CANCEL, False))
        assert await stores.store.usable("wx1", ["o1", "o2"], ["A"]) == {"o1": frozenset({"A"})}
        assert await stores.store.claim("wx1", [("o2", "A")], T0) == {}

    async def test_each_one_time_consent_is_used_once_even_by_claims_at_once(self, stores: Stores) -> None:
        await self._apply(stores, "e1", ("o1", "A", GRANT, False), ("o1", "A", GRANT, False), ("o1", "L", GRANT, True))
        claims = await asyncio.gather(*(stores.store.claim("wx1", [("o1", "A")], T0) for _ in range(5)))
        assert sorted(len(c) for c in claims) == [0, 0, 0, 1, 1]
        assert all(c == {"o1": True} for c in claims if c)
        assert await stores.store.usable("wx1", ["o1"], ["A"]) == {}
        for _ in range(3):  # long-term: never used up
            assert await stores.store.claim("wx1", [("o1", "L")], T0) == {"o1": False}

    async def test_a_consent_given_back_can_be_used_again(self, stores: Stores) -> None:
        await self._apply(stores, "e1", ("o1", "A", GRANT, False))
        assert await stores.store.claim("wx1", [("o1", "A"), ("o2", "A")], T0) == {"o1": True}
        await stores.store.release("wx1", [("o1", "A")])
        assert await stores.store.claim("wx1", [("o1", "A")], T0) == {"o1": True}


class TestInMemoryConsents(ConsentContract):
    @pytest.fixture
    async def stores(self) -> Any:
        shared = InMemoryConsentUnitOfWork()

        def make() -> ConsentUnitOfWork:  # also checks (mypy) that it implements the port
            return shared

        return Stores(make, shared.store)


@pytest.mark.integration
class TestMongoConsents(ConsentContract):
    @pytest.fixture
    async def stores(self, mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any) -> Any:
        await ensure_indexes(database, CONSENT_INDEXES)

        def make() -> ConsentUnitOfWork:
            return MongoConsentUnitOfWork(mongo, isolation.database)

        return Stores(make, MongoConsents(database))
