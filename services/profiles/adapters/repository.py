"""Profiles and their change history in MongoDB.

One document per (appid, openid) with a unique index, so two workers can never create two profiles for
one member; the history is a separate append-only collection written in the same transaction as the
profile (through :class:`MongoProfilesUnitOfWork`), with the processed-event claim.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pymongo import AsyncMongoClient, ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, PyMongoError

from services.profiles.adapters.surveys import MongoSurveys
from services.profiles.domain.coverage import CoverageLedger, beijing_day, daily_part, facets
from services.profiles.domain.follower_import import Checkpoint
from services.profiles.domain.profile import Change, Consent, ConsentKind, Follow, Profile
from services.profiles.domain.tags import Tag, TagSource
from services.profiles.service_layer.coverage import profile_counts
from services.profiles.service_layer.ports import ProfileCounts
from shared.contracts import PROFILES_READ_MODEL, profile_id
from shared.maternal_infant import Basis, Confidence, StageDeclaration, current_declaration
from shared.storage import (
    COUNTER_SHARDS,
    IndexSpec,
    MongoUnitOfWork,
    StorageConflict,
    StorageError,
    StorageUnavailable,
    retry_transient,
)
from shared.wechat_client import UserInfo

__all__ = [
    "COVERAGE",
    "HISTORY",
    "IMPORT_CHECKPOINTS",
    "INDEXES",
    "PROFILES",
    "MongoFollowerImport",
    "MongoProfileRepository",
    "MongoProfilesUnitOfWork",
    "MongoTagSyncStore",
]

#: The collection this service owns and declares to others (shared.contracts.PROFILES_READ_MODEL).
PROFILES = PROFILES_READ_MODEL.collection
HISTORY = "profile_history"
IMPORT_CHECKPOINTS = "profile_import_checkpoints"
WECHAT_TAGS = "wechat_tags"
WECHAT_TAG_MEMBERS = "wechat_tag_members"
#: Coverage counters: an account's totals are the sum of ``"<appid>|total"`` (what a rebuild wrote) and its
#: shards ``"<appid>|total|<n>"``; each Beijing day's increments are the sum of ``"<appid>|<YYYY-MM-DD>|<n>"``.
COVERAGE = "profile_coverage"

INDEXES = (
    IndexSpec(PROFILES, (("appid", 1), ("openid", 1)), name="member", unique=True),
    IndexSpec(PROFILES, (("unionid", 1),), name="unionid", partial_filter={"unionid": {"$type": "string"}}),
    # Stage counts and selections are date ranges over the declaration that counts (see spans_for_stage).
    IndexSpec(PROFILES, (("appid", 1), ("stage.basis", 1), ("stage.on", 1)), name="account_stage"),
    IndexSpec(PROFILES, (("appid", 1), ("consents.marketing.given", 1)), name="account_marketing"),
    IndexSpec(PROFILES, (("appid", 1), ("follow.following", 1)), name="account_following"),
    # Readers that keep their own view (the segment index) sweep recent writes in case an event was lost.
    IndexSpec(PROFILES, (("written_at", 1),), name="written"),
    IndexSpec(HISTORY, (("appid", 1), ("openid", 1), ("at", -1)), name="member_at"),
    IndexSpec(WECHAT_TAG_MEMBERS, (("appid", 1), ("code", 1)), name="account_code"),
    IndexSpec(COVERAGE, (("appid", 1), ("day", 1)), name="account_day"),
)


#: MongoDB's code for a write that met another transaction's (the account's counter document, mostly).
_WRITE_CONFLICT = 112


def translate(exc: PyMongoError) -> StorageError:
    """A driver error as the storage error the runner knows: conflicts are retried, outages waited out."""
    if isinstance(exc, ConnectionFailure):
        return StorageUnavailable(f"MongoDB unreachable: {type(exc).__name__}")
    if exc.has_error_label("TransientTransactionError") or getattr(exc, "code", None) == _WRITE_CONFLICT:
        return StorageConflict(f"transaction conflict: {type(exc).__name__}")
    return StorageError(f"{type(exc).__name__}: {exc}")


def _id(appid: str, openid: str) -> str:
    return profile_id(appid, openid)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def to_document(profile: Profile) -> dict[str, Any]:
    counting = current_declaration(profile.declarations)
    return {
        "_id": _id(profile.appid, profile.openid),
        "appid": profile.appid,
        "openid": profile.openid,
        "unionid": profile.unionid,
        "follow": {
            "following": profile.follow.following,  # derived, for queries
            "first_followed_at": profile.follow.first_followed_at,
            "last_followed_at": profile.follow.last_followed_at,
            "last_unfollowed_at": profile.follow.last_unfollowed_at,
        },
        "last_active_at": profile.last_active_at,
        "tags": [
            {
                "code": tag.code,
                "source": tag.source.value,
                "weight": tag.weight,
                "first_seen": tag.first_seen,
                "last_seen": tag.last_seen,
            }
            for tag in profile.tags.values()
        ],
        "declarations": [
            {
                "basis": d.basis.value,
                "declared_on": d.declared_on.isoformat(),
                "on": _day(d.on),
                "confidence": d.confidence.value,
                "source": d.source,
            }
            for d in profile.declarations
        ],
        # Derived, for queries: the declaration that counts. The stage on a given day is a date range of it.
        "stage": None
        if counting is None
        else {"basis": counting.basis.value, "on": _day(counting.on), "confidence": counting.confidence.value},
        "consents": {kind.value: {"given": c.given, "at": c.at, "via": c.via} for kind, c in profile.consents.items()},
        "spend_by_month": dict(profile.spend_by_month),
        "applied_events": list(profile.applied_events),
        "version": profile.version,
    }


def from_document(doc: dict[str, Any]) -> Profile:
    tags = {
        (t["code"], TagSource(t["source"])): Tag(
            t["code"], TagSource(t["source"]), float(t["weight"]), t["first_seen"], t["last_seen"]
        )
        for t in doc.get("tags", [])
    }
    declarations = [
        StageDeclaration(
            Basis(d["basis"]),
            date.fromisoformat(d["declared_on"]),
            None if d["on"] is None else date.fromisoformat(d["on"]),
            Confidence(d["confidence"]),
            d["source"],
        )
        for d in doc.get("declarations", [])
    ]
    consents = {
        ConsentKind(kind): Consent(c["given"], c["at"], c["via"]) for kind, c in doc.get("consents", {}).items()
    }
    follow = doc.get("follow") or {}
    return Profile(
        appid=doc["appid"],
        openid=doc["openid"],
        unionid=doc.get("unionid"),
        follow=Follow(
            follow.get("first_followed_at"), follow.get("last_followed_at"), follow.get("last_unfollowed_at")
        ),
        last_active_at=doc.get("last_active_at"),
        tags=tags,
        declarations=declarations,
        consents=consents,
        spend_by_month=dict(doc.get("spend_by_month", {})),
        applied_events=list(doc.get("applied_events", [])),
        version=int(doc.get("version", 0)),
    )


class MongoProfileRepository:
    def __init__(
        self,
        database: AsyncDatabase[Any],
        session: AsyncClientSession | None = None,
        written: set[tuple[str, str]] | None = None,
        ledger: CoverageLedger | None = None,
    ) -> None:
        self._profiles = database[PROFILES]
        self._history = database[HISTORY]
        self._coverage = database[COVERAGE]
        self._session = session
        #: In a unit of work: what each write changes in the coverage counters.
        self._ledger = ledger
        #: (appid, openid) of every profile this repository wrote: announced once the transaction commits.
        self.written = set() if written is None else written

    async def get(self, appid: str, openid: str) -> Profile | None:
        doc = await self._profiles.find_one({"_id": _id(appid, openid)}, session=self._session)
        profile = None if doc is None else from_document(doc)
        if self._ledger is not None:
            self._ledger.seen((appid, openid), profile)
        return profile

    async def get_or_new(self, appid: str, openid: str) -> Profile:
        return await self.get(appid, openid) or Profile(appid, openid)

    async def get_many(self, members: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Profile]:
        """The stored profiles of ``members`` ((appid, openid) pairs), in one query; missing ones left out."""
        if not members:
            return {}
        ids = [_id(appid, openid) for appid, openid in members]
        cursor = self._profiles.find({"_id": {"$in": ids}}, session=self._session)
        found = {(doc["appid"], doc["openid"]): from_document(doc) async for doc in cursor}
        if self._ledger is not None:
            for member in members:
                self._ledger.seen(member, found.get(member))
        return found

    async def save(self, profile: Profile, changes: list[Change]) -> None:
        """Write the profile and append ``changes`` to its history (in the caller's transaction)."""
        await self.save_many([(profile, changes)])

    async def save_many(self, updates: Sequence[tuple[Profile, list[Change]]]) -> None:
        """Write profiles and append their changes to the history: two round trips however many."""
        if not updates:
            return
        if self._ledger is not None:
            ledger = self._ledger
            # A profile written without being read in this transaction counts from what is stored.
            await self.get_many([key for p, _ in updates if not ledger.knows(key := (p.appid, p.openid))])
        writes = []
        history: list[dict[str, Any]] = []
        now = datetime.now(UTC)
        for profile, changes in updates:
            profile.version += 1
            if self._ledger is not None:
                self._ledger.wrote(profile)
            self.written.add((profile.appid, profile.openid))
            doc = to_document(profile) | {"written_at": now}
            writes.append(ReplaceOne({"_id": doc["_id"]}, doc, upsert=True))
            history += (
                {
                    "appid": profile.appid,
                    "openid": profile.openid,
                    "at": change.at,
                    "kind": change.kind,
                    "detail": change.detail,
                    "actor": change.actor,
                }
                for change in changes
            )
        await self._profiles.bulk_write(writes, ordered=False, session=self._session)
        if history:
            await self._history.insert_many(history, ordered=False, session=self._session)

    async def stats(self, appid: str, today: date) -> ProfileCounts:
        """Counts for the account's dashboard, from its coverage counters (one document)."""
        return profile_counts(await self.coverage_totals(appid), today)

    async def coverage_totals(self, appid: str) -> dict[str, int]:
        totals: Counter[str] = Counter()
        async for doc in self._coverage.find({"_id": {"$in": _total_ids(appid)}}, {"c": 1}, session=self._session):
            totals.update({key: int(n) for key, n in doc.get("c", {}).items()})
        return dict(totals)

    async def coverage_days(self, appid: str, first: date) -> dict[date, dict[str, int]]:
        query = {"appid": appid, "day": {"$gte": first.isoformat()}}
        days: dict[date, Counter[str]] = {}
        async for doc in self._coverage.find(query, {"day": 1, "c": 1}, session=self._session):
            days.setdefault(date.fromisoformat(doc["day"]), Counter()).update(
                {key: int(n) for key, n in doc.get("c", {}).items()}
            )
        return {day: dict(counts) for day, counts in days.items()}

    async def replace_coverage(self, appid: str, totals: dict[str, int]) -> None:
        document = {"appid": appid, "c": totals, "rebuilt_at": datetime.now(UTC)}
        await self._coverage.replace_one({"_id": f"{appid}|total"}, document, upsert=True, session=self._session)
        await self._coverage.delete_many({"_id": {"$in": _total_ids(appid)[1:]}}, session=self._session)

    async def each(self, appid: str) -> AsyncIterator[Profile]:
        """Every profile of an account, streamed (stats walk them: the stage depends on today)."""
        async for doc in self._profiles.find({"appid": appid}, {"applied_events": 0}, session=self._session):
            yield from_document(doc)

    async def history(self, appid: str, openid: str, limit: int = 100) -> list[dict[str, Any]]:
        query = {"appid": appid, "openid": openid}
        cursor = self._history.find(query, {"_id": 0}).sort([("at", -1), ("_id", -1)]).limit(limit)
        return [doc async for doc in cursor]


async def add_coverage(
    database: AsyncDatabase[Any], session: AsyncClientSession, increments: dict[str, dict[str, int]], at: datetime
) -> None:
    """Apply a transaction's coverage increments (appid -> key -> n): one ``$inc`` on the account's
    totals and one on its day's document, whatever the number of profiles written, and last in the
    transaction, so the account's hot document is held for as short a time as possible."""
    day = beijing_day(at).isoformat()
    coverage = database[COVERAGE]
    # Concurrent writers (H5 answers, workers' batches) each add to one of a few shard documents, so
    # they rarely touch the same one; any shard will do, since readers add them all up.
    shard = random.randrange(COUNTER_SHARDS)  # noqa: S311 (spreading writes, not a secret)
    for appid, counts in sorted(increments.items()):
        total = {"$inc": {f"c.{key}": n for key, n in counts.items()}, "$setOnInsert": {"appid": appid}}
        await coverage.update_one({"_id": f"{appid}|total|{shard}"}, total, upsert=True, session=session)
        if daily := daily_part(counts):
            change = {"$inc": {f"c.{key}": n for key, n in daily.items()}, "$setOnInsert": {"appid": appid, "day": day}}
            await coverage.update_one({"_id": f"{appid}|{day}|{shard}"}, change, upsert=True, session=session)


def _total_ids(appid: str) -> list[str]:
    """The documents whose sum is an account's totals: the rebuilt one, then the shards writes add to."""
    return [f"{appid}|total"] + [f"{appid}|total|{shard}" for shard in range(COUNTER_SHARDS)]


class MongoFollowerImport:
    """The import's sink: profiles upserted in bulk (with their coverage counters, in one transaction
    per batch), and a checkpoint per account."""

    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._database = database
        self._profiles = database[PROFILES]
        self._checkpoints = database[IMPORT_CHECKPOINTS]

    async def checkpoint(self, appid: str) -> Checkpoint | None:
        doc = await self._checkpoints.find_one({"_id": appid})
        return None if doc is None else Checkpoint(doc["next_openid"], doc["imported"], doc.get("done", False))

    async def save_checkpoint(self, appid: str, checkpoint: Checkpoint) -> None:
        fields = {"next_openid": checkpoint.next_openid, "imported": checkpoint.imported, "done": checkpoint.done}
        await self._checkpoints.replace_one({"_id": appid}, fields, upsert=True)

    async def upsert_followers(self, appid: str, followers: Sequence[UserInfo]) -> int:
        if not followers:
            return 0
        return await retry_transient(lambda: self._upsert(appid, followers))

    async def _upsert(self, appid: str, followers: Sequence[UserInfo]) -> int:
        """One transaction: the profiles as they were, the upserts, the profiles as they are now, and
        the coverage counters moved by the difference (a re-import changes neither)."""
        ids = [_id(appid, info.openid) for info in followers]

        async def counted(session: AsyncClientSession) -> dict[str, frozenset[str]]:
            cursor = self._profiles.find({"_id": {"$in": ids}}, {"applied_events": 0}, session=session)
            return {doc["_id"]: facets(from_document(doc)) async for doc in cursor}

        async with self._database.client.start_session() as session:
            await session.start_transaction()
            try:
                before = await counted(session)
                created = await self._write(appid, followers, session)
                ledger = CoverageLedger()
                for key, after in (await counted(session)).items():
                    if after != before.get(key, frozenset()):
                        ledger.add(appid, before.get(key, frozenset()), after)
                if increments := ledger.increments():
                    await add_coverage(self._database, session, increments, datetime.now(UTC))
                await session.commit_transaction()
            except PyMongoError as exc:
                if session.in_transaction:
                    await session.abort_transaction()
                raise translate(exc) from exc
            except BaseException:
                if session.in_transaction:
                    await session.abort_transaction()
                raise
        return created

    async def _write(self, appid: str, followers: Sequence[UserInfo], session: AsyncClientSession) -> int:
        now = datetime.now(UTC)
        writes: list[Any] = []
        for info in followers:
            since = None if info.subscribe_time is None else datetime.fromtimestamp(info.subscribe_time, UTC)
            empty = to_document(Profile(appid, info.openid, unionid=info.unionid, follow=Follow(since, since)))
            empty.pop("unionid")
            key = {"_id": empty.pop("_id")}
            writes.append(UpdateOne(key, {"$setOnInsert": empty | {"written_at": now}}, upsert=True))
            if info.unionid:  # fill in a missing unionid, never overwrite one
                writes.append(UpdateOne({**key, "unionid": None}, {"$set": {"unionid": info.unionid}}))
            if since is not None:  # a profile made before any follow reached us learns when it began
                unknown = {**key, "follow.last_followed_at": None, "follow.last_unfollowed_at": None}
                known = {"follow.first_followed_at": since, "follow.last_followed_at": since, "follow.following": True}
                known["written_at"] = now
                writes.append(UpdateOne(unknown, {"$set": known}))
        result = await self._profiles.bulk_write(writes, ordered=False, session=session)
        return int(result.upserted_count)


class MongoTagSyncStore:
    """WeChat tag ids per (account, code), and which members carry each tag as this sync made them."""

    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._tags = database[WECHAT_TAGS]
        self._members = database[WECHAT_TAG_MEMBERS]

    async def tag_ids(self, appid: str) -> dict[str, int]:
        return {doc["code"]: doc["tag_id"] async for doc in self._tags.find({"appid": appid})}

    async def remember_tag(self, appid: str, code: str, tag_id: int) -> None:
        document = {"appid": appid, "code": code, "tag_id": tag_id}
        await self._tags.replace_one({"_id": f"{appid}:{code}"}, document, upsert=True)

    async def members(self, appid: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        async for doc in self._members.find({"appid": appid}, {"code": 1, "openid": 1}):
            found.setdefault(doc["code"], set()).add(doc["openid"])
        return found

    async def record(self, appid: str, code: str, openids: Sequence[str], added: bool) -> None:
        keys = [f"{appid}:{code}:{openid}" for openid in openids]
        if added:
            writes = [
                UpdateOne(
                    {"_id": key},
                    {"$setOnInsert": {"appid": appid, "code": code, "openid": openid}},
                    upsert=True,
                )
                for key, openid in zip(keys, openids, strict=True)
            ]
            await self._members.bulk_write(writes, ordered=False)
        else:
            await self._members.delete_many({"_id": {"$in": keys}})


#: Told which profiles (appid, openid) a committed transaction wrote.
Announce = Callable[[Sequence[tuple[str, str]]], Awaitable[None]]


class MongoProfilesUnitOfWork(MongoUnitOfWork):
    """Profiles and surveys in one transaction; after a commit, ``announce`` hears which profiles changed
    (the bootstrap publishes them as ``profile.changed`` for the segment index)."""

    profiles: MongoProfileRepository
    surveys: MongoSurveys

    def __init__(
        self,
        client: AsyncMongoClient[Any],
        database: str,
        announce: Announce | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(client, database)
        self._announce = announce
        self._clock = clock
        self._ledger = CoverageLedger()

    def _bind(self, session: AsyncClientSession) -> None:
        self._ledger.clear()
        self.profiles = MongoProfileRepository(self.database, session, ledger=self._ledger)
        self.surveys = MongoSurveys(self.database, session)

    async def commit(self) -> None:
        if increments := self._ledger.increments():
            try:
                await add_coverage(self.database, self.session, increments, self._clock())
            except PyMongoError as exc:
                raise translate(exc) from exc
        await super().commit()
        written, self.profiles.written = sorted(self.profiles.written), set()
        if written and self._announce is not None:
            await self._announce(written)
