"""The identity service's composition root: the directory over MongoDB, or the caller's (tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.identity.adapters import MongoAuditLog, MongoIdentityStore
from services.identity.settings import IdentitySettings
from shared.identity import IDENTITY_INDEXES, Directory
from shared.storage import connect


@dataclass(frozen=True)
class IdentityService:
    settings: IdentitySettings
    directory: Directory
    ready: Callable[[], Awaitable[None]]


async def _always_ready() -> None:
    return None


@asynccontextmanager
async def bootstrap(
    settings: IdentitySettings, *, directory: Directory | None = None
) -> AsyncIterator[IdentityService]:
    if directory is not None:
        yield IdentityService(settings, directory, _always_ready)
        return
    async with connect(settings, IDENTITY_INDEXES) as mongo:
        directory = Directory(MongoIdentityStore(mongo.database), MongoAuditLog(mongo.database))
        yield IdentityService(settings, directory, mongo.ready)
