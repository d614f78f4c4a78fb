"""Topic creation and publishing against a real Kafka-protocol broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

from scrm.topics import read_records
from shared.contracts import CATALOG, DEADLETTER, TOPICS, WECHAT_PUSHES, MemberFollowed
from shared.events import Envelope, Topic
from shared.localinfra import free_port
from shared.messaging import KafkaEventPublisher, PublishFailed, TopicMismatch, ensure_topics
from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration
AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def describe(infra: Infra, names: list[str]) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka)
    await admin.start()
    try:
        return {meta["topic"]: len(meta["partitions"]) for meta in await admin.describe_topics(names)}
    finally:
        await admin.close()


async def test_topics_are_created_from_the_registry_with_their_partitions(infra: Infra, isolation: Isolation) -> None:
    created = await ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix)
    assert sorted(created) == sorted(topic.physical_name(isolation.topic_prefix) for topic in TOPICS)
    assert await ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix) == []  # idempotent
    partitions = await describe(infra, [t.physical_name(isolation.topic_prefix) for t in TOPICS])
    assert partitions == {t.physical_name(isolation.topic_prefix): t.partitions for t in TOPICS}


async def test_a_topic_that_disagrees_with_its_declaration_is_reported(infra: Infra, isolation: Isolation) -> None:
    declared = Topic("drift", 3, timedelta(days=1), "k", (), "")
    await ensure_topics(infra.kafka, [declared], prefix=isolation.topic_prefix)
    redeclared = Topic("drift", 6, timedelta(days=1), "k", (), "")
    with pytest.raises(TopicMismatch, match="3 partitions"):
        await ensure_topics(infra.kafka, [redeclared], prefix=isolation.topic_prefix)


async def test_published_envelopes_arrive_keyed_and_decodable(infra: Infra, isolation: Isolation) -> None:
    await ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix)
    event = MemberFollowed(openid="o-key", followed_at=AT, scene="s")
    envelope = Envelope.wrap(event, appid="wx1", key="o-key")
    async with KafkaEventPublisher(infra.kafka, topic_prefix=isolation.topic_prefix) as publisher:
        await publisher.ready()
        await publisher.publish(WECHAT_PUSHES, envelope)
        with pytest.raises(TopicMismatch):
            await publisher.publish(DEADLETTER, envelope)

    [record] = await read_records(
        infra.kafka, WECHAT_PUSHES.physical_name(isolation.topic_prefix), at_least=1, within=20
    )
    assert record.key == b"o-key"
    assert dict(record.headers)["event-type"] == b"member.followed"
    received = Envelope.from_bytes(record.value)
    assert received == envelope and CATALOG.decode(received) == event


async def test_an_unreachable_broker_is_a_publish_failure() -> None:
    publisher = KafkaEventPublisher(f"127.0.0.1:{free_port()}", request_timeout_ms=1000)
    with pytest.raises(PublishFailed, match="cannot reach Kafka"):
        await publisher.start()


async def test_concurrent_publishes_all_arrive_in_order_per_key_where_any_kafka_client_would_put_them(
    infra: Infra, isolation: Isolation
) -> None:
    await ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix)
    keys = [f"o-{n}" for n in range(24)]

    def envelope(key: str, seq: int) -> Envelope:
        return Envelope.wrap(MemberFollowed(openid=key, followed_at=AT, scene=str(seq)), appid="wx1", key=key)

    async with KafkaEventPublisher(infra.kafka, topic_prefix=isolation.topic_prefix) as publisher:

        async def publish_in_sequence(key: str) -> None:
            for seq in range(10):
                await publisher.publish(WECHAT_PUSHES, envelope(key, seq))

        await asyncio.gather(*(publish_in_sequence(key) for key in keys))

    records = await read_records(
        infra.kafka, WECHAT_PUSHES.physical_name(isolation.topic_prefix), at_least=240, within=30
    )
    assert len(records) == 240
    partitions = list(range(WECHAT_PUSHES.partitions))
    seen: dict[str, list[str]] = {}
    for record in records:
        assert record.partition == DefaultPartitioner()(record.key, partitions, partitions)
        decoded = CATALOG.decode(Envelope.from_bytes(record.value))
        assert isinstance(decoded, MemberFollowed)
        seen.setdefault(decoded.openid, []).append(decoded.scene or "")
    assert seen == {key: [str(seq) for seq in range(10)] for key in keys}
