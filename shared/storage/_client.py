from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from shared.settings import ServiceSettings
from shared.storage._exceptions import StorageUnavailable

Document = dict[str, Any]


def create_client(settings: ServiceSettings, *, timeout_ms: int = 5000) -> AsyncMongoClient[Document]:
    """The process's MongoDB client. Cheap to build: it connects lazily, on first use."""
    return AsyncMongoClient(
        settings.mongodb_url.get_secret_value(),
        appname=settings.service_name,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
    )


async def close_client(client: AsyncMongoClient[Document]) -> None:
    await client.close()


async def ping(client: AsyncMongoClient[Document]) -> None:
    """Raise :class:`StorageUnavailable` unless the server answers."""
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        raise StorageUnavailable(f"MongoDB did not answer: {type(exc).__name__}") from exc
