"""Persistence of members, behind a small port.

Each save also changes the account's counters (``member_counters``: members, following) in the same
transaction, by what the save changed, so counting an account's members never walks them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.members.domain.model import Member, count_change
from services.members.service_layer.ports import MemberRepository
from shared.storage import IndexSpec, MongoCounters, counter_indexes

MEMBERS = "members"
#: Per account: how many members, how many follow now (a few shard documents each).
COUNTERS = "member_counters"

INDEXES = (
    IndexSpec(MEMBERS, (("appid", 1), ("openid", 1)), name="appid_openid", unique=True),
    IndexSpec(MEMBERS, (("appid", 1), ("following", 1), ("last_followed_at", -1)), name="appid_following"),
    *counter_indexes(COUNTERS),
)


def account_scope(appid: str) -> str:
    return f"account:{appid}"


def member_counters(database: AsyncDatabase[Any]) -> MongoCounters:
    return MongoCounters(database, COUNTERS)


def to_document(member: Member) -> dict[str, Any]:
    return asdict(member)


def from_document(document: dict[str, Any]) -> Member:
    return Member(
        appid=document["appid"],
        openid=document["openid"],
        following=bool(document.get("following", False)),
        first_followed_at=document.get("first_followed_at"),
        last_followed_at=document.get("last_followed_at"),
        last_unfollowed_at=document.get("last_unfollowed_at"),
        follow_count=int(document.get("follow_count", 0)),
        first_scene=document.get("first_scene"),
    )


class MongoMemberRepository(MemberRepository):
    def __init__(self, database: AsyncDatabase[Any], session: AsyncClientSession) -> None:
        self._collection = database[MEMBERS]
        self._session = session
        self._counters = member_counters(database)

    async def get(self, appid: str, openid: str) -> Member | None:
        document = await self._collection.find_one({"appid": appid, "openid": openid}, session=self._session)
        return None if document is None else from_document(document)

    async def save(self, member: Member) -> None:
        before = await self._collection.find_one_and_replace(
            {"appid": member.appid, "openid": member.openid},
            to_document(member),
            projection={"following": 1},
            upsert=True,
            return_document=ReturnDocument.BEFORE,
            session=self._session,
        )
        previous = None if before is None else Member(member.appid, member.openid, following=bool(before["following"]))
        counts = count_change(previous, member)
        await self._counters.add(account_scope(member.appid), member.openid, counts, session=self._session)
