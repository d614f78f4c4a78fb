"""The held notices' store (issue 21 item 4) against the in-memory adapter and MongoDB's: an account's
notices held since a time, oldest first, with the text they were held with; a claim taken once; a
settle only of a claimed notice."""

from __future__ import annotations

import abc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.campaigns.adapters.held_notices import HELD_NOTICE_INDEXES, MongoHeldNotices
from services.campaigns.adapters.memory import CampaignRecords, InMemoryHeldNotices
from services.campaigns.adapters.referrals import INDEXES, NOTICES
from services.campaigns.service_layer.notice_fallback import HeldNotices
from shared.storage import ensure_indexes

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def notice(notice_id: str, *, appid: str = "wx1", status: str = "held", held_hours_ago: float = 3) -> dict[str, Any]:
    return {
        "campaign_id": "c1",
        "appid": appid,
        "openid": f"o_{notice_id}",
        "kind": "tier-1",
        "text": "恭喜！券码 {code}",
        "delivered_text": "恭喜！券码 ABC123",
        "created_at": NOW - timedelta(days=1),
        "status": status,
        "event_id": "e1",
        "reward_id": None,
        "reward_pool": None,
        "held_at": NOW - timedelta(hours=held_hours_ago),
    }


class HeldNoticesContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def store(self) -> tuple[HeldNotices, Any]: ...

    async def test_held_notices_are_found_claimed_once_and_settled(self, store: tuple[HeldNotices, Any]) -> None:
        port, seed = store
        await seed.put("n_old", notice("n_old", held_hours_ago=5))
        await seed.put("n_new", notice("n_new", held_hours_ago=3))
        await seed.put("n_recent", notice("n_recent", held_hours_ago=0.5))
        await seed.put("n_other", notice("n_other", appid="wx2"))
        await seed.put("n_sent", notice("n_sent", status="sent"))
        found = await port.held_before("wx1", NOW - timedelta(hours=1), 10)
        assert [n.id for n in found] == ["n_old", "n_new"]
        assert found[0].text == "恭喜！券码 ABC123" and found[0].openid == "o_n_old"
        assert await port.claim("n_old", NOW) is True
        assert await port.claim("n_old", NOW) is False
        await port.settle("n_new", "sent", NOW, {"channel": "template"})  # not claimed: nothing happens
        assert (await seed.get("n_new"))["status"] == "held"
        await port.settle("n_old", "sent", NOW, {"channel": "template", "msgid": 7})
        old = await seed.get("n_old")
        assert (old["status"], old["channel"], old["msgid"]) == ("sent", "template", 7)
        assert [n.id for n in await port.held_before("wx1", NOW, 10)] == ["n_new", "n_recent"]


class _MemorySeed:
    def __init__(self, records: CampaignRecords) -> None:
        self.records = records

    async def put(self, notice_id: str, doc: dict[str, Any]) -> None:
        self.records.notices[notice_id] = {"id": notice_id, **doc}

    async def get(self, notice_id: str) -> dict[str, Any]:
        return self.records.notices[notice_id]


class _MongoSeed:
    def __init__(self, database: Any) -> None:
        self.collection = database[NOTICES]

    async def put(self, notice_id: str, doc: dict[str, Any]) -> None:
        await self.collection.insert_one({"_id": notice_id, **doc})

    async def get(self, notice_id: str) -> dict[str, Any]:
        found = await self.collection.find_one({"_id": notice_id})
        assert found is not None
        return dict(found)


class TestInMemoryHeldNotices(HeldNoticesContract):
    @pytest.fixture
    async def store(self) -> tuple[HeldNotices, Any]:
        records = CampaignRecords()
        return InMemoryHeldNotices(records), _MemorySeed(records)


class TestMongoHeldNotices(HeldNoticesContract):
    @pytest.fixture
    async def store(self, database: Any) -> tuple[HeldNotices, Any]:
        await ensure_indexes(database, (*INDEXES, *HELD_NOTICE_INDEXES))
        return MongoHeldNotices(database), _MongoSeed(database)
