"""One contract for the held-invitations port, run against the in-memory adapter and MongoDB's."""

from __future__ import annotations

import abc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.profiles.adapters.invitations import MongoHeldInvitations
from services.profiles.adapters.memory import InMemoryHeldInvitations
from services.profiles.domain.invitations import HeldInvitation
from services.profiles.service_layer.ports import HeldInvitations

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class HeldInvitationsContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def store(self) -> Any: ...

    async def test_one_per_member_found_in_one_lookup(self, store: HeldInvitations) -> None:
        await store.hold(HeldInvitation("wx1", "o_mom", T0, "45015: out of time"))
        await store.hold(HeldInvitation("wx1", "o_dad", T0, "45047: count"))
        await store.hold(HeldInvitation("wx2", "o_mom", T0, "45015: out of time"))
        found = await store.held_among("wx1", ["o_mom", "o_nobody", "o_mom", "o_dad"])
        assert sorted((i.appid, i.openid) for i in found) == [("wx1", "o_dad"), ("wx1", "o_mom")]
        assert await store.held_among("wx1", []) == []

    async def test_holding_again_replaces_and_release_forgets(self, store: HeldInvitations) -> None:
        first = HeldInvitation("wx1", "o_mom", T0, "45015: out of time")
        await store.hold(first)
        await store.hold(first.again("45047: count"))
        (held,) = await store.held_among("wx1", ["o_mom"])
        assert held == HeldInvitation("wx1", "o_mom", T0, "45047: count", 2)
        await store.release("wx1", "o_mom")
        await store.release("wx1", "o_mom")  # nothing held: nothing to do
        assert await store.held_among("wx1", ["o_mom"]) == []
        assert not held.expired(T0 + timedelta(days=30)) and held.expired(T0 + timedelta(days=31))


class TestInMemoryHeldInvitations(HeldInvitationsContract):
    @pytest.fixture
    async def store(self) -> Any:
        return InMemoryHeldInvitations()


@pytest.mark.integration
class TestMongoHeldInvitations(HeldInvitationsContract):
    @pytest.fixture
    async def store(self, database: Any) -> Any:
        return MongoHeldInvitations(database)
