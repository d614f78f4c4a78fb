"""Reads the rollup documents the analytics worker writes (collection ``rollups``).

One document per (appid, scope, Beijing day): ``{_id: "<appid>|<scope>|<day>", appid, scope, day,
c: {metric: count}}``. Every query is a range over the ``(appid, scope, day)`` index: one scope over a
range of days, or the scopes under a prefix (``push:`` → ``push:`` ≤ scope < ``push;``) over one.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from services.analytics.domain.dashboards import Rollup
from shared.storage import IndexSpec, StorageUnavailable

__all__ = ["ROLLUPS", "ROLLUP_READ_INDEXES", "MongoRollupReader", "prefix_bounds"]

ROLLUPS = "rollups"

#: The indexes the reads use (the worker declares the same ones: whichever starts first creates them).
ROLLUP_READ_INDEXES = (
    IndexSpec(ROLLUPS, (("appid", 1), ("scope", 1), ("day", 1)), name="appid_scope_day"),
    IndexSpec(ROLLUPS, (("appid", 1), ("day", 1)), name="appid_day"),
)

_FIELDS = {"_id": 0, "scope": 1, "day": 1, "c": 1}


def prefix_bounds(prefix: str) -> dict[str, str]:
    """The range of strings that start with ``prefix``: from it up to the prefix with its last
    character moved one on (an index range, where a regex would need a scan to be sure)."""
    if not prefix:
        raise ValueError("an empty prefix would read every scope")
    return {"$gte": prefix, "$lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


class MongoRollupReader:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._rollups = database[ROLLUPS]

    async def read(self, appid: str, scope: str, first: str, last: str) -> list[Rollup]:
        return await self._find({"appid": appid, "scope": scope, "day": {"$gte": first, "$lte": last}})

    async def read_prefix(self, appid: str, prefix: str, first: str, last: str) -> list[Rollup]:
        query = {"appid": appid, "scope": prefix_bounds(prefix), "day": {"$gte": first, "$lte": last}}
        return await self._find(query)

    async def _find(self, query: dict[str, Any]) -> list[Rollup]:
        try:
            return [
                Rollup(document["scope"], document["day"], document.get("c") or {})
                async for document in self._rollups.find(query, _FIELDS)
            ]
        except PyMongoError as exc:
            # The 503 of every app, naming no value.
            raise StorageUnavailable(f"rollups could not be read: {type(exc).__name__}") from exc
