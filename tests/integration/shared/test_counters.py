"""``MongoCounters``: counts spread over shard documents, read as their sum, changed only with the
transaction that carries them, and rebuilt without losing a write that lands during the recount."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient

from shared.storage import COUNTER_SHARDS, MongoCounters, counter_shard

pytestmark = pytest.mark.integration


def test_a_member_always_counts_in_the_same_shard() -> None:
    assert counter_shard("o_mom") == counter_shard("o_mom")
    assert {counter_shard(f"o{n}") for n in range(200)} == set(range(COUNTER_SHARDS))


async def test_counts_add_up_across_shards_and_vanish_with_an_aborted_transaction(
    mongo: AsyncMongoClient[dict[str, Any]], database: Any
) -> None:
    counters = MongoCounters(database, "counters")
    for n in range(20):
        await counters.add("campaign:c1", f"o{n}", {"participants:keyword": 1, "posters_sent": n % 2}, session=None)
    await counters.add("campaign:c2", "o1", {"participants:menu": 1}, session=None)
    await counters.add("campaign:c1", "o1", {}, session=None)  # nothing to add: no write
    assert await counters.read("campaign:c1") == {"participants:keyword": 20, "posters_sent": 10}
    assert await database["counters"].count_documents({"scope": "campaign:c1"}) <= COUNTER_SHARDS

    async with mongo.start_session() as session:
        await session.start_transaction()
        await counters.add("campaign:c1", "o1", {"posters_sent": 5}, session=session)
        await session.abort_transaction()
    assert await counters.read("campaign:c1") == {"participants:keyword": 20, "posters_sent": 10}
    await counters.add("campaign:c1", "o1", {"posters_sent": -10}, session=None)
    assert await counters.read("campaign:c1") == {"participants:keyword": 20}  # zeros left out


async def test_a_rebuild_recounts_again_when_a_write_lands_during_the_recount(database: Any) -> None:
    counters = MongoCounters(database, "counters")
    await counters.add("account:wx1", "o1", {"members": 3}, session=None)
    recounts = 0

    async def recount() -> dict[str, int]:
        nonlocal recounts
        recounts += 1
        if recounts == 1:  # a counted write commits while the records are being recounted
            await counters.add("account:wx1", "o2", {"members": 1}, session=None)
        return {"members": 10 + recounts, "following": 0}

    assert await counters.rebuild("account:wx1", recount) == {"members": 12}
    assert recounts == 2
    assert await counters.read("account:wx1") == {"members": 12}
    await counters.add("account:wx1", "o3", {"members": 1}, session=None)
    assert await counters.read("account:wx1") == {"members": 13}
