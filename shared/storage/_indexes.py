from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase


@dataclass(frozen=True)
class IndexSpec:
    """An index, declared next to the repository whose queries need it."""

    collection: str
    keys: tuple[tuple[str, int], ...]
    name: str
    unique: bool = False
    expire_after_seconds: int | None = None
    partial_filter: dict[str, Any] | None = field(default=None, hash=False)

    def model(self) -> IndexModel:
        options: dict[str, Any] = {"name": self.name, "unique": self.unique}
        if self.expire_after_seconds is not None:
            options["expireAfterSeconds"] = self.expire_after_seconds
        if self.partial_filter is not None:
            options["partialFilterExpression"] = self.partial_filter
        return IndexModel(list(self.keys), **options)


async def ensure_indexes(database: AsyncDatabase[Any], specs: Iterable[IndexSpec]) -> list[str]:
    """Create every declared index; existing identical indexes are left alone (idempotent).

    An existing index on the same keys whose expiry differs (a retention setting changed, or a plain
    index that is now a TTL one) is changed in place with ``collMod`` rather than rebuilt.
    """
    by_collection: dict[str, list[IndexSpec]] = {}
    for spec in specs:
        by_collection.setdefault(spec.collection, []).append(spec)
    created: list[str] = []
    for collection, group in by_collection.items():
        if any(spec.expire_after_seconds is not None for spec in group):
            group = await _retime(database, collection, group)
        if group:
            created += await database[collection].create_indexes([spec.model() for spec in group])
    return created


async def _retime(database: AsyncDatabase[Any], collection: str, specs: list[IndexSpec]) -> list[IndexSpec]:
    """Change the expiry of existing indexes on the keys of TTL ``specs``; the specs left to create.

    Not left to ``create_indexes``: MongoDB refuses a second index on the same keys, and some
    MongoDB-protocol servers silently keep the old options.
    """
    existing = {
        tuple((name, int(order)) for name, order in info["key"]): info
        for info in (await database[collection].index_information()).values()
    }
    left = []
    for spec in specs:
        # A TTL index is on one field; an existing index on it in the other order serves as well.
        field, order = spec.keys[0]
        keys = spec.keys if spec.keys in existing else ((field, -order),)
        info = existing.get(keys) if len(spec.keys) == 1 else None
        if spec.expire_after_seconds is None or info is None:
            left.append(spec)
        elif info.get("expireAfterSeconds") != spec.expire_after_seconds:
            index = {"keyPattern": dict(keys), "expireAfterSeconds": spec.expire_after_seconds}
            await database.command("collMod", collection, index=index)
    return left
