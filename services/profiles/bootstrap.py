"""The profiles service's composition root: its API (mall webhook, profiles, ops tags) and its worker
build their adapters here; tests pass a publisher fake and get everything else real."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.profiles.adapters.repository import INDEXES, MongoProfileRepository, MongoProfilesUnitOfWork
from services.profiles.adapters.taxonomy_file import load_taxonomy
from services.profiles.domain.taxonomy import Taxonomy
from services.profiles.service_layer import mall
from services.profiles.settings import ProfilesSettings
from shared.contracts import TOPICS, MallEventReceived
from shared.events import Envelope, Message
from shared.messaging import EventPublisher, KafkaEventPublisher, ensure_topics
from shared.storage import PROCESSED_EVENTS_INDEXES, close_client, create_client, ensure_indexes, ping

__all__ = ["Profiles", "bootstrap"]


@dataclass(frozen=True)
class Profiles:
    settings: ProfilesSettings
    taxonomy: Taxonomy
    uow: Callable[[], MongoProfilesUnitOfWork]
    profiles: MongoProfileRepository
    #: None in the worker, which only consumes.
    publisher: EventPublisher | None
    readiness: dict[str, Callable[[], Awaitable[Any]]]

    @property
    def half_life(self) -> timedelta:
        return timedelta(days=self.settings.interest_half_life_days)

    async def handle(self, envelope: Envelope, message: Message) -> None:
        if isinstance(message, MallEventReceived):
            await mall.apply_mall_event(envelope, message, self.uow(), self.taxonomy, self.half_life)


@asynccontextmanager
async def bootstrap(
    settings: ProfilesSettings, *, publish: bool = True, publisher: EventPublisher | None = None
) -> AsyncIterator[Profiles]:
    """MongoDB, the taxonomy file and (for the API) a Kafka publisher; ``publisher`` replaces the last."""
    taxonomy = load_taxonomy(settings.taxonomy_path)  # a broken taxonomy stops start-up, with the reason
    client = create_client(settings)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(close_client, client)
        database = client[settings.mongodb_database]
        await ensure_indexes(database, (*INDEXES, *PROCESSED_EVENTS_INDEXES))

        async def mongodb_ready() -> None:
            await ping(client)

        readiness: dict[str, Callable[[], Awaitable[Any]]] = {"mongodb": mongodb_ready}
        if publish and publisher is None:
            await ensure_topics(settings.kafka_bootstrap_servers, TOPICS, prefix=settings.topic_prefix)
            kafka = await stack.enter_async_context(
                KafkaEventPublisher(
                    settings.kafka_bootstrap_servers,
                    topic_prefix=settings.topic_prefix,
                    client_id=settings.service_name,
                )
            )
            readiness["kafka"] = kafka.ready
            publisher = kafka
        yield Profiles(
            settings,
            taxonomy,
            lambda: MongoProfilesUnitOfWork(client, settings.mongodb_database),
            MongoProfileRepository(database),
            publisher,
            readiness,
        )
