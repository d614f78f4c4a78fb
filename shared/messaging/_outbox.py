from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import structlog
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.contracts import TOPICS
from shared.events import Envelope, TopicRegistry
from shared.messaging._publisher import EventPublisher
from shared.storage import OUTBOX, OUTBOX_INDEXES, ensure_indexes

log = structlog.get_logger("messaging.outbox")


class OutboxRelay:
    """Publishes what transactions wrote to their service's outbox, then deletes it.

    Entered by a service's worker for as long as it runs: a background task polls the outbox and
    publishes entries oldest first (one member's events in the order they were written), deleting an
    entry only after the broker acknowledged it. A crash in between publishes it again, which readers
    ignore by its event id. Several relays over one outbox are harmless for the same reason.
    """

    def __init__(
        self,
        database: AsyncDatabase[Any],
        publisher: EventPublisher,
        *,
        topics: TopicRegistry = TOPICS,
        batch: int = 500,
        idle_seconds: float = 0.2,
        retry_seconds: float = 2.0,
    ) -> None:
        self._outbox = database[OUTBOX]
        self._database = database
        self._publisher = publisher
        self._topics = topics
        self._batch = batch
        self._idle = idle_seconds
        self._retry = retry_seconds
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.published = 0

    async def __aenter__(self) -> Self:
        await ensure_indexes(self._database, OUTBOX_INDEXES)
        self._task = asyncio.create_task(self._run(), name="outbox-relay")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def drain(self) -> int:
        """Publish everything pending now; how many entries were published."""
        total = 0
        while count := await self.relay_once():
            total += count
        return total

    async def relay_once(self) -> int:
        """Publish and delete one batch of the oldest entries; how many were published."""
        async with self._lock:
            entries = await self._outbox.find({}).sort([("at", 1), ("n", 1)]).limit(self._batch).to_list()
            if not entries:
                return 0
            by_key: dict[str, list[Mapping[str, Any]]] = {}
            for entry in entries:
                by_key.setdefault(str(entry.get("key", entry["_id"])), []).append(entry)
            results = await asyncio.gather(*(self._publish_in_order(group) for group in by_key.values()))
            done = [entry_id for published in results for entry_id in published]
            if done:
                await self._outbox.delete_many({"_id": {"$in": done}})
            self.published += len(done)
            if len(done) < len(entries):
                raise _PartlyPublished(len(entries) - len(done))
            return len(done)

    async def _publish_in_order(self, entries: list[Mapping[str, Any]]) -> list[Any]:
        published: list[Any] = []
        for entry in entries:
            try:
                envelope = Envelope.model_validate_json(entry["envelope"])
                topic = self._topics.get(entry["topic"])
            except (KeyError, ValueError) as exc:
                # Cannot happen for entries this code wrote; keep it for a human rather than loop on it.
                log.error("outbox entry unreadable, left in place", entry_id=entry["_id"], error=str(exc))
                return published
            try:
                await self._publisher.publish(topic, envelope)
            except Exception as exc:
                log.warning("outbox publish failed", entry_id=entry["_id"], error=f"{type(exc).__name__}: {exc}")
                return published  # the rest of this key waits, so its order holds
            published.append(entry["_id"])
        return published

    async def _run(self) -> None:
        while True:
            try:
                if await self.relay_once() == 0:
                    await asyncio.sleep(self._idle)
            except asyncio.CancelledError:
                raise
            except (_PartlyPublished, PyMongoError) as exc:
                log.warning("outbox relay backing off", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self._retry)
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(self._retry)


class _PartlyPublished(Exception):
    def __init__(self, left: int) -> None:
        super().__init__(f"{left} outbox entries not published yet")
