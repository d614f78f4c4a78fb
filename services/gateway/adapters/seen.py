"""Where the gateway remembers the signed requests it accepted, for the length of the replay window."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.storage import IndexSpec

SEEN = "push_signatures"


def indexes(window_seconds: int) -> tuple[IndexSpec, ...]:
    # Twice the window: a timestamp is accepted up to the window either side of now.
    return (IndexSpec(SEEN, (("seen_at", 1),), name="expire", expire_after_seconds=2 * window_seconds),)


class MemorySeenRequests:
    """Exact for one gateway process; bounded in size (oldest forgotten first) and in age. Two dicts of
    atomic values rather than a tuple per request: nothing per request for the cyclic GC to walk."""

    def __init__(
        self, *, window_seconds: float, max_entries: int = 200_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        #: When each signed request was first seen, oldest first; and its body's digest.
        self._entries: OrderedDict[str, float] = OrderedDict()
        self._digests: dict[str, str] = {}
        self._retention = 2 * window_seconds
        self._max = max_entries
        self._clock = clock

    async def first_use(self, key: str, body_digest: str) -> bool:
        now = self._clock()
        while self._entries:
            oldest, at = next(iter(self._entries.items()))
            if len(self._entries) < self._max and now - at <= self._retention:
                break
            del self._entries[oldest]
            del self._digests[oldest]
        seen = self._digests.get(key)
        if seen is not None:
            return seen == body_digest
        self._entries[key] = now
        self._digests[key] = body_digest
        return True


class MongoSeenRequests:
    """Shared by every gateway replica; MongoDB's TTL index forgets entries after the window."""

    def __init__(
        self, database: AsyncDatabase[Any], *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._collection = database[SEEN]
        self._clock = clock

    async def first_use(self, key: str, body_digest: str) -> bool:
        try:
            await self._collection.insert_one({"_id": key, "body": body_digest, "seen_at": self._clock()})
            return True
        except DuplicateKeyError:
            seen = await self._collection.find_one({"_id": key})
            return seen is None or seen.get("body") == body_digest
