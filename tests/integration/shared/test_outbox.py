"""The transactional outbox against the real servers: emitted with the effect, relayed after the commit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from scrm_dev.topics import read_records
from shared.contracts import TOPICS, WECHAT_PUSHES, MemberFollowed
from shared.events import Envelope, Topic
from shared.messaging import InMemoryEventPublisher, KafkaEventPublisher, OutboxRelay, ensure_topics
from shared.storage import OUTBOX, MongoUnitOfWork
from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def followed(openid: str, n: int) -> Envelope:
    event = MemberFollowed(openid=openid, followed_at=AT, scene=f"s{n}")
    return Envelope.wrap(event, appid="wx1", key=openid, event_id=f"{openid}-{n}")


async def test_an_event_is_emitted_only_if_its_transaction_commits(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
) -> None:
    async with MongoUnitOfWork(mongo, isolation.database) as uow:
        await uow.emit(WECHAT_PUSHES, followed("o-a", 0))
        # left without commit: aborted
    async with MongoUnitOfWork(mongo, isolation.database) as uow:
        await uow.database["effects"].insert_one({"_id": "x"}, session=uow.session)
        await uow.emit(WECHAT_PUSHES, followed("o-a", 1))
        await uow.emit(WECHAT_PUSHES, followed("o-a", 1))  # a retried use case: the same id, kept once
        await uow.commit()
    assert [doc["_id"] async for doc in database[OUTBOX].find({})] == ["o-a-1"]

    publisher = InMemoryEventPublisher()
    async with OutboxRelay(database, publisher, idle_seconds=0.05) as relay:
        await relay.drain()
    assert [(topic, envelope.event_id) for topic, envelope in publisher.published] == [(WECHAT_PUSHES, "o-a-1")]
    assert await database[OUTBOX].count_documents({}) == 0


class FailingOnce(InMemoryEventPublisher):
    def __init__(self, fail_event: str) -> None:
        super().__init__()
        self._fail = fail_event

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        if envelope.event_id == self._fail:
            self._fail = ""
            raise RuntimeError("broker away")
        await super().publish(topic, envelope)


async def test_a_failed_publish_keeps_the_entry_and_the_members_order(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
) -> None:
    async with MongoUnitOfWork(mongo, isolation.database) as uow:
        for n in range(3):
            await uow.emit(WECHAT_PUSHES, followed("o-a", n))
        await uow.emit(WECHAT_PUSHES, followed("o-b", 0))
        await uow.commit()
    publisher = FailingOnce("o-a-1")
    relay = OutboxRelay(database, publisher, idle_seconds=0.05)
    with pytest.raises(Exception, match="not published yet"):
        await relay.relay_once()
    # o-a-2 waited behind o-a-1; o-b went out.
    assert sorted(e.event_id for _, e in publisher.published) == ["o-a-0", "o-b-0"]
    assert await relay.drain() == 2
    assert [e.event_id for _, e in publisher.published if e.key == "o-a"] == ["o-a-0", "o-a-1", "o-a-2"]


async def test_the_relay_publishes_to_kafka_in_the_background(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any, infra: Infra
) -> None:
    await ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix)
    async with MongoUnitOfWork(mongo, isolation.database) as uow:
        for n in range(5):
            await uow.emit(WECHAT_PUSHES, followed("o-k", n))
        await uow.commit()
    async with (
        KafkaEventPublisher(infra.kafka, topic_prefix=isolation.topic_prefix) as publisher,
        OutboxRelay(database, publisher, idle_seconds=0.05),
    ):
        for _ in range(200):
            if await database[OUTBOX].count_documents({}) == 0:
                break
            await asyncio.sleep(0.05)
    records = await read_records(
        infra.kafka, WECHAT_PUSHES.physical_name(isolation.topic_prefix), at_least=5, within=10
    )
    assert [Envelope.from_bytes(r.value).event_id for r in records] == [f"o-k-{n}" for n in range(5)]
