"""MongoDB documents of the segments service: saved segments with their versions, pushes, frozen
audiences, deliveries, members' recent sends and clicks.

Every effect that must happen once has a unique key: a segment version is ``segment:version``, a
delivery is ``push:openid`` (a member gets a push at most once, whatever crashes or retries), an
audience chunk is ``push:chunk``, a counted click is ``push:variant:openid``.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.segments.adapters.push_documents import draft_content, push_to_document
from services.segments.domain.pushes import Push
from services.segments.domain.segments import SavedSegment, SegmentNameTaken, SegmentVersionConflict
from shared.contracts import PROFILES_READ_MODEL, MassSendFinished
from shared.events import Envelope, Topic
from shared.storage import OUTBOX, IndexSpec, MongoUnitOfWork, StorageConflict

__all__ = [
    "AUDIENCES",
    "CLICKS",
    "DELIVERIES",
    "INDEXES",
    "IN_BATCH",
    "MEMBER_SENDS",
    "PUSHES",
    "SEGMENTS",
    "SEGMENT_VERSIONS",
    "TEMPLATE_MSGS",
    "TESTERS",
    "TEST_SENDS",
    "MongoDeliveryUnitOfWork",
    "MongoPushes",
    "MongoSegments",
    "find_by_ids",
]

SEGMENTS = "segments"
SEGMENT_VERSIONS = "segment_versions"
PUSHES = "pushes"
AUDIENCES = "push_audiences"
DELIVERIES = "push_deliveries"
MEMBER_SENDS = "push_member_sends"
CLICKS = "push_clicks"
TEMPLATE_MSGS = "push_template_msgs"
TESTERS = "push_testers"
TEST_SENDS = "push_test_sends"

INDEXES = (
    IndexSpec(SEGMENTS, (("appid", 1), ("name", 1)), name="appid_name", unique=True),
    IndexSpec(SEGMENT_VERSIONS, (("segment_id", 1), ("version", -1)), name="segment_version"),
    IndexSpec(PUSHES, (("status", 1), ("send_at", 1)), name="status_due"),
    IndexSpec(PUSHES, (("appid", 1), ("created_at", -1)), name="appid_created"),
    IndexSpec(PUSHES, (("appid", 1), ("mass.msg_id", 1)), name="mass_msg"),
    IndexSpec(AUDIENCES, (("push_id", 1), ("chunk", 1)), name="push_chunk"),
    IndexSpec(DELIVERIES, (("push_id", 1), ("status", 1)), name="push_status"),
    # Where a segment is used, a member's pushes and their clicks (the console's pages).
    IndexSpec(PUSHES, (("appid", 1), ("segment_id", 1), ("created_at", -1)), name="appid_segment"),
    # A brand project's pushes (the console's project page).
    IndexSpec(PUSHES, (("appid", 1), ("project_id", 1), ("created_at", -1)), name="appid_project"),
    IndexSpec(DELIVERIES, (("appid", 1), ("openid", 1), ("created_at", -1)), name="member_deliveries"),
    IndexSpec(CLICKS, (("openid", 1), ("push_id", 1)), name="member_clicks"),
    IndexSpec(TEST_SENDS, (("appid", 1), ("push_id", 1), ("at", -1)), name="push_tests"),
    # Declared so the process adds its retention (a TTL index on the same keys: shared.storage).
    IndexSpec(TEMPLATE_MSGS, (("sent_at", 1),), name="retention"),
)


#: A member's last sends kept for the frequency caps (and their reservations).
_RECENT_SENDS = 200

#: Ids per ``$in``: SecantusDB (the local stand-in) answers ten lists of 50 about five times faster than
#: one of 500 (measured); to MongoDB the extra round trips cost next to nothing.
IN_BATCH = 50


def _batches(ids: Sequence[str]) -> list[list[str]]:
    return [list(ids[start : start + IN_BATCH]) for start in range(0, len(ids), IN_BATCH)]


async def find_by_ids(
    collection: Any, ids: Sequence[str], fields: Mapping[str, int] | None = None
) -> list[dict[str, Any]]:
    """The documents with these ids, in batches of :data:`IN_BATCH`."""
    found: list[dict[str, Any]] = []
    for batch in _batches(ids):
        found += [doc async for doc in collection.find({"_id": {"$in": batch}}, fields)]
    return found


async def _absent(
    collection: Any, documents: Sequence[dict[str, Any]], session: AsyncClientSession | None
) -> list[dict[str, Any]]:
    """``documents`` whose ``_id`` is not in ``collection`` yet (the first of each id): what an insert of
    them may write without a duplicate key, which inside a transaction would abort it. A read and an
    insert cost SecantusDB about a third of an upsert per document (measured)."""
    ids = list(dict.fromkeys(doc["_id"] for doc in documents))
    present: set[Any] = set()
    for batch in _batches(ids):
        present |= {doc["_id"] async for doc in collection.find({"_id": {"$in": batch}}, {"_id": 1}, session=session)}
    fresh: list[dict[str, Any]] = []
    for doc in documents:
        if doc["_id"] not in present:
            present.add(doc["_id"])
            fresh.append(doc)
    return fresh


async def _duplicates(openids: Sequence[str], write: Awaitable[Any]) -> set[str]:
    """The openids whose write (one each, in order) failed on a duplicate key; any other error raised."""
    try:
        await write
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != 11000 for error in errors):
            raise
        return {openids[error["index"]] for error in errors}
    return set()


async def _insert_new(
    collection: Any, documents: Sequence[dict[str, Any]], session: AsyncClientSession | None, *, fresh: bool
) -> None:
    """Insert the documents whose id is not there yet (the first of each). ``fresh``: none is expected
    to be, so none is read for; one that is fails the transaction as a conflict (run again, not fresh)."""
    if not fresh:
        documents = await _absent(collection, documents, session)
    if not documents:
        return
    try:
        await collection.insert_many(documents, ordered=True, session=session)
    except BulkWriteError as exc:
        if not fresh or any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
            raise
        raise StorageConflict(f"{collection.name}: an id written already; run again reading first") from exc


def _segment(doc: Mapping[str, Any]) -> SavedSegment:
    return SavedSegment(
        id=doc["_id"],
        appid=doc["appid"],
        name=doc["name"],
        description=doc.get("description", ""),
        version=doc["version"],
        rule=doc["rule"],
        created_at=doc["created_at"].replace(tzinfo=UTC),
        updated_at=doc["updated_at"].replace(tzinfo=UTC),
    )


class MongoSegments:
    """Saved segments (the service layer's ``SegmentRepository``). Every save is a new version, kept: a
    push records the version it was sent to."""

    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._segments = database[SEGMENTS]
        self._versions = database[SEGMENT_VERSIONS]

    async def create(self, appid: str, name: str, description: str, rule: dict[str, Any]) -> SavedSegment:
        now = datetime.now(UTC)
        doc = {
            "_id": "seg_" + secrets.token_hex(8),
            "appid": appid,
            "name": name,
            "description": description,
            "version": 1,
            "rule": rule,
            "created_at": now,
            "updated_at": now,
        }
        try:
            await self._segments.insert_one(doc)
        except DuplicateKeyError:
            raise SegmentNameTaken(name) from None
        await self._versions.insert_one(_version(doc))
        return _segment(doc)

    async def update(
        self,
        appid: str,
        segment_id: str,
        name: str,
        description: str,
        rule: dict[str, Any],
        expected_version: int | None = None,
    ) -> SavedSegment | None:
        """A new version; None if there is no such segment. The version document is written first,
        keyed by segment and version, so two concurrent saves cannot both become version N; with
        ``expected_version``, the one that loses is a ``SegmentVersionConflict`` instead of a retry."""
        current = await self.get(appid, segment_id)
        if current is None:
            return None
        if expected_version is not None and current.version != expected_version:
            raise SegmentVersionConflict(segment_id, expected_version, current.version)
        now = datetime.now(UTC)
        version = current.version + 1
        doc = {"_id": segment_id, "appid": appid, "name": name, "description": description, "version": version}
        doc |= {"rule": rule, "created_at": current.created_at, "updated_at": now}
        try:
            await self._versions.insert_one(_version(doc))
        except DuplicateKeyError:  # another save claimed version N first: this one is based on N-1
            return await self._lost_race(appid, segment_id, name, description, rule, expected_version)
        try:
            updated = await self._segments.find_one_and_replace(
                {"_id": segment_id, "version": current.version}, doc, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            await self._versions.delete_one({"_id": f"{segment_id}:{version}"})
            raise SegmentNameTaken(name) from None
        if updated is None:  # saved concurrently: this caller's version lost
            await self._versions.delete_one({"_id": f"{segment_id}:{version}"})
            return await self._lost_race(appid, segment_id, name, description, rule, expected_version)
        return _segment(updated)

    async def _lost_race(
        self,
        appid: str,
        segment_id: str,
        name: str,
        description: str,
        rule: dict[str, Any],
        expected_version: int | None,
    ) -> SavedSegment | None:
        """After another save won: a conflict for an edit based on a version (once the winner has landed,
        the re-read says so), else this save on top of the winner's."""
        await asyncio.sleep(0.01)  # the winner is between its two writes; let it finish
        return await self.update(appid, segment_id, name, description, rule, expected_version)

    async def get(self, appid: str, segment_id: str) -> SavedSegment | None:
        doc = await self._segments.find_one({"_id": segment_id, "appid": appid})
        return None if doc is None else _segment(doc)

    async def of_account(self, appid: str) -> list[SavedSegment]:
        return [_segment(doc) async for doc in self._segments.find({"appid": appid}).sort("name", ASCENDING)]

    async def versions(self, segment_id: str) -> list[dict[str, Any]]:
        cursor = self._versions.find({"segment_id": segment_id}, {"_id": 0}).sort("version", DESCENDING)
        return [doc | {"saved_at": doc["saved_at"].replace(tzinfo=UTC)} async for doc in cursor]

    async def version(self, segment_id: str, version: int) -> dict[str, Any] | None:
        return await self._versions.find_one({"_id": f"{segment_id}:{version}"})

    async def delete(self, appid: str, segment_id: str) -> bool:
        result = await self._segments.delete_one({"_id": segment_id, "appid": appid})
        return result.deleted_count == 1


def _version(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "_id": f"{doc['_id']}:{doc['version']}",
        "segment_id": doc["_id"],
        "version": doc["version"],
        "name": doc["name"],
        "rule": doc["rule"],
        "saved_at": doc["updated_at"],
    }


class MongoPushes:
    """Pushes, their frozen audiences and every delivery: the service layer's
    :class:`~services.segments.service_layer.ports.PushRepository`, ``PushStore`` and ``JobFinishStore``;
    bound to a transaction's ``session``, its ``DeliveryWrites`` (see :class:`MongoDeliveryUnitOfWork`)."""

    def __init__(
        self, database: AsyncDatabase[Any], session: AsyncClientSession | None = None, *, fresh: bool = False
    ) -> None:
        self._database = database
        self._session = session
        self._fresh = fresh
        self.pushes = database[PUSHES]
        self.audiences = database[AUDIENCES]
        self.deliveries = database[DELIVERIES]
        self.member_sends = database[MEMBER_SENDS]
        self.clicks = database[CLICKS]
        self.template_msgs = database[TEMPLATE_MSGS]
        self.testers_of = database[TESTERS]
        self.test_sends = database[TEST_SENDS]
        self.profiles = database[PROFILES_READ_MODEL.collection]

    def transaction(self, *, fresh: bool = False) -> MongoDeliveryUnitOfWork:
        return MongoDeliveryUnitOfWork(self._database.client, self._database.name, fresh=fresh)

    # -- pushes -------------------------------------------------------------------------------------

    async def insert(self, doc: dict[str, Any]) -> None:
        await self.pushes.insert_one(doc)

    async def add(self, push: Push) -> dict[str, Any]:
        doc = push_to_document(push)
        await self.insert(doc)
        return doc

    async def get(self, push_id: str, appid: str | None = None) -> dict[str, Any] | None:
        query: dict[str, Any] = {"_id": push_id}
        if appid is not None:
            query["appid"] = appid
        return await self.pushes.find_one(query)

    async def of_account(self, appid: str, limit: int = 100, project_id: str | None = None) -> list[dict[str, Any]]:
        query = {"appid": appid} if project_id is None else {"appid": appid, "project_id": project_id}
        cursor = self.pushes.find(query).sort("created_at", DESCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def transition(
        self, push_id: str, from_statuses: Sequence[str], to_status: str, **fields: Any
    ) -> dict[str, Any] | None:
        """Move a push between statuses atomically; None if it was not in one of ``from_statuses``."""
        return await self.pushes.find_one_and_update(
            {"_id": push_id, "status": {"$in": list(from_statuses)}},
            {"$set": {"status": to_status, **fields}},
            return_document=ReturnDocument.AFTER,
        )

    async def claim_due(
        self, statuses: Sequence[str], to_status: str, now: datetime, lease: timedelta
    ) -> dict[str, Any] | None:
        """The next push in ``statuses`` that is due and not leased by another process, leased to us."""
        return await self.pushes.find_one_and_update(
            {
                "status": {"$in": list(statuses)},
                "send_at": {"$lte": now},
                "$or": [{"resume_at": None}, {"resume_at": {"$lte": now}}],
                "lease_until": {"$not": {"$gt": now}},
                # A broadcast whose mass send is out waits for MASSSENDJOBFINISH, not for a sender.
                "cursor.done": {"$ne": True},
            },
            {"$set": {"status": to_status, "lease_until": now + lease, "resume_at": None}},
            sort=[("send_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )

    async def renew(self, push_id: str, until: datetime) -> None:
        await self.pushes.update_one({"_id": push_id}, {"$set": {"lease_until": until}})

    async def update(self, push_id: str, fields: Mapping[str, Any], inc: Mapping[str, int] | None = None) -> None:
        change: dict[str, Any] = {"$set": dict(fields)} if fields else {}
        if inc:
            change["$inc"] = dict(inc)
        if change:
            await self.pushes.update_one({"_id": push_id}, change)

    # -- audiences ----------------------------------------------------------------------------------

    async def save_audience(self, push_id: str, openids: Sequence[str], chunk: int) -> int:
        """The frozen audience in documents of ``chunk`` openids; how many documents."""
        await self.audiences.delete_many({"push_id": push_id})  # a re-run after a crash starts clean
        now = datetime.now(UTC)
        documents = [
            {
                "_id": f"{push_id}:{n:06d}",
                "push_id": push_id,
                "chunk": n,
                "openids": list(openids[i : i + chunk]),
                "created_at": now,  # what the retention counts from (docs/operations.md)
            }
            for n, i in enumerate(range(0, len(openids), chunk))
        ]
        for start in range(0, len(documents), 20):  # ~6 MB per insert at the default chunk
            await self.audiences.insert_many(documents[start : start + 20], ordered=False)
        return len(documents)

    async def audience_chunk(self, push_id: str, chunk: int) -> list[str] | None:
        doc = await self.audiences.find_one({"_id": f"{push_id}:{chunk:06d}"})
        return None if doc is None else list(doc["openids"])

    async def audience(self, push_id: str) -> AsyncIterator[str]:
        async for doc in self.audiences.find({"push_id": push_id}).sort("chunk", ASCENDING):
            for openid in doc["openids"]:
                yield openid

    # -- deliveries ---------------------------------------------------------------------------------

    async def recorded(self, push_id: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]:
        ids = [f"{push_id}:{openid}" for openid in openids]
        return {doc["openid"]: doc for doc in await find_by_ids(self.deliveries, ids)}

    async def record(self, documents: Sequence[dict[str, Any]]) -> set[str]:
        """Insert delivery records; the openids whose record already existed (someone else has them)."""
        if not documents:
            return set()
        try:
            await self.deliveries.insert_many(list(documents), ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(error.get("code") != 11000 for error in errors):
                raise
            return {documents[error["index"]]["openid"] for error in errors}
        return set()

    async def settle(self, outcomes: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Write what happened to each send (delivery id, fields): one update per distinct outcome, since
        most sends of a slice end the same way at the same moment."""
        groups: dict[tuple[tuple[str, Any], ...], list[str]] = defaultdict(list)
        for delivery_id, fields in outcomes:
            groups[tuple(sorted(fields.items()))].append(delivery_id)
        for fields_key, ids in groups.items():
            for batch in _batches(ids):
                await self.deliveries.update_many(
                    {"_id": {"$in": batch}}, {"$set": dict(fields_key)}, session=self._session
                )

    async def remember_templates(self, appid: str, push_id: str, sent: Sequence[tuple[int, str, str]]) -> None:
        """Which delivery each template ``msgid`` belongs to (msgid, delivery id, variant): what a
        TEMPLATESENDJOBFINISH push is matched by."""
        if sent:
            # Only the new ones: a duplicate key would abort the transaction this runs in.
            now = datetime.now(UTC)  # what the retention counts from
            documents = [
                {
                    "_id": f"{appid}:{msgid}",
                    "delivery_id": delivery,
                    "push_id": push_id,
                    "variant": variant,
                    "sent_at": now,
                }
                for msgid, delivery, variant in sent
            ]
            await _insert_new(self.template_msgs, documents, self._session, fresh=self._fresh)

    async def forget(self, delivery_ids: Sequence[str]) -> None:
        """Remove records of sends that did not happen (quota ran out first): sent again on resume."""
        for batch in _batches(delivery_ids):
            await self.deliveries.delete_many({"_id": {"$in": batch}}, session=self._session)

    async def deliveries_of(self, push_id: str, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"push_id": push_id}
        if status is not None:
            query["status"] = status
        return [doc async for doc in self.deliveries.find(query, {"_id": 0}).sort("openid", ASCENDING).limit(limit)]

    async def finish_template(self, appid: str, msgid: int, fields: Mapping[str, Any]) -> dict[str, Any] | None:
        """Settle a template delivery from its job-finish push, once: None if already settled or unknown."""
        sent = await self.template_msgs.find_one({"_id": f"{appid}:{msgid}"})
        if sent is None:
            return None
        return await self.deliveries.find_one_and_update(
            {"_id": sent["delivery_id"], "finished_at": None}, {"$set": {**fields, "msgid": msgid}}
        )

    async def transition_mass(self, appid: str, msg_id: int, event: MassSendFinished) -> dict[str, Any] | None:
        """The broadcast waiting for job ``msg_id``, moved to finished with the job's counts; None when
        no push waits for it (another account's job, or a repeat of the event)."""
        return await self.pushes.find_one_and_update(
            {"appid": appid, "mass.msg_id": msg_id, "mass.finished_at": None},
            {
                "$set": {
                    "status": "finished",
                    "finished_at": event.finished_at,
                    "mass.finished_at": event.finished_at,
                    "mass.status": event.status,
                    "mass.counts": {
                        "total": event.total_count,
                        "filtered": event.filter_count,
                        "sent": event.sent_count,
                        "errors": event.error_count,
                    },
                }
            },
            return_document=ReturnDocument.AFTER,
        )

    async def mark_mass_sent(self, push_id: str, at: datetime) -> None:
        await self.deliveries.update_many(
            {"push_id": push_id, "status": "queued"}, {"$set": {"status": "sent", "sent_at": at}}
        )

    # -- members' recent sends (frequency caps, mass budget) ----------------------------------------

    async def recent_sends(self, appid: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]:
        ids = [f"{appid}:{openid}" for openid in openids]
        return {doc["openid"]: doc for doc in await find_by_ids(self.member_sends, ids)}

    async def count_sends(self, appid: str, openids: Sequence[str], at: datetime, month: str | None = None) -> None:
        """Remember that these members were sent something at ``at`` (their last 200 sends are kept);
        with ``month``, that it was a mass send counting toward that month's four. Unconditional (the
        dispatcher reserves instead: :meth:`reserve_sends`), but it moves the version on like one."""
        if not openids:
            return
        change: dict[str, Any] = {"$push": {"recent": {"$each": [at], "$slice": -_RECENT_SENDS}}, "$inc": {"v": 1}}
        if month is not None:
            change["$inc"][f"mass.{month}"] = 1
        await self.member_sends.bulk_write(
            [
                UpdateOne({"_id": f"{appid}:{openid}"}, change | {"$setOnInsert": {"openid": openid}}, upsert=True)
                for openid in openids
            ],
            ordered=False,
            session=self._session,
        )

    async def reserve_sends(
        self, appid: str, push_id: str, members: Sequence[tuple[str, int]], at: datetime, month: str | None = None
    ) -> set[str]:
        """A member's first send is an insert, any other a conditional upsert: a version that moved on
        (or a document another writer created first) matches nothing, and the upsert then fails on the
        unique ``_id``, as the insert does when another push counted the member first: lost. (An insert
        costs SecantusDB a seventh of an upsert: measured.)"""
        if not members:
            return set()
        inc: dict[str, int] = {"v": 1}
        if month is not None:
            inc[f"mass.{month}"] = 1
        entry = {"at": at, "push": push_id}
        first = [openid for openid, version in members if not version]
        again = [(openid, version) for openid, version in members if version]
        documents = [
            {"_id": f"{appid}:{openid}", "openid": openid, "recent": [entry], "v": 1}
            | ({"mass": {month: 1}} if month is not None else {})
            for openid in first
        ]
        writes = [
            UpdateOne(
                {"_id": f"{appid}:{openid}", "v": version},
                {
                    "$push": {"recent": {"$each": [entry], "$slice": -_RECENT_SENDS}},
                    "$inc": inc,
                    "$setOnInsert": {"openid": openid},
                },
                upsert=True,
            )
            for openid, version in again
        ]
        lost: set[str] = set()
        if documents:
            lost |= await _duplicates(first, self.member_sends.insert_many(documents, ordered=False))
        if writes:
            lost |= await _duplicates([m[0] for m in again], self.member_sends.bulk_write(writes, ordered=False))
        return lost

    async def release_sends(self, appid: str, push_id: str, openids: Sequence[str]) -> None:
        for batch in _batches(openids):
            await self.member_sends.update_many(
                {"_id": {"$in": [f"{appid}:{openid}" for openid in batch]}},
                {"$pull": {"recent": {"push": push_id}}},
                session=self._session,
            )

    # -- clicks -------------------------------------------------------------------------------------

    async def count_click(self, push_id: str, variant: str, openid: str, url: str, at: datetime) -> bool:
        """Record a click; True when it is the member's first on this push (a mass send's clicks are
        anonymous, so each counts)."""
        return await self.record_click(push_id, variant, openid, url, at) <= 1

    async def record_click(self, push_id: str, variant: str, openid: str, url: str, at: datetime) -> int:
        """Record a click; which of the member's clicks on this push it is (1: the first), 0 for a mass
        send's (anonymous) click.

        Anonymous clicks add to one counter per (push, variant) rather than a document each: anyone
        holding a mass-send link could otherwise grow the collection without bound. No write here may
        fail on a duplicate key: inside a transaction that would abort it.
        """
        if not openid:
            await self.clicks.update_one(
                {"_id": f"{push_id}:{variant}:~anonymous"},
                {
                    "$inc": {"count": 1},
                    "$set": {"last_at": at},
                    "$setOnInsert": {"push_id": push_id, "variant": variant, "openid": "", "first_at": at},
                },
                upsert=True,
                session=self._session,
            )
            return 0
        key = f"{push_id}:{variant}:{openid}"
        first = {"push_id": push_id, "variant": variant, "openid": openid, "url": url, "first_at": at, "urls": [url]}
        before = await self.clicks.find_one_and_update(
            {"_id": key}, {"$setOnInsert": first}, upsert=True, session=self._session
        )
        if before is None:
            return 1
        await self.clicks.update_one(
            {"_id": key},
            {"$inc": {"repeats": 1}, "$set": {"last_at": at}, "$addToSet": {"urls": url}},
            session=self._session,
        )
        return 2 + int(before.get("repeats", 0))

    # -- drafts ---------------------------------------------------------------------------------------

    @staticmethod
    def _draft(push_id: str, version: int | None) -> dict[str, Any]:
        query: dict[str, Any] = {"_id": push_id, "status": "draft"}
        if version is not None:
            query["version"] = version
        return query

    async def edit_draft(self, push: Push, version: int) -> dict[str, Any] | None:
        return await self.pushes.find_one_and_update(
            self._draft(push.id, version),
            {"$set": draft_content(push), "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )

    async def send_draft(self, push_id: str, version: int, send_at: datetime) -> dict[str, Any] | None:
        return await self.pushes.find_one_and_update(
            self._draft(push_id, version),
            {"$set": {"status": "scheduled", "send_at": send_at}, "$inc": {"version": 1}},
            return_document=ReturnDocument.AFTER,
        )

    async def delete_draft(self, push_id: str, version: int | None) -> bool:
        result = await self.pushes.delete_one(self._draft(push_id, version))
        return result.deleted_count == 1

    # -- the console's views ------------------------------------------------------------------------

    async def of_segment(self, appid: str, segment_id: str, limit: int = 100) -> list[dict[str, Any]]:
        query = {"appid": appid, "segment_id": segment_id}
        fields = {"name": 1, "status": 1, "send_at": 1, "created_at": 1, "segment_id": 1, "appid": 1}
        cursor = self.pushes.find(query, fields).sort("created_at", DESCENDING).limit(limit)
        return [doc async for doc in cursor]

    async def of_member(self, appid: str, openid: str, limit: int) -> list[dict[str, Any]]:
        cursor = (
            self.deliveries.find({"appid": appid, "openid": openid}, {"_id": 0})
            .sort("created_at", DESCENDING)
            .limit(limit)
        )
        return [doc async for doc in cursor]

    async def clicks_of(self, openid: str, push_ids: Sequence[str]) -> list[dict[str, Any]]:
        if not openid or not push_ids:
            return []
        cursor = self.clicks.find({"openid": openid, "push_id": {"$in": list(push_ids)}}, {"_id": 0})
        return [doc async for doc in cursor]

    async def testers(self, appid: str) -> list[dict[str, str]]:
        doc = await self.testers_of.find_one({"_id": appid})
        return [] if doc is None else list(doc["testers"])

    async def set_testers(self, appid: str, testers: Sequence[dict[str, str]]) -> None:
        await self.testers_of.replace_one({"_id": appid}, {"_id": appid, "testers": list(testers)}, upsert=True)

    async def record_test_sends(self, documents: Sequence[dict[str, Any]]) -> None:
        if documents:
            await self.test_sends.insert_many([dict(doc) for doc in documents])

    async def profiles_of(self, appid: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """What the send decision reads of each member's profile."""
        ids = [f"{appid}:{openid}" for openid in openids]
        fields = {"openid": 1, "follow": 1, "consents": 1, "last_active_at": 1}
        return {doc["openid"]: doc for doc in await find_by_ids(self.profiles, ids, fields)}


# Orders the entries one flush writes (they share its clock reading), as MongoUnitOfWork.emit does its own.
_outbox_sequence = itertools.count()


class MongoDeliveryUnitOfWork(MongoUnitOfWork):
    """Implements :class:`~services.segments.service_layer.ports.DeliveryUnitOfWork`: delivery and click
    records and their events in one transaction.

    Events are kept until :meth:`commit` and written to the outbox together (a read per 50 ids of which
    are there already, then one insert): a dispatcher's slice emits hundreds. The entries are those
    :meth:`MongoUnitOfWork.emit` writes (the same relay publishes them), and an event id already in the
    outbox keeps its first entry.
    """

    deliveries: MongoPushes

    def __init__(self, client: AsyncMongoClient[Any], database: str, *, fresh: bool = False) -> None:
        super().__init__(client, database)
        self._fresh = fresh

    def _bind(self, session: AsyncClientSession) -> None:
        self.deliveries = MongoPushes(self.database, session, fresh=self._fresh)
        self._pending: list[tuple[Topic, Envelope]] = []

    async def emit(self, topic: Topic, envelope: Envelope) -> None:
        self._pending.append((topic, envelope))

    async def commit(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            at = datetime.now(UTC)
            entries = [
                {
                    "_id": envelope.event_id,
                    "topic": topic.name,
                    "key": envelope.key,
                    "envelope": envelope.model_dump_json(),
                    "at": at,
                    "n": next(_outbox_sequence),
                }
                for topic, envelope in pending
            ]
            await _insert_new(self.database[OUTBOX], entries, self.session, fresh=self._fresh)
        await super().commit()
