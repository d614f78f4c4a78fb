from __future__ import annotations

import functools
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from shared.storage._exceptions import StorageConflict
from shared.storage._indexes import IndexSpec

T = TypeVar("T")

#: A scope's counts are spread over this many documents (by the member a write is about), so
#: concurrent transactions of one busy campaign or account rarely write the same document.
COUNTER_SHARDS = 8


def counter_shard(member: str) -> int:
    """The shard a member's writes count in: stable across processes (not Python's ``hash``)."""
    return zlib.crc32(member.encode()) % COUNTER_SHARDS


def counter_indexes(collection: str) -> tuple[IndexSpec, ...]:
    return (IndexSpec(collection, (("scope", 1),), name="scope"),)


class MongoCounters:
    """Running counts by scope (a campaign, an account) in one collection, changed with ``$inc`` in
    the transaction of the write they count, and read as the sum of the scope's few shard documents.

    A shard document is ``{_id: "<scope>|<shard>", scope, c: {<name>: n}, v}``; ``v`` goes up with
    every change, which is how :meth:`rebuild` notices a write that committed while it recounted.
    """

    def __init__(self, database: AsyncDatabase[Any], collection: str) -> None:
        self._database = database
        self._collection = database[collection]

    async def add(
        self, scope: str, member: str, counts: Mapping[str, int], *, session: AsyncClientSession | None
    ) -> None:
        """Add ``counts`` to the scope (pass the write's session: the counts commit with it)."""
        changes = {f"c.{name}": n for name, n in counts.items() if n}
        if not changes:
            return
        await self._collection.update_one(
            {"_id": f"{scope}|{counter_shard(member)}"},
            {"$inc": changes | {"v": 1}, "$setOnInsert": {"scope": scope}},
            upsert=True,
            session=session,
        )

    async def read(self, scope: str, *, session: AsyncClientSession | None = None) -> dict[str, int]:
        total: Counter[str] = Counter()
        async for doc in self._collection.find({"scope": scope}, {"c": 1}, session=session):
            total.update({name: int(n) for name, n in doc.get("c", {}).items()})
        return {name: n for name, n in total.items() if n}

    async def _versions(self, scope: str, session: AsyncClientSession | None = None) -> dict[str, int]:
        cursor = self._collection.find({"scope": scope}, {"v": 1}, session=session)
        return {doc["_id"]: int(doc.get("v", 0)) async for doc in cursor}

    async def transaction(self, work: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Run ``work`` in a transaction of its own (for a write made outside any unit of work)."""
        async with self._database.client.start_session() as session:
            return await session.with_transaction(work)

    async def _replace(
        self, scope: str, seen: dict[str, int], counts: dict[str, int], session: AsyncClientSession
    ) -> bool:
        if await self._versions(scope, session) != seen:
            return False  # a counted write committed while the records were recounted
        await self._collection.delete_many({"scope": scope}, session=session)
        if counts:
            version = max(seen.values(), default=0) + 1
            document = {"_id": f"{scope}|0", "scope": scope, "c": counts, "v": version}
            await self._collection.insert_one(document, session=session)
        return True

    async def rebuild(
        self, scope: str, recount: Callable[[], Awaitable[Mapping[str, int]]], *, attempts: int = 5
    ) -> dict[str, int]:
        """Replace the scope's counts with ``recount()`` (computed from the records), unless a write
        changed the counts while it ran: then recount again, up to ``attempts`` times.

        The check and the replacement are one transaction, so a write committing in between conflicts
        with it (and the rebuild starts over) instead of being lost.
        """
        for _ in range(attempts):
            seen = await self._versions(scope)
            counts = {name: n for name, n in (await recount()).items() if n}
            try:
                if await self.transaction(functools.partial(self._replace, scope, seen, counts)):
                    return counts
            except PyMongoError as exc:
                if not exc.has_error_label("TransientTransactionError"):
                    raise
        raise StorageConflict(f"counts of {scope} kept changing while they were recounted; try again")
