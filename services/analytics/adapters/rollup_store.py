"""The rollup worker's MongoDB storage: rollup documents (``$inc`` only), follower state, claims.

``rollups``: ``{_id: "<appid>|<scope>|<day>", appid, scope, day, c: {<metric>: int}}``, the contract
with the query side (docs/analytics.md). ``analytics_followers``: the worker's own per-member state, ``_id
"<appid>|<openid>"``. Both are written in the transaction that claims the batch's events.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.analytics.domain.rollups import ACCOUNT, Follower, RollupKey, Rollups, rollup_id
from services.analytics.service_layer.ports import FollowerStore, RollupsUnitOfWork, RollupWriter
from shared.storage import IndexSpec, MongoUnitOfWork, StorageConflict

__all__ = [
    "FOLLOWERS",
    "ROLLUPS",
    "ROLLUP_INDEXES",
    "MongoFollowerStore",
    "MongoRollupWriter",
    "MongoRollupsUnitOfWork",
    "follower_document",
    "follower_from_document",
]

ROLLUPS = "rollups"
FOLLOWERS = "analytics_followers"

#: The query side reads one scope over a range of days, or every scope of an account over a range.
ROLLUP_INDEXES = (
    IndexSpec(ROLLUPS, (("appid", 1), ("scope", 1), ("day", 1)), name="appid_scope_day"),
    IndexSpec(ROLLUPS, (("appid", 1), ("day", 1)), name="appid_day"),
)

#: Write errors that mean another transaction wrote the same document first: retry the batch.
_RACES = {11000, 112}


def _raise_race(exc: BulkWriteError) -> None:
    codes = {error.get("code") for error in exc.details.get("writeErrors", [])}
    if codes and codes <= _RACES:
        raise StorageConflict("a rollup or follower was written by another transaction meanwhile") from exc


def _account_last(item: tuple[RollupKey, Counter[str]]) -> tuple[bool, RollupKey]:
    key = item[0]
    return (key[1] == ACCOUNT, key)


class MongoRollupWriter(RollupWriter):
    def __init__(self, database: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self._rollups = database[ROLLUPS]
        self._session = session

    async def add(self, increments: Rollups) -> None:
        writes = [
            UpdateOne(
                {"_id": rollup_id(appid, scope, day)},
                {
                    "$inc": {f"c.{metric}": n for metric, n in sorted(counters.items()) if n},
                    "$setOnInsert": {"appid": appid, "scope": scope, "day": day},
                },
                upsert=True,
            )
            # The same order in every transaction, and the account's rollups (which nearly every batch
            # touches) last, so a transaction holds its write on them for the shortest time.
            for (appid, scope, day), counters in sorted(increments.items(), key=_account_last)
            if any(counters.values())
        ]
        if not writes:
            return
        try:
            await self._rollups.bulk_write(writes, ordered=True, session=self._session)
        except BulkWriteError as exc:
            _raise_race(exc)
            raise


def follower_document(follower: Follower) -> dict[str, Any]:
    return {
        "_id": f"{follower.appid}|{follower.openid}",
        "appid": follower.appid,
        "openid": follower.openid,
        "source": follower.source,
        "followed_at": follower.followed_at,
        # A list, not a map: campaign ids are data and need not be valid field names.
        "credits": [{"campaign": campaign, "at": at} for campaign, at in follower.credits.items()],
        "unfollows": follower.unfollows,
    }


def follower_from_document(document: dict[str, Any]) -> Follower:
    credits: dict[str, datetime] = {entry["campaign"]: entry["at"] for entry in document.get("credits", [])}
    return Follower(
        appid=document["appid"],
        openid=document["openid"],
        source=document.get("source"),
        followed_at=document.get("followed_at"),
        credits=credits,
        unfollows=sorted(document.get("unfollows", [])),
    )


class MongoFollowerStore(FollowerStore):
    def __init__(self, database: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self._followers = database[FOLLOWERS]
        self._session = session

    async def get_many(self, members: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Follower]:
        ids = [f"{appid}|{openid}" for appid, openid in members]
        if not ids:
            return {}
        found = self._followers.find({"_id": {"$in": ids}}, session=self._session)
        return {(doc["appid"], doc["openid"]): follower_from_document(doc) async for doc in found}

    async def save_many(self, followers: Sequence[Follower]) -> None:
        writes = [
            ReplaceOne({"_id": document["_id"]}, document, upsert=True)
            for document in sorted((follower_document(f) for f in followers), key=lambda d: str(d["_id"]))
        ]
        if not writes:
            return
        try:
            await self._followers.bulk_write(writes, ordered=True, session=self._session)
        except BulkWriteError as exc:
            _raise_race(exc)
            raise


class MongoRollupsUnitOfWork(MongoUnitOfWork, RollupsUnitOfWork):
    """Claims, rollup increments and follower writes in one MongoDB transaction."""

    _rollups: MongoRollupWriter
    _followers: MongoFollowerStore

    def _bind(self, session: AsyncClientSession) -> None:
        self._rollups = MongoRollupWriter(self.database, session)
        self._followers = MongoFollowerStore(self.database, session)

    @property
    def rollups(self) -> MongoRollupWriter:
        return self._rollups

    @property
    def followers(self) -> MongoFollowerStore:
        return self._followers
