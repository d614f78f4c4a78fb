"""One contract for the dispatcher's store (the segments ``PushStore`` port), run against the in-memory
adapter and MongoDB's."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.segments.adapters.memory import InMemoryPushes
from services.segments.adapters.store import INDEXES, MongoPushes
from services.segments.service_layer.ports import PushStore
from shared.storage import ensure_indexes

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=1)


@dataclass
class Store:
    """The store under test, and how to seed what the API, the freeze and the profiles service write."""

    port: PushStore
    insert: Callable[[dict[str, Any]], Awaitable[None]]
    save_audience: Callable[[str, list[str], int], Awaitable[int]]
    add_profiles: Callable[[list[dict[str, Any]]], Awaitable[None]]


def push(push_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "_id": push_id,
        "appid": "wx1",
        "status": "scheduled",
        "send_at": NOW - timedelta(minutes=5),
        "resume_at": None,
        "lease_until": None,
        "stats": {"total": {"targeted": 0, "sent": 0}},
    } | fields


def delivery(push_id: str, openid: str) -> dict[str, Any]:
    return {"_id": f"{push_id}:{openid}", "push_id": push_id, "appid": "wx1", "openid": openid, "status": "queued"}


class PushStoreContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def store(self) -> Store: ...

    async def test_the_earliest_due_free_push_is_claimed_and_leased(self, store: Store) -> None:
        await store.insert(push("later", send_at=NOW - timedelta(minutes=1)))
        await store.insert(push("first", send_at=NOW - timedelta(minutes=9)))
        await store.insert(push("future", send_at=NOW + timedelta(minutes=1)))
        await store.insert(push("resting", resume_at=NOW + timedelta(minutes=1)))
        await store.insert(push("held", lease_until=NOW + timedelta(seconds=30)))
        await store.insert(push("waiting_for_mass", cursor={"done": True}))
        await store.insert(push("paused", status="paused"))
        claimed = await store.port.claim_due(["scheduled"], "materializing", NOW, LEASE)
        assert claimed is not None and claimed["_id"] == "first"
        assert (claimed["status"], claimed["lease_until"]) == ("materializing", NOW + LEASE)
        again = await store.port.claim_due(["scheduled"], "materializing", NOW, LEASE)
        assert again is not None and again["_id"] == "later"
        assert await store.port.claim_due(["scheduled", "materializing"], "sending", NOW, LEASE) is None
        # A lease that ran out (its holder crashed) is taken over.
        taken = await store.port.claim_due(["materializing"], "sending", NOW + LEASE, LEASE)
        assert taken is not None and taken["_id"] == "first" and taken["status"] == "sending"

    async def test_a_push_is_read_within_its_account(self, store: Store) -> None:
        await store.insert(push("p1"))
        found = await store.port.get("p1")
        assert found is not None and found["status"] == "scheduled"
        assert await store.port.get("p1", "wx1") is not None
        assert await store.port.get("p1", "wx2") is None
        assert await store.port.get("nope") is None

    async def test_updates_set_dotted_fields_and_add_to_counters(self, store: Store) -> None:
        await store.insert(push("p1"))
        await store.port.update("p1", {"status": "sending", "cursor.chunk": 2}, {"stats.total.sent": 3})
        await store.port.update("p1", {}, {"stats.total.sent": 3, "stats.A.failed.45009": 1})
        await store.port.update("p1", {})
        found = await store.port.get("p1")
        assert found is not None
        assert (found["status"], found["cursor"]) == ("sending", {"chunk": 2})
        assert found["stats"] == {"total": {"targeted": 0, "sent": 6}, "A": {"failed": {"45009": 1}}}

    async def test_a_frozen_audience_is_read_chunk_by_chunk(self, store: Store) -> None:
        assert await store.save_audience("p1", [f"o{i}" for i in range(5)], 2) == 3
        assert await store.port.audience_chunk("p1", 0) == ["o0", "o1"]
        assert await store.port.audience_chunk("p1", 2) == ["o4"]
        assert await store.port.audience_chunk("p1", 3) is None
        assert await store.port.audience_chunk("other", 0) is None

    async def test_a_delivery_is_recorded_once_settled_and_forgotten(self, store: Store) -> None:
        assert await store.port.record([delivery("p1", "o1"), delivery("p1", "o2")]) == set()
        assert await store.port.record([delivery("p1", "o2"), delivery("p1", "o3")]) == {"o2"}
        await store.port.settle([("p1:o1", {"status": "sent", "sent_at": NOW}), ("p1:o3", {"status": "failed"})])
        found = await store.port.recorded("p1", ["o1", "o2", "o3", "o4"])
        statuses = {openid: doc["status"] for openid, doc in found.items()}
        assert statuses == {"o1": "sent", "o2": "queued", "o3": "failed"}
        assert found["o1"]["sent_at"] == NOW
        await store.port.remember_templates("wx1", "p1", [(1001, "p1:o1", "A")])
        await store.port.forget(["p1:o2", "p1:o9"])
        assert set(await store.port.recorded("p1", ["o1", "o2", "o3"])) == {"o1", "o3"}

    async def test_the_send_decision_reads_members_profiles_of_the_account(self, store: Store) -> None:
        follow = {"first_followed_at": NOW, "last_followed_at": NOW, "last_unfollowed_at": None}
        await store.add_profiles(
            [
                {"_id": "wx1:o1", "appid": "wx1", "openid": "o1", "follow": follow, "consents": {}, "tags": ["x"]},
                {"_id": "wx2:o2", "appid": "wx2", "openid": "o2", "follow": follow, "consents": {}},
            ]
        )
        found = await store.port.profiles_of("wx1", ["o1", "o2", "o3"])
        assert list(found) == ["o1"] and found["o1"]["follow"] == follow and "tags" not in found["o1"]

    async def test_members_recent_sends_are_counted_per_account(self, store: Store) -> None:
        await store.port.count_sends("wx1", ["o1", "o2"], NOW)
        await store.port.count_sends("wx1", ["o1"], NOW + timedelta(hours=1), month="2026-11")
        await store.port.count_sends("wx1", [], NOW)
        sends = await store.port.recent_sends("wx1", ["o1", "o2", "o3"])
        assert sends["o1"]["recent"] == [NOW, NOW + timedelta(hours=1)] and sends["o1"]["mass"] == {"2026-11": 1}
        assert sends["o2"]["recent"] == [NOW] and "mass" not in sends["o2"]
        assert set(sends) == {"o1", "o2"}
        assert await store.port.recent_sends("wx2", ["o1"]) == {}


class TestInMemoryPushes(PushStoreContract):
    @pytest.fixture
    async def store(self) -> Store:
        memory = InMemoryPushes()

        async def add_profiles(documents: list[dict[str, Any]]) -> None:
            memory.add_profiles(documents)

        return Store(memory, memory.insert, memory.save_audience, add_profiles)


@pytest.mark.integration
class TestMongoPushStore(PushStoreContract):
    @pytest.fixture
    async def store(self, database: Any) -> Store:
        await ensure_indexes(database, INDEXES)
        mongo = MongoPushes(database)

        async def add_profiles(documents: list[dict[str, Any]]) -> None:
            await database["profiles"].insert_many(documents)

        return Store(mongo, mongo.insert, mongo.save_audience, add_profiles)
