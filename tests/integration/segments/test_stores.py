"""The segments service's repositories: one contract each, met by MongoDB and by the in-memory stores the
unit tests use (so a unit test over one says something about the real store)."""

from __future__ import annotations

import abc
import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.segments.adapters.memory import InMemoryPushes, InMemorySegments
from services.segments.adapters.store import INDEXES, MongoPushes, MongoSegments
from services.segments.domain.pushes import MessageContent, Variant, new_push
from services.segments.domain.segments import SegmentNameTaken, SegmentVersionConflict
from services.segments.service_layer.ports import PushRepository, SegmentRepository
from shared.storage import ensure_indexes

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RULE = {"has_tag": "interest.feeding.formula"}


def push(push_id: str, appid: str = "wx1", *, send_at: datetime = NOW, created: datetime = NOW) -> Any:
    variants = [Variant("A", 1, MessageContent("text", text="hi"))]
    return new_push(
        push_id=push_id, appid=appid, name=push_id, segment_id="seg_1", variants=variants, now=created, send_at=send_at
    )


class SegmentRepositoryContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def store(self) -> SegmentRepository: ...

    async def test_a_segment_is_saved_in_versions(self, store: SegmentRepository) -> None:
        first = await store.create("wx1", "late", "d", RULE)
        assert (first.appid, first.name, first.description, first.version, first.rule) == ("wx1", "late", "d", 1, RULE)
        second = await store.update("wx1", first.id, "later", "", {"not": RULE})
        assert second is not None and (second.id, second.version, second.name) == (first.id, 2, "later")
        assert await store.get("wx1", first.id) == second
        assert [(v["version"], v["rule"]) for v in await store.versions(first.id)] == [(2, {"not": RULE}), (1, RULE)]

    async def test_names_are_unique_per_account(self, store: SegmentRepository) -> None:
        taken = await store.create("wx1", "late", "", RULE)
        other = await store.create("wx1", "early", "", RULE)
        await store.create("wx2", "late", "", RULE)
        with pytest.raises(SegmentNameTaken):
            await store.create("wx1", "late", "", RULE)
        with pytest.raises(SegmentNameTaken):
            await store.update("wx1", other.id, taken.name, "", RULE)

    async def test_a_save_based_on_an_old_version_is_refused(self, store: SegmentRepository) -> None:
        first = await store.create("wx1", "late", "", RULE)
        mine = await store.update("wx1", first.id, "late", "", {"not": RULE}, expected_version=1)
        assert mine is not None and mine.version == 2
        with pytest.raises(SegmentVersionConflict) as conflict:
            await store.update("wx1", first.id, "theirs", "", RULE, expected_version=1)
        assert (conflict.value.expected, conflict.value.current) == (1, 2)
        assert await store.get("wx1", first.id) == mine
        assert [v["version"] for v in await store.versions(first.id)] == [2, 1]  # no version left behind

    async def test_two_saves_of_one_version_at_once_make_one_new_version(self, store: SegmentRepository) -> None:
        first = await store.create("wx1", "late", "", RULE)
        outcomes = await asyncio.gather(
            store.update("wx1", first.id, "a", "", RULE, expected_version=1),
            store.update("wx1", first.id, "b", "", RULE, expected_version=1),
            return_exceptions=True,
        )
        saved = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(saved) == 1 and all(isinstance(o, SegmentVersionConflict) for o in outcomes if o not in saved)
        assert [v["version"] for v in await store.versions(first.id)] == [2, 1]

    async def test_segments_are_the_accounts_own_listed_by_name_and_deleted(self, store: SegmentRepository) -> None:
        b = await store.create("wx1", "b", "", RULE)
        await store.create("wx1", "a", "", RULE)
        await store.create("wx2", "c", "", RULE)
        assert [s.name for s in await store.of_account("wx1")] == ["a", "b"]
        assert await store.get("wx2", b.id) is None
        assert await store.update("wx2", b.id, "b", "", RULE) is None
        assert not await store.delete("wx2", b.id)
        assert await store.delete("wx1", b.id)
        assert await store.get("wx1", b.id) is None and not await store.delete("wx1", b.id)


class PushRepositoryContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def store(self) -> PushRepository: ...

    async def test_a_push_is_kept_for_its_account(self, store: PushRepository) -> None:
        added = await store.add(push("push_1"))
        assert (added["_id"], added["status"], added["stats"]["total"]["clicked"]) == ("push_1", "scheduled", 0)
        found = await store.get("push_1", "wx1")
        assert found is not None and found["variants"] == added["variants"] and found["send_at"] == NOW
        assert await store.get("push_1", "wx2") is None
        assert await store.get("push_nope") is None

    async def test_an_accounts_pushes_come_newest_first(self, store: PushRepository) -> None:
        for n in range(3):
            await store.add(push(f"push_{n}", created=NOW + timedelta(minutes=n)))
        await store.add(push("push_other", "wx2"))
        assert [d["_id"] for d in await store.of_account("wx1")] == ["push_2", "push_1", "push_0"]
        assert [d["_id"] for d in await store.of_account("wx1", limit=1)] == ["push_2"]

    async def test_a_transition_moves_only_from_the_statuses_given(self, store: PushRepository) -> None:
        await store.add(push("push_1"))
        assert await store.transition("push_1", ["paused"], "scheduled") is None
        moved = await store.transition("push_1", ["scheduled", "sending"], "paused", paused_from="scheduled")
        assert moved is not None and (moved["status"], moved["paused_from"]) == ("paused", "scheduled")
        found = await store.get("push_1")
        assert found is not None and found["status"] == "paused"

    async def test_a_due_push_is_claimed_once_per_lease(self, store: PushRepository) -> None:
        await store.add(push("push_later", send_at=NOW + timedelta(hours=1)))
        await store.add(push("push_due"))
        lease = timedelta(minutes=5)
        claimed = await store.claim_due(["scheduled"], "materializing", NOW, lease)
        assert claimed is not None and (claimed["_id"], claimed["status"]) == ("push_due", "materializing")
        assert await store.claim_due(["scheduled", "materializing"], "materializing", NOW, lease) is None
        again = await store.claim_due(["materializing"], "materializing", NOW + lease + timedelta(seconds=1), lease)
        assert again is not None and again["_id"] == "push_due"

    async def test_updates_set_fields_and_add_to_counters(self, store: PushRepository) -> None:
        await store.add(push("push_1"))
        await store.update(
            "push_1", {"note": "n", "cursor.chunk": 2}, {"stats.total.sent": 2, "stats.variants.A.sent": 1}
        )
        await store.update("push_1", {}, {"stats.total.sent": 1})
        found = await store.get("push_1")
        assert found is not None and (found["note"], found["cursor"]) == ("n", {"chunk": 2})
        assert found["stats"]["total"]["sent"] == 3 and found["stats"]["variants"]["A"]["sent"] == 1

    async def test_an_audience_is_saved_in_chunks(self, store: PushRepository) -> None:
        await store.add(push("push_1"))
        assert await store.save_audience("push_1", [f"o{n}" for n in range(5)], 2) == 3

    async def test_a_members_click_counts_once_an_anonymous_one_always(self, store: PushRepository) -> None:
        assert await store.count_click("push_1", "A", "o1", "https://b.example/", NOW)
        assert not await store.count_click("push_1", "A", "o1", "https://b.example/", NOW)
        assert await store.count_click("push_1", "B", "o1", "https://b.example/", NOW)
        assert await store.count_click("push_1", "A", "", "https://b.example/", NOW)
        assert await store.count_click("push_1", "A", "", "https://b.example/", NOW)


class TestInMemorySegments(SegmentRepositoryContract):
    @pytest.fixture
    async def store(self) -> SegmentRepository:
        return InMemorySegments()


@pytest.mark.integration
class TestMongoSegments(SegmentRepositoryContract):
    @pytest.fixture
    async def store(self, database: Any) -> SegmentRepository:
        await ensure_indexes(database, INDEXES)
        return MongoSegments(database)


class TestInMemoryPushes(PushRepositoryContract):
    @pytest.fixture
    async def store(self) -> PushRepository:
        return InMemoryPushes()


@pytest.mark.integration
class TestMongoPushes(PushRepositoryContract):
    @pytest.fixture
    async def store(self, database: Any) -> PushRepository:
        await ensure_indexes(database, INDEXES)
        return MongoPushes(database)


@pytest.mark.integration
async def test_anonymous_clicks_grow_one_counter_not_the_collection(database: Any) -> None:
    await ensure_indexes(database, INDEXES)
    store = MongoPushes(database)
    for _ in range(50):
        assert await store.count_click("push_1", "A", "", "https://b.example/", NOW)
    await store.count_click("push_1", "B", "", "https://b.example/", NOW)
    counters = await database["push_clicks"].find({"push_id": "push_1"}).to_list()
    assert sorted((c["variant"], c["count"]) for c in counters) == [("A", 50), ("B", 1)]
