"""Retention against a real MongoDB-protocol server: the TTL indexes a process declares appear when it
connects, an existing plain index becomes the TTL one, and a changed setting changes the expiry."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from shared.settings import ServiceSettings
from shared.storage import (
    PROCESSED_EVENTS,
    PROCESSED_EVENTS_INDEXES,
    IndexSpec,
    MongoUnitOfWork,
    connect,
    ensure_indexes,
)
from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration

DAY = 24 * 60 * 60


async def _expiries(database: Any, collection: str) -> dict[tuple[tuple[str, int], ...], int | None]:
    info = await database[collection].index_information()
    return {tuple((f, int(o)) for f, o in index["key"]): index.get("expireAfterSeconds") for index in info.values()}


async def test_processed_events_expire_after_the_setting(infra: Infra, isolation: Isolation, database: Any) -> None:
    # A database from before retention: the plain index on processed_at exists.
    await ensure_indexes(database, PROCESSED_EVENTS_INDEXES)
    assert (await _expiries(database, PROCESSED_EVENTS))[(("processed_at", 1),)] is None

    settings = ServiceSettings(mongodb_url=infra.mongodb_url, mongodb_database=isolation.database)
    async with connect(settings, PROCESSED_EVENTS_INDEXES):
        pass
    assert (await _expiries(database, PROCESSED_EVENTS))[(("processed_at", 1),)] == 45 * DAY

    longer = settings.model_copy(update={"processed_events_retention_days": 60})
    async with connect(longer, PROCESSED_EVENTS_INDEXES):
        pass
    async with connect(longer, PROCESSED_EVENTS_INDEXES):  # a second start: nothing to change
        pass
    assert (await _expiries(database, PROCESSED_EVENTS))[(("processed_at", 1),)] == 60 * DAY


async def test_only_the_collections_a_process_declares_get_their_ttl(
    infra: Infra, isolation: Isolation, database: Any
) -> None:
    settings = ServiceSettings(mongodb_url=infra.mongodb_url, mongodb_database=isolation.database)
    history = IndexSpec("profile_history", (("appid", 1), ("openid", 1), ("at", -1)), name="member_at")
    async with connect(settings, (history,)):
        pass
    assert (await _expiries(database, "profile_history"))[(("at", 1),)] == 730 * DAY
    assert "audit_log" not in await database.list_collection_names()


async def test_the_server_removes_expired_documents(database: Any) -> None:
    await ensure_indexes(database, (IndexSpec("probe", (("at", 1),), name="retention", expire_after_seconds=1),))
    old = datetime.now(UTC) - timedelta(days=1)
    await database["probe"].insert_many([{"_id": "old", "at": old}, {"_id": "pending"}])
    for _ in range(150):
        if await database["probe"].find_one({"_id": "old"}) is None:
            break
        await asyncio.sleep(1)
    assert await database["probe"].find_one({"_id": "old"}) is None
    assert await database["probe"].find_one({"_id": "pending"}) is not None  # no date: never expires


async def test_every_claim_carries_the_date_its_retention_counts_from(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
) -> None:
    async with MongoUnitOfWork(mongo, isolation.database) as uow:
        assert await uow.claim("members", "e1")
        assert await uow.claim_many("campaigns.referrals", ["e1", "e2"]) == {"e1", "e2"}
        await uow.commit()
    assert await database[PROCESSED_EVENTS].count_documents({}) == 3
    assert await database[PROCESSED_EVENTS].count_documents({"processed_at": {"$type": "date"}}) == 3


async def test_an_index_on_the_date_field_in_either_order_is_the_one_retimed(database: Any) -> None:
    await ensure_indexes(database, (IndexSpec("audit_log", (("at", -1),), "audit_at"),))
    await ensure_indexes(database, (IndexSpec("audit_log", (("at", 1),), "retention", expire_after_seconds=DAY),))
    expiries = await _expiries(database, "audit_log")
    assert (("at", 1),) not in expiries and expiries[(("at", -1),)] == DAY  # no second index on `at`
