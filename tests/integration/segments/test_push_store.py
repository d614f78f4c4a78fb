"""One contract for the dispatcher's store (the segments ``PushStore`` port) and what the console's
routes read and write through the ``PushRepository`` port (drafts, a segment's pushes, a member's
deliveries and clicks, testers), run against the in-memory adapter and MongoDB's."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.segments.adapters.memory import InMemoryPushes
from services.segments.adapters.store import INDEXES, MongoPushes
from services.segments.domain.pushes import MessageContent, Variant, new_push
from services.segments.service_layer.ports import PushRepository, PushStore
from shared.storage import ensure_indexes

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LEASE = timedelta(minutes=1)


@dataclass
class Store:
    """The store under test, and how to seed what the API, the freeze and the profiles service write."""

    port: PushStore
    repository: PushRepository
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

    async def test_a_send_is_reserved_only_at_the_version_its_decision_read(self, store: Store) -> None:
        # Nothing read yet (version 0): the first reservation creates the member's sends.
        assert await store.port.reserve_sends("wx1", "p1", [("o1", 0), ("o2", 0)], NOW) == set()
        sends = await store.port.recent_sends("wx1", ["o1", "o2"])
        assert sends["o1"]["v"] == 1 and sends["o1"]["recent"] == [{"at": NOW, "push": "p1"}]
        # A second push that read before the first reserved loses, member by member.
        later = NOW + timedelta(minutes=1)
        assert await store.port.reserve_sends("wx1", "p2", [("o1", 0), ("o3", 0)], later, "2026-11") == {"o1"}
        assert await store.port.reserve_sends("wx1", "p2", [("o1", 1)], later, "2026-11") == set()
        sends = await store.port.recent_sends("wx1", ["o1", "o3"])
        assert (sends["o1"]["v"], len(sends["o1"]["recent"]), sends["o1"]["mass"]) == (2, 2, {"2026-11": 1})
        assert sends["o3"]["mass"] == {"2026-11": 1}
        # Sends counted the old way (bare times) move the version on too.
        await store.port.count_sends("wx1", ["o2"], later)
        assert await store.port.reserve_sends("wx1", "p2", [("o2", 1)], later) == {"o2"}
        # A refused send gives its reservation back; the others' stay.
        await store.port.release_sends("wx1", "p2", ["o1", "o9"])
        sends = await store.port.recent_sends("wx1", ["o1"])
        assert sends["o1"]["recent"] == [{"at": NOW, "push": "p1"}]
        assert await store.port.reserve_sends("wx2", "p1", [], NOW) == set()

    async def test_first_and_later_sends_reserved_at_once_lose_member_by_member(self, store: Store) -> None:
        assert await store.port.reserve_sends("wx1", "p1", [("o1", 0), ("o2", 0)], NOW) == set()
        later = NOW + timedelta(minutes=1)
        # o1 read at its version (kept), o2 read before p1 counted it (lost), o3 new (kept), o1's
        # version read twice by another push: whichever comes second loses.
        members = [("o1", 1), ("o2", 0), ("o3", 0)]
        assert await store.port.reserve_sends("wx1", "p2", members, later, "2026-11") == {"o2"}
        assert await store.port.reserve_sends("wx1", "p3", [("o1", 1), ("o4", 0)], later) == {"o1"}
        sends = await store.port.recent_sends("wx1", ["o1", "o2", "o3", "o4"])
        assert {openid: doc["v"] for openid, doc in sends.items()} == {"o1": 2, "o2": 1, "o3": 1, "o4": 1}
        assert sends["o3"]["recent"] == [{"at": later, "push": "p2"}] and sends["o3"]["mass"] == {"2026-11": 1}
        assert sends["o1"]["mass"] == {"2026-11": 1} and "mass" not in sends["o4"]

    async def test_a_draft_is_edited_sent_and_deleted_only_at_its_version(self, store: Store) -> None:
        text = (Variant("A", 1, MessageContent("text", text="hi")),)
        draft = new_push(push_id="d1", appid="wx1", name="d", segment_id="s1", variants=text, now=NOW, draft=True)
        await store.repository.add(draft)
        # A draft is never due, whatever the statuses asked for.
        assert await store.port.claim_due(["draft", "scheduled"], "materializing", NOW, LEASE) is None
        renamed = new_push(
            push_id="d1", appid="wx1", name="renamed", segment_id="s2", variants=text, now=NOW, draft=True
        )
        assert await store.repository.edit_draft(renamed, 2) is None
        edited = await store.repository.edit_draft(renamed, 1)
        assert edited is not None and (edited["name"], edited["segment_id"], edited["version"]) == ("renamed", "s2", 2)
        assert await store.repository.send_draft("d1", 1, NOW) is None
        sent = await store.repository.send_draft("d1", 2, NOW)
        assert sent is not None and (sent["status"], sent["send_at"], sent["version"]) == ("scheduled", NOW, 3)
        assert not await store.repository.delete_draft("d1", None)  # scheduled now: not a draft
        await store.repository.add(
            new_push(push_id="d2", appid="wx1", name="d", segment_id="s1", variants=text, now=NOW, draft=True)
        )
        assert not await store.repository.delete_draft("d2", 5)
        assert await store.repository.delete_draft("d2", 1)
        assert await store.port.get("d2") is None

    async def test_a_segments_pushes_newest_first_within_the_account(self, store: Store) -> None:
        await store.insert(push("old", name="old", segment_id="s1", created_at=NOW - timedelta(days=1)))
        await store.insert(push("new", name="new", segment_id="s1", created_at=NOW))
        await store.insert(push("other", name="other", segment_id="s2", created_at=NOW))
        await store.insert(push("elsewhere", appid="wx2", name="x", segment_id="s1", created_at=NOW))
        found = await store.repository.of_segment("wx1", "s1")
        assert [(doc["_id"], doc["name"], doc["status"]) for doc in found] == [
            ("new", "new", "scheduled"),
            ("old", "old", "scheduled"),
        ]

    async def test_a_members_deliveries_and_clicks(self, store: Store) -> None:
        for n, push_id in enumerate(["p1", "p2"]):
            record = delivery(push_id, "o1") | {"variant": "A", "created_at": NOW + timedelta(minutes=n)}
            await store.port.record([record, delivery(push_id, "o2") | {"variant": "A", "created_at": NOW}])
        found = await store.repository.of_member("wx1", "o1", 10)
        assert [d["push_id"] for d in found] == ["p2", "p1"] and "_id" not in found[0]
        assert [d["push_id"] for d in await store.repository.of_member("wx1", "o1", 1)] == ["p2"]
        assert await store.repository.of_member("wx2", "o1", 10) == []
        assert await store.repository.count_click("p1", "A", "o1", "https://a.example/1", NOW)
        assert not await store.repository.count_click("p1", "A", "o1", "https://a.example/2", NOW)
        assert not await store.repository.count_click("p1", "A", "o1", "https://a.example/2", NOW)
        [click] = await store.repository.clicks_of("o1", ["p1", "p2"])
        assert (click["push_id"], click["first_at"], click["repeats"]) == ("p1", NOW, 2)
        assert click["urls"] == ["https://a.example/1", "https://a.example/2"]
        assert await store.repository.clicks_of("o2", ["p1"]) == []

    async def test_testers_are_kept_per_account_and_test_sends_apart(self, store: Store) -> None:
        assert await store.repository.testers("wx1") == []
        await store.repository.set_testers("wx1", [{"openid": "o1", "label": "Ann"}])
        await store.repository.set_testers("wx1", [{"openid": "o2", "label": ""}, {"openid": "o1", "label": "Ann"}])
        assert await store.repository.testers("wx1") == [
            {"openid": "o2", "label": ""},
            {"openid": "o1", "label": "Ann"},
        ]
        assert await store.repository.testers("wx2") == []
        await store.repository.record_test_sends([{"appid": "wx1", "push_id": "p1", "openid": "o1", "ok": True}])
        await store.repository.record_test_sends([])
        assert await store.port.recorded("p1", ["o1"]) == {}


class TestInMemoryPushes(PushStoreContract):
    @pytest.fixture
    async def store(self) -> Store:
        memory = InMemoryPushes()

        async def add_profiles(documents: list[dict[str, Any]]) -> None:
            memory.add_profiles(documents)

        return Store(memory, memory, memory.insert, memory.save_audience, add_profiles)


@pytest.mark.integration
class TestMongoPushStore(PushStoreContract):
    @pytest.fixture
    async def store(self, database: Any) -> Store:
        await ensure_indexes(database, INDEXES)
        mongo = MongoPushes(database)

        async def add_profiles(documents: list[dict[str, Any]]) -> None:
            await database["profiles"].insert_many(documents)

        return Store(mongo, mongo, mongo.insert, mongo.save_audience, add_profiles)
