"""Where dead letters are worked from: MongoDB's ``deadletters`` collection (a mirror of the topic)
and the same in memory. The topic stays the record of what was parked; the collection adds what
the topic cannot hold: each letter's status, who resolved it and when."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.deadletters._model import DeadLetter, DeadLetterQuery, DeadLetterStatus
from shared.storage import IndexSpec, StorageUnavailable

__all__ = [
    "DEADLETTERS",
    "DEADLETTER_INDEXES",
    "DEADLETTER_MIRROR",
    "RESOLVED_RETENTION",
    "AmbiguousId",
    "DeadLetterStore",
    "InMemoryDeadLetterStore",
    "MongoDeadLetterStore",
    "deadletter_indexes",
]

DEADLETTERS = "deadletters"
#: How far the mirror has read the dead-letter topic, one document per partition.
DEADLETTER_MIRROR = "deadletter_mirror"
#: Replayed and discarded letters are kept this long for reading, then expire; open ones never do.
RESOLVED_RETENTION = timedelta(days=90)


def deadletter_indexes(resolved_retention: timedelta = RESOLVED_RETENTION) -> tuple[IndexSpec, ...]:
    return (
        IndexSpec(DEADLETTERS, (("status", 1), ("failed_at", -1)), "deadletters_by_status"),
        IndexSpec(DEADLETTERS, (("consumer", 1), ("failed_at", -1)), "deadletters_by_consumer"),
        IndexSpec(DEADLETTERS, (("source_topic", 1), ("failed_at", -1)), "deadletters_by_topic"),
        # A TTL index ignores documents without the field: open letters stay until someone acts.
        IndexSpec(
            DEADLETTERS,
            (("resolved_at", 1),),
            "deadletters_resolved_ttl",
            expire_after_seconds=int(resolved_retention.total_seconds()),
        ),
    )


DEADLETTER_INDEXES = deadletter_indexes()


class AmbiguousId(LookupError):
    """An id prefix that names more than one dead letter."""


class DeadLetterStore(Protocol):
    async def add(self, letter: DeadLetter) -> bool:
        """Keep ``letter`` unless one with its id is there already (then ``False``, nothing changes)."""
        ...

    async def get(self, letter_id: str) -> DeadLetter | None:
        """By id, or by a prefix of it naming a single letter (:class:`AmbiguousId` otherwise)."""
        ...

    async def find(self, query: DeadLetterQuery) -> list[DeadLetter]: ...

    async def resolve(
        self, letter_id: str, status: DeadLetterStatus, *, at: datetime, by: str, note: str | None
    ) -> DeadLetter | None:
        """Move an *open* letter to ``status``; ``None`` when it is not open (someone was first)."""
        ...

    async def positions(self, topic: str) -> dict[int, int]:
        """The next offset to read per partition of ``topic`` (empty: from the beginning)."""
        ...

    async def advance(self, topic: str, partition: int, next_offset: int) -> None: ...


class InMemoryDeadLetterStore:
    def __init__(self) -> None:
        self.letters: dict[str, DeadLetter] = {}
        self.cursor: dict[tuple[str, int], int] = {}

    async def add(self, letter: DeadLetter) -> bool:
        if letter.id in self.letters:
            return False
        self.letters[letter.id] = letter
        return True

    async def get(self, letter_id: str) -> DeadLetter | None:
        if letter_id in self.letters:
            return self.letters[letter_id]
        found = [letter for key, letter in self.letters.items() if key.startswith(letter_id)]
        if len(found) > 1:
            raise AmbiguousId(letter_id)
        return found[0] if found else None

    async def find(self, query: DeadLetterQuery) -> list[DeadLetter]:
        found = [letter for letter in self.letters.values() if query.matches(letter)]
        found.sort(key=lambda letter: (letter.failed_at, letter.id), reverse=not query.oldest_first)
        return found[: query.limit]

    async def resolve(
        self, letter_id: str, status: DeadLetterStatus, *, at: datetime, by: str, note: str | None
    ) -> DeadLetter | None:
        letter = self.letters.get(letter_id)
        if letter is None or letter.status != DeadLetterStatus.OPEN:
            return None
        resolved = replace(letter, status=status, resolved_at=at, resolved_by=by, note=note)
        self.letters[letter_id] = resolved
        return resolved

    async def positions(self, topic: str) -> dict[int, int]:
        return {partition: offset for (name, partition), offset in self.cursor.items() if name == topic}

    async def advance(self, topic: str, partition: int, next_offset: int) -> None:
        self.cursor[(topic, partition)] = next_offset


@contextmanager
def _storage() -> Iterator[None]:
    try:
        yield
    except PyMongoError as exc:
        raise StorageUnavailable(f"dead-letter storage failed: {type(exc).__name__}") from exc


def _document(letter: DeadLetter) -> dict[str, Any]:
    document = {key: value for key, value in letter.__dict__.items() if key != "id"}
    return document | {"_id": letter.id, "status": letter.status.value, "reason_kind": letter.reason_kind}


def _letter(document: dict[str, Any]) -> DeadLetter:
    fields = {key: value for key, value in document.items() if key not in {"_id", "reason_kind"}}
    return DeadLetter(id=document["_id"], **fields | {"status": DeadLetterStatus(document["status"])})


class MongoDeadLetterStore:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._letters = database[DEADLETTERS]
        self._mirror = database[DEADLETTER_MIRROR]

    async def add(self, letter: DeadLetter) -> bool:
        with _storage():
            try:
                await self._letters.insert_one(_document(letter))
            except DuplicateKeyError:
                return False
        return True

    async def get(self, letter_id: str) -> DeadLetter | None:
        with _storage():
            document = await self._letters.find_one({"_id": letter_id})
            if document is not None:
                return _letter(document)
            # Ids are hex: every id starting with the prefix sorts between it and prefix + "~".
            cursor = self._letters.find({"_id": {"$gte": letter_id, "$lt": letter_id + "~"}}).limit(2)
            found = [_letter(document) async for document in cursor]
        if len(found) > 1:
            raise AmbiguousId(letter_id)
        return found[0] if found else None

    async def find(self, query: DeadLetterQuery) -> list[DeadLetter]:
        where: dict[str, Any] = {}
        if query.consumer is not None:
            where["consumer"] = query.consumer
        if query.topic is not None:
            where["source_topic"] = query.topic
        if query.reason is not None:
            where["reason_kind"] = query.reason
        if query.status is not None:
            where["status"] = query.status.value
        failed_at: dict[str, Any] = {}
        if query.since is not None:
            failed_at["$gte"] = query.since
        if query.until is not None:
            failed_at["$lt"] = query.until
        if failed_at:
            where["failed_at"] = failed_at
        with _storage():
            direction = 1 if query.oldest_first else -1
            cursor = self._letters.find(where).sort([("failed_at", direction), ("_id", direction)]).limit(query.limit)
            return [_letter(document) async for document in cursor]

    async def resolve(
        self, letter_id: str, status: DeadLetterStatus, *, at: datetime, by: str, note: str | None
    ) -> DeadLetter | None:
        with _storage():
            document = await self._letters.find_one_and_update(
                {"_id": letter_id, "status": DeadLetterStatus.OPEN.value},
                {"$set": {"status": status.value, "resolved_at": at, "resolved_by": by, "note": note}},
                return_document=ReturnDocument.AFTER,
            )
        return None if document is None else _letter(document)

    async def positions(self, topic: str) -> dict[int, int]:
        with _storage():
            cursor = self._mirror.find({"topic": topic})
            return {document["partition"]: document["next_offset"] async for document in cursor}

    async def advance(self, topic: str, partition: int, next_offset: int) -> None:
        with _storage():
            await self._mirror.update_one(
                {"_id": f"{topic}:{partition}"},
                {"$set": {"topic": topic, "partition": partition, "next_offset": next_offset}},
                upsert=True,
            )
