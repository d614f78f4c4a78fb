"""Export everything held about a member as one document, or erase it, over every collection at once.

The registry (:data:`MEMBER_DATA`) says what each collection holds; :class:`MemberRights` walks it. The
erasure is recorded first, in ``member_erasures`` under a hash of the member (no openid, no data), so
consumers drop the member's events from then on (:meth:`MemberRights.suppressed`) until the member follows
again; then each collection is erased, and the record gets the counts. Repeating an erasure is harmless.
"""

from __future__ import annotations

import secrets
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from shared.datarights._documents import erasure_id, exportable, matches, member_filter, scrubbed
from shared.datarights._registry import MEMBER_DATA, Action, MemberData
from shared.storage import IndexSpec

__all__ = [
    "ERASURES",
    "ERASURE_INDEXES",
    "EXPORT_LIMIT",
    "Erasure",
    "ErasureReport",
    "InMemoryMemberRights",
    "MemberRights",
    "MongoMemberRights",
]

ERASURES = "member_erasures"
ERASURE_INDEXES = (IndexSpec(ERASURES, (("at", -1),), name="at"),)
#: Documents exported per collection (a member has a handful; a runaway count is cut, and said so).
EXPORT_LIMIT = 10_000


@dataclass(frozen=True)
class Erasure:
    """An erasure on record: when, and when (if ever) the member followed again since."""

    id: str
    at: datetime
    refollowed_at: datetime | None = None

    def suppresses(self, occurred_at: datetime, follow: bool) -> bool:
        """Whether an event of the member that occurred at ``occurred_at`` must be dropped: anything
        before a follow newer than the erasure, except that follow itself."""
        if follow and occurred_at > self.at:
            return False
        return self.refollowed_at is None or occurred_at < self.refollowed_at


@dataclass(frozen=True)
class ErasureReport:
    id: str
    at: datetime
    #: Per collection, how many documents were erased that way (collections with none left out).
    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(sum(by_action.values()) for by_action in self.counts.values())


class MemberRights(ABC):
    """Export and erasure over the stores; subclasses give the primitive reads and writes."""

    registry: Sequence[MemberData] = MEMBER_DATA

    # -- primitives ---------------------------------------------------------------------------------------

    @abstractmethod
    async def _find(self, entry: MemberData, appid: str, openid: str, via_ids: Sequence[Any]) -> list[dict[str, Any]]:
        """The member's documents of ``entry`` (at most :data:`EXPORT_LIMIT` + 1)."""

    @abstractmethod
    async def _delete(self, collection: str, ids: Sequence[Any]) -> int: ...

    @abstractmethod
    async def _swap(self, collection: str, old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> int:
        """Replace documents ``old`` by ``new`` (whose ``_id`` may differ), all or none."""

    @abstractmethod
    async def _pull(self, entry: MemberData, appid: str, openid: str) -> int: ...

    @abstractmethod
    async def _put_erasure(self, record: dict[str, Any]) -> None: ...

    @abstractmethod
    async def _erasures(self, ids: Sequence[str]) -> list[dict[str, Any]]: ...

    @abstractmethod
    async def _refollowed(self, erasure: str, at: datetime) -> None:
        """Set the erasure's ``refollowed_at`` to ``at`` if it is later than the erasure and any earlier one."""

    # -- use cases ------------------------------------------------------------------------------------------

    async def export(self, appid: str, openid: str, *, now: datetime | None = None) -> dict[str, Any]:
        """Everything held about the member, one key per collection holding any (JSON-ready)."""
        held: dict[str, list[Any]] = {}
        truncated: list[str] = []
        ids = await self._parent_ids(appid, openid)
        for entry in self._ordered():
            if not entry.exported and entry.via is None:
                continue  # holds nothing of the member's
            via_ids = ids.get(entry.via[0], []) if entry.via else []
            documents = await self._find(entry, appid, openid, via_ids)
            if not documents:
                continue
            if len(documents) > EXPORT_LIMIT:
                truncated.append(entry.collection)
            held[entry.collection] = [
                exportable(_others_masked(entry, document, openid)) for document in documents[:EXPORT_LIMIT]
            ]
        erasure = await self.erasure(appid, openid)
        return {
            "appid": appid,
            "openid": openid,
            "exported_at": (now or datetime.now(UTC)).isoformat(),
            "erased_at": erasure.at.isoformat() if erasure else None,
            "collections": dict(sorted(held.items())),
            "truncated": truncated,
        }

    async def erase(self, appid: str, openid: str, *, by: str, now: datetime | None = None) -> ErasureReport:
        """Erase the member everywhere; the report counts what each collection lost (no data in it)."""
        at = now or datetime.now(UTC)
        key = erasure_id(appid, openid)
        # Recorded first: consumers drop the member's events while (and after) the stores are erased.
        await self._put_erasure({"_id": key, "at": at, "by": by, "refollowed_at": None, "counts": {}})
        pseudonym = "erased-" + secrets.token_hex(8)
        counts: dict[str, dict[str, int]] = {}
        ids = await self._parent_ids(appid, openid)
        for entry in self._ordered():
            done = await self._erase_one(entry, appid, openid, pseudonym, ids, at, by)
            if done:
                counts[entry.collection] = {entry.action.value: done}
        await self._put_erasure({"_id": key, "at": at, "by": by, "refollowed_at": None, "counts": counts})
        return ErasureReport(key, at, counts)

    async def erasure(self, appid: str, openid: str) -> Erasure | None:
        found = await self.erasures(appid, [openid])
        return found.get(openid)

    async def erasures(self, appid: str, openids: Iterable[str]) -> dict[str, Erasure]:
        """The erasures on record among ``openids`` of the account (one read)."""
        by_id = {erasure_id(appid, openid): openid for openid in dict.fromkeys(openids)}
        if not by_id:
            return {}
        return {
            by_id[doc["_id"]]: Erasure(doc["_id"], _utc(doc["at"]), _aware(doc.get("refollowed_at")))
            for doc in await self._erasures(list(by_id))
        }

    async def suppressed(self, appid: str, openid: str, occurred_at: datetime, *, follow: bool) -> bool:
        """Whether a consumer must drop this event of the member; a follow newer than the erasure is let
        through and recorded, so the member's later events are theirs again."""
        erasure = await self.erasure(appid, openid)
        if erasure is None:
            return False
        if erasure.suppresses(occurred_at, follow):
            return True
        if follow:
            await self.refollowed(erasure.id, occurred_at)
        return False

    async def refollowed(self, erasure: str, at: datetime) -> None:
        """The member followed again at ``at``, after the erasure: their events from then on pass."""
        await self._refollowed(erasure, at)

    # -- the walk -------------------------------------------------------------------------------------------

    def _ordered(self) -> list[MemberData]:
        return list(self.registry)

    async def _parent_ids(self, appid: str, openid: str) -> dict[str, list[Any]]:
        """The ids of the member's documents in the collections others name them through (``via``),
        read before anything is changed (an anonymised submission no longer names the member)."""
        parents = {entry.via[0] for entry in self.registry if entry.via is not None}
        by_name = {entry.collection: entry for entry in self.registry}
        return {
            parent: [document.get("_id") for document in await self._find(by_name[parent], appid, openid, [])]
            for parent in sorted(parents)
        }

    async def _erase_one(
        self,
        entry: MemberData,
        appid: str,
        openid: str,
        pseudonym: str,
        ids: dict[str, list[Any]],
        at: datetime,
        by: str,
    ) -> int:
        via_ids = ids.get(entry.via[0], []) if entry.via else []
        if entry.action is Action.NONE and entry.via is None:
            return 0
        documents = await self._find(entry, appid, openid, via_ids)
        if not documents or entry.action is Action.NONE:
            return 0
        if entry.action is Action.DELETE:
            return await self._delete(entry.collection, [document.get("_id") for document in documents])
        if entry.action is Action.PULL:
            return await self._pull(entry, appid, openid)
        if entry.action is Action.REDACT:
            closed = {
                "original": "",
                "original_key": None,
                "status": "discarded",
                "resolved_at": at,
                "resolved_by": by,
                "note": "member data erased",
            }
            new = [scrubbed(entry, document, openid, pseudonym, "") | closed for document in documents]
            return await self._swap(entry.collection, documents, new)
        # A renewed code is fresh per document: codes are unique within their campaign, never reused.
        anonymised = [
            scrubbed(entry, document, openid, pseudonym, "erased-" + secrets.token_hex(8)) for document in documents
        ]
        return await self._swap(entry.collection, documents, anonymised)


#: What an export shows instead of another member's openid (an inviter, say): theirs is not this one's data.
ANOTHER_MEMBER = "(another member)"


def _others_masked(entry: MemberData, document: dict[str, Any], openid: str) -> dict[str, Any]:
    masked = dict(document)
    for name in entry.match:
        if isinstance(masked.get(name), str) and masked[name] != openid:
            masked[name] = ANOTHER_MEMBER
    if entry.array is not None:
        array, item = entry.array
        masked[array] = [value for value in masked.get(array) or [] if (value.get(item) if item else value) == openid]
    return masked


def _utc(value: datetime) -> datetime:
    # MongoDB returns naive UTC times unless the client is told otherwise.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class MongoMemberRights(MemberRights):
    """Over the platform's database (every service's collections live in one)."""

    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._db = database

    async def _find(self, entry: MemberData, appid: str, openid: str, via_ids: Sequence[Any]) -> list[dict[str, Any]]:
        query = member_filter(entry, appid, openid, via_ids)
        if query is None:
            return []
        return await self._db[entry.collection].find(query).limit(EXPORT_LIMIT + 1).to_list(None)

    async def _delete(self, collection: str, ids: Sequence[Any]) -> int:
        result = await self._db[collection].delete_many({"_id": {"$in": list(ids)}})
        return int(result.deleted_count)

    async def _swap(self, collection: str, old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> int:
        # One transaction: a crash leaves the originals or the anonymised copies, never both (a count
        # would double) nor neither (it would be lost).
        async with self._db.client.start_session() as session, await session.start_transaction():
            target = self._db[collection]
            await target.delete_many({"_id": {"$in": [document["_id"] for document in old]}}, session=session)
            await target.insert_many(list(new), session=session)
        return len(new)

    async def _pull(self, entry: MemberData, appid: str, openid: str) -> int:
        assert entry.array is not None
        array, item = entry.array
        query = member_filter(entry, appid, openid)
        change = {"$pull": {array: {item: openid} if item else openid}}
        result = await self._db[entry.collection].update_many(query or {}, change)
        return int(result.modified_count)

    async def _put_erasure(self, record: dict[str, Any]) -> None:
        await self._db[ERASURES].replace_one({"_id": record["_id"]}, record, upsert=True)

    async def _erasures(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return await self._db[ERASURES].find({"_id": {"$in": list(ids)}}).to_list(None)

    async def _refollowed(self, erasure: str, at: datetime) -> None:
        await self._db[ERASURES].find_one_and_update(
            {"_id": erasure, "at": {"$lt": at}},
            {"$max": {"refollowed_at": at}},
            return_document=ReturnDocument.AFTER,
        )


class InMemoryMemberRights(MemberRights):
    """Over plain dicts (collection → documents), for tests and tools without MongoDB."""

    def __init__(self, collections: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.collections: dict[str, list[dict[str, Any]]] = collections if collections is not None else {}

    async def _find(self, entry: MemberData, appid: str, openid: str, via_ids: Sequence[Any]) -> list[dict[str, Any]]:
        if entry.via is not None and not via_ids:
            return []
        held = self.collections.get(entry.collection, [])
        return [dict(doc) for doc in held if matches(entry, doc, appid, openid, via_ids)][: EXPORT_LIMIT + 1]

    async def _delete(self, collection: str, ids: Sequence[Any]) -> int:
        held = self.collections.get(collection, [])
        kept = [doc for doc in held if doc.get("_id") not in set(ids)]
        self.collections[collection] = kept
        return len(held) - len(kept)

    async def _swap(self, collection: str, old: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> int:
        await self._delete(collection, [doc["_id"] for doc in old])
        self.collections.setdefault(collection, []).extend(dict(doc) for doc in new)
        return len(new)

    async def _pull(self, entry: MemberData, appid: str, openid: str) -> int:
        assert entry.array is not None
        array, item = entry.array
        changed = 0
        for doc in self.collections.get(entry.collection, []):
            if matches(entry, doc, appid, openid, ()):
                doc[array] = [v for v in doc.get(array, []) if (v.get(item) if item else v) != openid]
                changed += 1
        return changed

    async def _put_erasure(self, record: dict[str, Any]) -> None:
        await self._delete(ERASURES, [record["_id"]])
        self.collections.setdefault(ERASURES, []).append(dict(record))

    async def _erasures(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        return [dict(doc) for doc in self.collections.get(ERASURES, []) if doc["_id"] in set(ids)]

    async def _refollowed(self, erasure: str, at: datetime) -> None:
        for doc in self.collections.get(ERASURES, []):
            if doc["_id"] == erasure and doc["at"] < at:
                doc["refollowed_at"] = max(doc.get("refollowed_at") or at, at)
