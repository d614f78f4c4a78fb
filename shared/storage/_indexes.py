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
    """Create every declared index; existing identical indexes are left alone (idempotent)."""
    by_collection: dict[str, list[IndexModel]] = {}
    for spec in specs:
        by_collection.setdefault(spec.collection, []).append(spec.model())
    created: list[str] = []
    for collection, models in by_collection.items():
        created += await database[collection].create_indexes(models)
    return created
