"""Reads the rollup documents the analytics worker writes (collection ``rollups``).

One document per (appid, scope, Beijing day): ``{_id: "<appid>|<scope>|<day>", appid, scope, day,
c: {metric: count}}``. Every query is an index range:

- one scope over a range of days: ``(appid, scope, day)``, equality on the first two, range on the day;
- the scopes under a prefix (``push:``, ``campaign:``) over a range of days: ``(appid, day)``, the
  account's documents of those days, of which those with ``prefix`` ≤ scope < the next prefix
  (``push;``) are kept. That reads (days × scopes active on them), however many pushes the account
  sent in its life; a range on the scope in ``(appid, scope, day)`` would step through every push
  ever made, and SecantusDB answers two ranges in one query by scanning the collection.
"""

from __future__ import annotations

from collections.abc import Collection
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


def _fields(metrics: Collection[str] | None) -> dict[str, int]:
    """The projection: only the counters asked for (less to send and to decode), or all of them."""
    if metrics is None:
        return _FIELDS
    return {"_id": 0, "scope": 1, "day": 1} | {f"c.{metric}": 1 for metric in metrics}


def prefix_bounds(prefix: str) -> dict[str, str]:
    """The range of strings that start with ``prefix``: from it up to the prefix with its last
    character moved one on (an index range, where a regex would need a scan to be sure)."""
    if not prefix:
        raise ValueError("an empty prefix would read every scope")
    return {"$gte": prefix, "$lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


class MongoRollupReader:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._rollups = database[ROLLUPS]

    async def read(
        self, appid: str, scope: str, first: str, last: str, metrics: Collection[str] | None = None
    ) -> list[Rollup]:
        query = {"appid": appid, "scope": scope, "day": {"$gte": first, "$lte": last}}
        return await self._find(query, _fields(metrics))

    async def read_prefix(
        self, appid: str, prefix: str, first: str, last: str, metrics: Collection[str] | None = None
    ) -> list[Rollup]:
        bounds = prefix_bounds(prefix)
        found = await self._find({"appid": appid, "day": {"$gte": first, "$lte": last}}, _fields(metrics))
        return [rollup for rollup in found if bounds["$gte"] <= rollup.scope < bounds["$lt"]]

    async def _find(self, query: dict[str, Any], fields: dict[str, int]) -> list[Rollup]:
        try:
            return [
                Rollup(document["scope"], document["day"], document.get("c") or {})
                async for document in self._rollups.find(query, fields)
            ]
        except PyMongoError as exc:
            # The 503 of every app, naming no value.
            raise StorageUnavailable(f"rollups could not be read: {type(exc).__name__}") from exc
