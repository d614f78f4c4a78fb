"""The rollup store's port against the MongoDB-protocol server, beside the in-memory one: the same batches
give the same documents; a transaction left without commit keeps nothing; concurrent batches on the same
day's rollup (two workers) lose write races that are retried, and every event still counts once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.analytics.adapters.memory_rollups import InMemoryRollupsUnitOfWork
from services.analytics.adapters.rollup_store import (
    FOLLOWERS,
    ROLLUP_INDEXES,
    ROLLUPS,
    MongoRollupsUnitOfWork,
)
from services.analytics.domain.rollups import Follower, Rollups
from services.analytics.service_layer.ports import RollupsUnitOfWork
from services.analytics.service_layer.rollups import RollupFolder, fold_batch
from shared.contracts import CampaignInviteCredited, MemberFollowed, MemberUnfollowed, PushDelivered
from shared.events import Envelope, Message
from shared.storage import PROCESSED_EVENTS, ensure_indexes, is_transient
from tests.conftest import Isolation

pytestmark = pytest.mark.integration

APPID = "wxroll"
T0 = datetime(2026, 12, 1, 2, 0, 0, 123000, tzinfo=UTC)
DAY = "2026-12-01"
Batch = list[tuple[Envelope, Message]]


def env(message: Message, event_id: str) -> tuple[Envelope, Message]:
    return Envelope.wrap(message, appid=APPID, key="k", event_id=event_id), message


def batches() -> list[Batch]:
    follow = env(MemberFollowed(openid="o1", followed_at=T0, scene="j.c1"), "f1")
    credit = env(CampaignInviteCredited(openid="o0", campaign_id="c.1", invitee_openid="o1", credited_at=T0), "c1")
    unfollow = env(MemberUnfollowed(openid="o1", unfollowed_at=T0 + timedelta(days=8)), "u1")
    push = env(
        PushDelivered(
            openid="o1", push_id="p1", segment_id="s1", variant="A", project_id="pr.1", channel="template",
            delivered_at=T0,
        ),
        "d1",
    )  # fmt: skip
    return [[follow, credit], [credit, unfollow, push], [push, follow]]


@pytest.fixture
async def store(mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any) -> AsyncIterator[Any]:
    await ensure_indexes(database, ROLLUP_INDEXES)
    yield database


def _mongo_uow(mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation) -> Callable[[], RollupsUnitOfWork]:
    return lambda: MongoRollupsUnitOfWork(mongo, isolation.database)


async def test_the_same_batches_give_the_same_documents_as_in_memory(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, store: Any
) -> None:
    memory = InMemoryRollupsUnitOfWork()
    for batch in batches():
        await fold_batch(memory, batch)
        await fold_batch(_mongo_uow(mongo, isolation)(), batch)
    stored = {doc["_id"]: doc async for doc in store[ROLLUPS].find()}
    assert stored == memory.documents
    assert stored[f"{APPID}|campaign:c_1|{DAY}"]["c"] == {"credited": 1, "invitees_lost_30d": 1}
    assert stored[f"{APPID}|project:pr_1|{DAY}"]["c"]["delivered:push:p1"] == 1
    follower = await store[FOLLOWERS].find_one({"_id": f"{APPID}|o1"})
    assert follower["source"] == "campaign_code"
    assert follower["credits"] == [{"campaign": "c.1", "at": T0}]
    assert follower["unfollows"] == [T0 + timedelta(days=8)]
    assert await store[PROCESSED_EVENTS].count_documents({}) == 4
    indexes = {index["name"] async for index in await store[ROLLUPS].list_indexes()}
    assert {"appid_scope_day", "appid_day"} <= indexes


async def test_followers_read_back_as_they_were_written(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, store: Any
) -> None:
    written = Follower(APPID, "o2", "poster", T0, {"c.1": T0, "c2": T0 + timedelta(hours=1)}, [T0, T0])
    async with _mongo_uow(mongo, isolation)() as uow:
        await uow.followers.save_many([written])
        await uow.commit()
    async with _mongo_uow(mongo, isolation)() as uow:
        assert await uow.followers.get_many([(APPID, "o2"), (APPID, "nobody")]) == {(APPID, "o2"): written}


async def test_a_transaction_left_without_commit_keeps_nothing(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, store: Any
) -> None:
    increments = Rollups()
    increments.add(APPID, "account", DAY, "follows", 3)
    async with _mongo_uow(mongo, isolation)() as uow:
        assert await uow.claim_many("analytics", ["x1"]) == {"x1"}
        await uow.rollups.add(increments)
        await uow.followers.save_many([Follower(APPID, "o3")])
    assert await store[ROLLUPS].count_documents({}) == 0
    assert await store[FOLLOWERS].count_documents({}) == 0
    assert await store[PROCESSED_EVENTS].count_documents({}) == 0


async def test_two_workers_racing_on_the_same_rollups_count_every_event_once(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, store: Any
) -> None:
    rng = random.Random(3)
    events = [
        env(MemberFollowed(openid=f"o{n}", followed_at=T0, scene=rng.choice([None, "r.c1.p1"])), f"f{n}")
        for n in range(120)
    ]
    # Two folders, as two worker processes: no shared lock, only the database between them; some
    # events reach both (a rebalance hands a partition over mid-batch).
    first, second = events[:70], events[50:]
    folders = [RollupFolder(_mongo_uow(mongo, isolation), attempts=50, pause=0.005) for _ in range(2)]

    async def run(folder: RollupFolder, share: Batch) -> None:
        for start in range(0, len(share), 10):
            await folder.fold(share[start : start + 10])

    await asyncio.gather(run(folders[0], first), run(folders[1], second))
    account = await store[ROLLUPS].find_one({"_id": f"{APPID}|account|{DAY}"})
    counters = account["c"]
    assert counters["follows"] == 120
    assert counters.get("follows:direct", 0) + counters.get("follows:poster", 0) == 120
    assert await store[PROCESSED_EVENTS].count_documents({}) == 120


async def test_a_batch_meeting_an_open_transaction_on_its_rollup_loses_transiently(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, store: Any
) -> None:
    follow = env(MemberFollowed(openid="o1", followed_at=T0), "f1")
    other = env(MemberFollowed(openid="o2", followed_at=T0), "f2")
    holder = _mongo_uow(mongo, isolation)()
    async with holder:
        await fold_batch_inside(holder, [follow])
        with pytest.raises(Exception) as lost:
            await fold_batch(_mongo_uow(mongo, isolation)(), [other])
        assert is_transient(lost.value)
        await holder.commit()
    await RollupFolder(_mongo_uow(mongo, isolation)).fold([other])
    account = await store[ROLLUPS].find_one({"_id": f"{APPID}|account|{DAY}"})
    assert account["c"] == {"follows": 2, "follows:direct": 2}


async def fold_batch_inside(uow: RollupsUnitOfWork, batch: Batch) -> None:
    """What :func:`fold_batch` writes, inside a transaction the caller keeps open."""
    increments = Rollups()
    assert await uow.claim_many("analytics", [envelope.event_id for envelope, _ in batch])
    for envelope, message in batch:
        increments.add(envelope.appid, "account", DAY, "follows")
        assert isinstance(message, MemberFollowed)
        increments.add(envelope.appid, "account", DAY, "follows:direct")
    await uow.rollups.add(increments)
