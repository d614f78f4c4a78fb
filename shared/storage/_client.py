from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.settings import ServiceSettings
from shared.storage._exceptions import StorageUnavailable
from shared.storage._indexes import IndexSpec, ensure_indexes
from shared.storage._retention import with_retention
from shared.storage._writes import WRITE_WATCH

Document = dict[str, Any]

#: Pooled connections idle longer than this are closed instead of used. Servers and firewalls drop
#: idle connections (SecantusDB after 300 s, cloud load balancers after a few minutes); a connection
#: they dropped fails the first request that takes it from the pool.
MAX_IDLE_MS = 60_000


def create_client(settings: ServiceSettings, *, timeout_ms: int = 5000) -> AsyncMongoClient[Document]:
    """The process's MongoDB client. Cheap to build: it connects lazily, on first use."""
    return AsyncMongoClient(
        settings.mongodb_url.get_secret_value(),
        appname=settings.service_name,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        maxIdleTimeMS=MAX_IDLE_MS,
        # Tells shared.web whether a failed request wrote anything that could have stuck (see _writes).
        event_listeners=[WRITE_WATCH],
    )


async def close_client(client: AsyncMongoClient[Document]) -> None:
    await client.close()


async def ping(client: AsyncMongoClient[Document]) -> None:
    """Raise :class:`StorageUnavailable` unless the server answers."""
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        raise StorageUnavailable(f"MongoDB did not answer: {type(exc).__name__}") from exc


@dataclass(frozen=True)
class Connection:
    """A process's MongoDB: the client and the service's database, indexes in place."""

    client: AsyncMongoClient[Document]
    database: AsyncDatabase[Document]

    async def ready(self) -> None:
        """The readiness check: :class:`StorageUnavailable` unless the server answers."""
        await ping(self.client)


@asynccontextmanager
async def connect(settings: ServiceSettings, indexes: Iterable[IndexSpec] = ()) -> AsyncIterator[Connection]:
    """Open the process's client, make sure ``indexes`` exist in the settings' database, close on exit.

    A bootstrap opens its storage this way, so every process connects, names its database and
    readies its indexes the same way.
    """
    client = create_client(settings)
    try:
        database = client[settings.mongodb_database]
        # The collections this process declares expire as the settings say (docs/operations.md).
        await ensure_indexes(database, with_retention(indexes, settings))
        yield Connection(client, database)
    finally:
        await close_client(client)
