from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.conftest import Infra, Isolation

pytestmark = pytest.mark.integration


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
