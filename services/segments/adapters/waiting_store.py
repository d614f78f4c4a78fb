"""MongoDB behind :class:`~services.segments.service_layer.ports.WaitingStore`: the ``waiting``
delivery records in ``push_deliveries`` (each move conditional on the record's status)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.segments.adapters.store import DELIVERIES
from services.segments.domain.waiting import WAITING
from shared.storage import IndexSpec

__all__ = ["WAITING_INDEXES", "MongoWaitingSends"]

#: The sweeps' queries (a member's waiting records use ``member_deliveries``).
WAITING_INDEXES = (
    IndexSpec(DELIVERIES, (("status", 1), ("wait_until", 1)), name="waiting_expiry"),
    IndexSpec(DELIVERIES, (("status", 1), ("window_until", 1)), name="waiting_window"),
)


class MongoWaitingSends:
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._deliveries = database[DELIVERIES]

    async def open_window(self, appid: str, openid: str, until: datetime, now: datetime) -> list[dict[str, Any]]:
        query = {"appid": appid, "openid": openid, "status": WAITING, "wait_until": {"$gt": now}}
        await self._deliveries.update_many(query, {"$set": {"window_until": until}})
        return [doc async for doc in self._deliveries.find(query)]

    async def ready(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        query = {"status": WAITING, "window_until": {"$gt": now}}
        return [doc async for doc in self._deliveries.find(query).sort("window_until", ASCENDING).limit(limit)]

    async def due_to_expire(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        query = {"status": WAITING, "wait_until": {"$lte": now}}
        return [doc async for doc in self._deliveries.find(query).sort("wait_until", ASCENDING).limit(limit)]

    async def take(self, delivery_id: str, now: datetime) -> bool:
        result = await self._deliveries.update_one(
            {"_id": delivery_id, "status": WAITING},
            {"$set": {"status": "sending", "channel": "customer_service", "taken_at": now}},
        )
        return result.modified_count == 1

    async def close_window(self, delivery_id: str) -> None:
        await self._deliveries.update_one({"_id": delivery_id, "status": WAITING}, {"$set": {"window_until": None}})

    async def put_back(self, delivery_id: str) -> None:
        await self._deliveries.update_one(
            {"_id": delivery_id, "status": "sending"},
            {"$set": {"status": WAITING, "window_until": None}, "$unset": {"channel": "", "taken_at": ""}},
        )

    async def finish(self, delivery_id: str, fields: Mapping[str, Any]) -> bool:
        result = await self._deliveries.update_one(
            {"_id": delivery_id, "status": WAITING}, {"$set": {**fields, "window_until": None}}
        )
        return result.modified_count == 1
