"""One contract for the ``EventPublisher`` port, run against the in-memory publisher and Kafka's."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from scrm_dev.topics import read_records
from shared.contracts import DEADLETTER, TOPICS, WECHAT_PUSHES, MemberFollowed
from shared.events import Envelope, Topic
from shared.messaging import EventPublisher, InMemoryEventPublisher, KafkaEventPublisher, TopicMismatch, ensure_topics
from tests.conftest import Infra, Isolation

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@dataclass
class Publisher:
    port: EventPublisher
    #: The first ``n`` envelopes on a topic, in the order they are stored there.
    read: Callable[[Topic, int], Awaitable[list[Envelope]]]


def followed(n: int) -> Envelope:
    event = MemberFollowed(openid="o-key", followed_at=AT, scene=f"s{n}")
    return Envelope.wrap(event, appid="wx1", key="o-key")


class EventPublisherContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def publisher(self) -> AsyncIterator[Publisher]:
        yield NotImplemented

    async def test_envelopes_of_one_key_arrive_whole_and_in_order(self, publisher: Publisher) -> None:
        sent = [followed(n) for n in range(3)]
        for envelope in sent:
            await publisher.port.publish(WECHAT_PUSHES, envelope)
        assert await publisher.read(WECHAT_PUSHES, 3) == sent

    async def test_a_topic_that_does_not_carry_the_type_is_refused(self, publisher: Publisher) -> None:
        with pytest.raises(TopicMismatch):
            await publisher.port.publish(DEADLETTER, followed(0))


class TestInMemoryEventPublisher(EventPublisherContract):
    @pytest.fixture
    async def publisher(self) -> AsyncIterator[Publisher]:
        memory = InMemoryEventPublisher()

        async def read(topic: Topic, n: int) -> list[Envelope]:
            return [envelope for to, envelope in memory.published if to == topic][:n]

        yield Publisher(memory, read)


@pytest.mark.integration
class TestKafkaEventPublisher(EventPublisherContract):
    @pytest.fixture
    async def publisher(self, infra: Infra, isolation: Isolation) -> AsyncIterator[Publisher]:
        await ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix)

        async def read(topic: Topic, n: int) -> list[Envelope]:
            records = await read_records(
                infra.kafka, topic.physical_name(isolation.topic_prefix), at_least=n, within=20
            )
            return [Envelope.from_bytes(record.value) for record in records][:n]

        async with KafkaEventPublisher(infra.kafka, topic_prefix=isolation.topic_prefix) as kafka:
            yield Publisher(kafka, read)
