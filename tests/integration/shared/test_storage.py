"""The idempotent unit of work and declared indexes against a real MongoDB-protocol server."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError, InvalidOperation

from shared.settings import ServiceSettings
from shared.storage import (
    PROCESSED_EVENTS,
    IndexSpec,
    MongoUnitOfWork,
    StorageError,
    connect,
    ensure_indexes,
    is_transient,
    ping,
)
from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration


async def test_server_answers(mongo: AsyncMongoClient[dict[str, Any]]) -> None:
    await ping(mongo)


async def test_claim_and_effect_commit_together(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
) -> None:
    async with MongoUnitOfWork(mongo, isolation.database) as uow:
        assert await uow.claim("c", "e1")
        await uow.database["effects"].insert_one({"_id": "x"}, session=uow.session)
        await uow.commit()
    assert await database["effects"].count_documents({}) == 1
    assert await database[PROCESSED_EVENTS].find_one({"_id": "c:e1"}) is not None

    async with MongoUnitOfWork(mongo, isolation.database) as uow:
        assert not await uow.claim("c", "e1")  # a redelivery
    async with MongoUnitOfWork(mongo, isolation.database) as uow:
        assert await uow.claim("other-consumer", "e1")  # claims are per consumer
        await uow.commit()


async def test_leaving_without_commit_leaves_nothing(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
) -> None:
    with pytest.raises(RuntimeError, match="crash"):
        async with MongoUnitOfWork(mongo, isolation.database) as uow:
            assert await uow.claim("c", "e2")
            await uow.database["effects"].insert_one({"_id": "y"}, session=uow.session)
            raise RuntimeError("crash between effect and commit")
    assert await database["effects"].count_documents({}) == 0
    assert await database[PROCESSED_EVENTS].count_documents({}) == 0
    async with MongoUnitOfWork(mongo, isolation.database) as uow:  # so the retry is not a duplicate
        assert await uow.claim("c", "e2")


async def test_indexes_are_created_idempotently_and_enforced(database: Any) -> None:
    specs = [IndexSpec("things", (("appid", 1), ("code", 1)), name="appid_code", unique=True)]
    await ensure_indexes(database, specs)
    await ensure_indexes(database, specs)  # second start-up: no error
    names = [index["name"] async for index in await database["things"].list_indexes()]
    assert "appid_code" in names
    await database["things"].insert_one({"appid": "a", "code": 1})
    with pytest.raises(DuplicateKeyError):
        await database["things"].insert_one({"appid": "a", "code": 1})


async def test_claim_many_returns_only_the_new_ids_and_races_settle_once(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
) -> None:
    async with MongoUnitOfWork(mongo, isolation.database) as uow:
        assert await uow.claim_many("c", ["e1", "e2"]) == {"e1", "e2"}
        await uow.commit()
    async with MongoUnitOfWork(mongo, isolation.database) as uow:
        assert await uow.claim_many("c", ["e2", "e3", "e3"]) == {"e3"}  # e2 done, e3 named twice
        assert await uow.claim_many("c", []) == set()
        await uow.commit()
    assert await database[PROCESSED_EVENTS].count_documents({}) == 3

    # Two transactions claim overlapping batches: the second to write is told it conflicts.
    first, second = MongoUnitOfWork(mongo, isolation.database), MongoUnitOfWork(mongo, isolation.database)
    async with first, second:
        assert await first.claim_many("c", ["e4", "e5"]) == {"e4", "e5"}
        with pytest.raises(StorageError) as raised:
            await second.claim_many("c", ["e5", "e6"])
            await second.commit()
        assert is_transient(raised.value)
        await first.commit()
    async with MongoUnitOfWork(mongo, isolation.database) as uow:  # the retry leaves e5 out
        assert await uow.claim_many("c", ["e5", "e6"]) == {"e6"}


async def test_connect_opens_the_settings_database_with_its_indexes(infra: Infra, isolation: Isolation) -> None:
    settings = ServiceSettings(mongodb_url=infra.mongodb_url, mongodb_database=isolation.database)
    spec = IndexSpec("things", (("code", 1),), name="code", unique=True)
    async with connect(settings, [spec]) as mongo:
        await mongo.ready()
        assert mongo.database.name == isolation.database
        info = await mongo.database["things"].index_information()
        assert info["code"]["unique"] is True
        await mongo.client.drop_database(isolation.database)
    with pytest.raises(InvalidOperation):  # closed on the way out
        await mongo.client.admin.command("ping")
