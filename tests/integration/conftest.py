from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol, TypeVar

import pytest
from pymongo import AsyncMongoClient, MongoClient

from shared.settings import ServiceSettings, load_settings
from tests.accounts import account
from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration

S = TypeVar("S", bound=ServiceSettings)


class LoadSettings(Protocol):
    def __call__(self, settings_class: type[S], /, **fields: Any) -> S:
        """``settings_class`` pointed at this test's broker, topics and database, with the test account
        (``wechat_accounts`` and any other field may be given)."""
        ...


@pytest.fixture
async def mongo(infra: Infra) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
async def database(mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation) -> AsyncIterator[Any]:
    yield mongo[isolation.database]
    await mongo.drop_database(isolation.database)


@pytest.fixture
def service_settings(infra: Infra, isolation: Isolation) -> Iterator[LoadSettings]:
    """Builds a service's settings for this test; the test's database is dropped afterwards."""

    def load(settings_class: type[S], /, **fields: Any) -> S:
        defaults: dict[str, Any] = {
            "environment": "test",
            "mongodb_url": infra.mongodb_url,
            "mongodb_database": isolation.database,
            "kafka_bootstrap_servers": infra.kafka,
            "topic_prefix": isolation.topic_prefix,
            "wechat_accounts": [account()],
        }
        return load_settings(settings_class, **(defaults | fields))

    try:
        yield load
    finally:
        # Synchronous: the test's own event loop may be gone, or be an app's (TestClient) by now.
        client: MongoClient[dict[str, Any]]
        with MongoClient(infra.mongodb_url) as client:
            client.drop_database(isolation.database)
