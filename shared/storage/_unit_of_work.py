from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ConnectionFailure, PyMongoError

from shared.events import Envelope, Topic
from shared.storage._exceptions import StorageConflict, StorageError, StorageUnavailable
from shared.storage._indexes import IndexSpec

#: One document per (consumer, event): its unique ``_id`` is what makes redelivery harmless.
PROCESSED_EVENTS = "processed_events"

PROCESSED_EVENTS_INDEXES = (IndexSpec(PROCESSED_EVENTS, (("processed_at", 1),), name="processed_at"),)

#: Events waiting to be published, written in the transaction of the effect they report (the outbox).
OUTBOX = "outbox"

OUTBOX_INDEXES = (IndexSpec(OUTBOX, (("at", 1), ("n", 1)), name="at_n"),)

# Orders a process's entries written within the same clock tick; across processes the time decides.
_outbox_sequence = itertools.count()


class MongoUnitOfWork:
    """A MongoDB transaction that also records which events it has processed.

    Usage in a service's handler::

        async with uow:
            if not await uow.claim("members", envelope.event_id):
                return  # already processed: a redelivery
            ...  # effects, through repositories bound to uow.session
            await uow.commit()

    The claim and the effects commit together or not at all: a crash between them leaves neither, so
    the redelivered message is processed once, in full. Leaving the block without ``commit`` aborts.
    Services subclass it to attach their repositories in :meth:`_bind`.
    """

    def __init__(self, client: AsyncMongoClient[Any], database: str) -> None:
        self._client = client
        self.database: AsyncDatabase[Any] = client[database]
        self._session: AsyncClientSession | None = None

    @property
    def session(self) -> AsyncClientSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside 'async with'")
        return self._session

    def _bind(self, session: AsyncClientSession) -> None:
        """Hook for subclasses: build repositories that use ``session``."""

    async def __aenter__(self) -> Self:
        try:
            self._session = self._client.start_session()
            await self._session.start_transaction()
        except ConnectionFailure as exc:
            raise StorageUnavailable(str(exc)) from exc
        self._bind(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._session
        self._session = None
        if session is None:
            return
        try:
            if session.in_transaction:
                await session.abort_transaction()
        finally:
            await session.end_session()

    async def claim(self, consumer: str, event_id: str) -> bool:
        """Record that ``consumer`` processes ``event_id``; False if it already did.

        An upsert rather than an insert: inside a transaction a duplicate-key error would abort the
        transaction, and the caller may still want to write (or at least to leave cleanly).
        """
        record_id = f"{consumer}:{event_id}"
        try:
            result = await self.database[PROCESSED_EVENTS].update_one(
                {"_id": record_id},
                {"$setOnInsert": {"consumer": consumer, "processed_at": datetime.now(UTC)}},
                upsert=True,
                session=self.session,
            )
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return result.upserted_id is not None

    async def claim_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """Record that ``consumer`` processes each of ``event_ids``; return those it had not before.

        For batches: one read and one insert instead of an upsert per event. An id another
        transaction claims meanwhile makes the insert fail; that is reported as a
        :class:`StorageConflict`, so the batch is retried and the re-read leaves that id out.
        """
        records = {f"{consumer}:{event_id}": event_id for event_id in event_ids}
        if not records:
            return set()
        collection = self.database[PROCESSED_EVENTS]
        try:
            seen = {
                doc["_id"]
                async for doc in collection.find({"_id": {"$in": list(records)}}, {"_id": 1}, session=self.session)
            }
            fresh = [record_id for record_id in records if record_id not in seen]
            if fresh:
                now = datetime.now(UTC)
                await collection.insert_many(
                    [{"_id": record_id, "consumer": consumer, "processed_at": now} for record_id in fresh],
                    session=self.session,
                )
        except BulkWriteError as exc:
            codes = {error.get("code") for error in exc.details.get("writeErrors", [])}
            if codes == {11000}:  # duplicate key: claimed by a transaction that committed meanwhile
                raise StorageConflict("an event of the batch was claimed meanwhile") from exc
            raise _translate(exc) from exc
        except PyMongoError as exc:
            raise _translate(exc) from exc
        return {records[record_id] for record_id in fresh}

    async def emit(self, topic: Topic, envelope: Envelope) -> None:
        """Publish ``envelope`` on ``topic`` if, and only if, this transaction commits.

        The envelope goes into the outbox with the effect; :class:`shared.messaging.OutboxRelay`
        publishes it afterwards (at least once: readers deduplicate by ``event_id``). Emitting the
        same event id twice keeps the first entry.
        """
        entry = {
            "topic": topic.name,
            "key": envelope.key,
            "envelope": envelope.model_dump_json(),
            "at": datetime.now(UTC),
            "n": next(_outbox_sequence),
        }
        try:
            await self.database[OUTBOX].update_one(
                {"_id": envelope.event_id}, {"$setOnInsert": entry}, upsert=True, session=self.session
            )
        except PyMongoError as exc:
            raise _translate(exc) from exc

    async def commit(self) -> None:
        try:
            await self.session.commit_transaction()
        except PyMongoError as exc:
            raise _translate(exc) from exc


def _translate(exc: PyMongoError) -> StorageError:
    if isinstance(exc, ConnectionFailure):
        return StorageUnavailable(f"MongoDB unreachable: {type(exc).__name__}")
    if exc.has_error_label("TransientTransactionError"):
        return StorageConflict(f"transaction conflict: {type(exc).__name__}")
    return StorageError(f"{type(exc).__name__}: {exc}")
