from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.events import TopicRegistry
from shared.messaging._admin import ensure_topics
from shared.messaging._publisher import KafkaEventPublisher
from shared.settings import ServiceSettings

__all__ = ["connect_publisher"]


@asynccontextmanager
async def connect_publisher(settings: ServiceSettings, topics: TopicRegistry) -> AsyncIterator[KafkaEventPublisher]:
    """A service's publisher: the registry's topics exist first, then the producer opens.

    The settings name the broker, the topic prefix and the client id, so every producing process
    connects the same way.
    """
    await ensure_topics(settings.kafka_bootstrap_servers, topics, prefix=settings.topic_prefix)
    async with KafkaEventPublisher(
        settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix, client_id=settings.service_name
    ) as publisher:
        yield publisher
