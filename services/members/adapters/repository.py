"""Persistence of members, behind a small port."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.members.domain.model import Member
from services.members.service_layer.ports import MemberRepository
from shared.storage import IndexSpec

MEMBERS = "members"

INDEXES = (
    IndexSpec(MEMBERS, (("appid", 1), ("openid", 1)), name="appid_openid", unique=True),
    IndexSpec(MEMBERS, (("appid", 1), ("following", 1), ("last_followed_at", -1)), name="appid_following"),
)


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

    async def get(self, appid: str, openid: str) -> Member | None:
        document = await self._collection.find_one({"appid": appid, "openid": openid}, session=self._session)
        return None if document is None else from_document(document)

    async def save(self, member: Member) -> None:
        await self._collection.replace_one(
            {"appid": member.appid, "openid": member.openid},
            to_document(member),
            upsert=True,
            session=self._session,
        )
