"""The gateway's composition root: the HTTP lifespan and the tests both build it here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.gateway.adapters.accounts import AccountDirectory, StaticAccountDirectory
from services.gateway.settings import GatewaySettings
from shared.contracts import TOPICS
from shared.messaging import EventPublisher, KafkaEventPublisher, ensure_topics


@dataclass(frozen=True)
class Gateway:
    settings: GatewaySettings
    accounts: AccountDirectory
    publisher: EventPublisher


@asynccontextmanager
async def bootstrap(
    settings: GatewaySettings,
    *,
    publisher: EventPublisher | None = None,
    accounts: AccountDirectory | None = None,
) -> AsyncIterator[Gateway]:
    """Wire the gateway. Real adapters unless the caller passes fakes (unit tests)."""
    accounts = accounts or StaticAccountDirectory(settings.wechat_accounts)
    if publisher is not None:
        yield Gateway(settings, accounts, publisher)
        return
    await ensure_topics(settings.kafka_bootstrap_servers, TOPICS, prefix=settings.topic_prefix)
    async with KafkaEventPublisher(
        settings.kafka_bootstrap_servers, topic_prefix=settings.topic_prefix, client_id=settings.service_name
    ) as kafka:
        yield Gateway(settings, accounts, kafka)
