"""The push ledger: recognises the platform's retries so each push is published once.

The platform re-sends a push (same body) when it gets no answer within 5 s, three times in all. The
ledger remembers, per push identity, whether it is being handled or was handled (and what we
replied), so a retry gets the same answer without a second publish.

Claim protocol: ``claim`` → NEW (handle it, then ``complete`` or ``release``), DONE (answer the
recorded reply) or IN_FLIGHT (the first delivery is still being handled: answer 503, the platform
retries). A claim left behind by a crashed gateway is taken over after ``stale_after`` seconds.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.gateway.service_layer.ports import Claim, ClaimResult
from shared.storage import IndexSpec

LEDGER = "push_ledger"
_RETENTION = timedelta(hours=1)  # far beyond the platform's retry horizon (3 tries, 5 s apart)
INDEXES = (
    IndexSpec(LEDGER, (("claimed_at", 1),), name="expire", expire_after_seconds=int(_RETENTION.total_seconds())),
)


class MemoryPushLedger:
    """In-process ledger: exact for a single gateway process, bounded in size and age.

    Kept as two dicts of atomic values (claim time; the reply once done), no container per entry: a
    tuple per push is tracked by the cyclic GC until a collection sees it, so every young collection
    walked the pushes since the last one; and with an enum member in it (as before) the 200,000
    entries stayed tracked and every full collection walked them all (over 100 ms at a time: the
    gateway's p99 at half load).
    """

    def __init__(
        self,
        *,
        max_entries: int = 200_000,
        retention_seconds: float = _RETENTION.total_seconds(),
        stale_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        #: Claim (or completion) time by key, oldest first.
        self._entries: OrderedDict[str, float] = OrderedDict()
        #: The reply of each completed push; a key in ``_entries`` without one is in flight.
        self._replies: dict[str, bytes] = {}
        self._max = max_entries
        self._retention = retention_seconds
        self._stale_after = stale_after
        self._clock = clock

    async def claim(self, key: str) -> ClaimResult:
        now = self._clock()
        self._expire(now)
        at = self._entries.get(key)
        reply = self._replies.get(key)
        if at is None or (reply is None and now - at > self._stale_after):
            self._entries[key] = now
            self._entries.move_to_end(key)
            return ClaimResult(Claim.NEW)
        if reply is None:
            return ClaimResult(Claim.IN_FLIGHT)
        return ClaimResult(Claim.DONE, reply)

    async def complete(self, key: str, reply: bytes) -> None:
        self._entries[key] = self._clock()
        self._entries.move_to_end(key)
        self._replies[key] = bytes(reply)

    async def release(self, key: str) -> None:
        self._entries.pop(key, None)
        self._replies.pop(key, None)

    def _expire(self, now: float) -> None:
        while self._entries:
            oldest_key, at = next(iter(self._entries.items()))
            if len(self._entries) <= self._max and now - at <= self._retention:
                break
            del self._entries[oldest_key]
            self._replies.pop(oldest_key, None)


class MongoPushLedger:
    """Ledger shared by every gateway replica (a retry may reach another replica)."""

    def __init__(
        self,
        database: AsyncDatabase[Any],
        *,
        stale_after: float = 30.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._collection = database[LEDGER]
        self._stale_after = timedelta(seconds=stale_after)
        self._clock = clock

    async def claim(self, key: str) -> ClaimResult:
        now = self._clock()
        try:
            await self._collection.insert_one({"_id": key, "state": Claim.IN_FLIGHT.value, "claimed_at": now})
            return ClaimResult(Claim.NEW)
        except DuplicateKeyError:
            pass
        taken = await self._collection.find_one_and_update(
            {"_id": key, "state": Claim.IN_FLIGHT.value, "claimed_at": {"$lt": now - self._stale_after}},
            {"$set": {"claimed_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if taken is not None:
            return ClaimResult(Claim.NEW)
        document = await self._collection.find_one({"_id": key})
        if document is None:  # released between our insert and read: try once more
            return await self.claim(key)
        if document["state"] == Claim.DONE.value:
            return ClaimResult(Claim.DONE, bytes(document.get("reply") or b""))
        return ClaimResult(Claim.IN_FLIGHT)

    async def complete(self, key: str, reply: bytes) -> None:
        await self._collection.update_one(
            {"_id": key}, {"$set": {"state": Claim.DONE.value, "reply": reply, "claimed_at": self._clock()}}
        )

    async def release(self, key: str) -> None:
        await self._collection.delete_one({"_id": key, "state": Claim.IN_FLIGHT.value})
