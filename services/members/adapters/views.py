"""Read side: queries the HTTP API answers straight from MongoDB (no unit of work needed)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.members.adapters.repository import MEMBERS, account_scope, from_document, member_counters
from services.members.domain.model import Member


class MemberViews:
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._members = database[MEMBERS]
        self._counters = member_counters(database)

    async def get(self, appid: str, openid: str) -> Member | None:
        document = await self._members.find_one({"appid": appid, "openid": openid})
        return None if document is None else from_document(document)

    async def list(self, appid: str, *, following: bool | None, limit: int, offset: int) -> list[Member]:
        query: dict[str, Any] = {"appid": appid}
        if following is not None:
            query["following"] = following
        cursor = self._members.find(query).sort([("last_followed_at", -1), ("openid", 1)]).skip(offset).limit(limit)
        return [from_document(document) async for document in cursor]

    async def counts(self, appid: str) -> dict[str, int]:
        """From the account's counters (kept with every member write), never by walking its members."""
        counts = await self._counters.read(account_scope(appid))
        total, following = counts.get("members", 0), counts.get("following", 0)
        return {"members": total, "following": following, "unfollowed": total - following}


class MemberCounterRebuild:
    """Recomputes an account's counters from its members: after upgrading, and for repair (safe to
    repeat, and beside the worker: see ``MongoCounters.rebuild``)."""

    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._members = database[MEMBERS]
        self._counters = member_counters(database)

    async def accounts(self) -> list[str]:
        return sorted(await self._members.distinct("appid"))

    async def recount(self, appid: str) -> dict[str, int]:
        total = await self._members.count_documents({"appid": appid})
        following = await self._members.count_documents({"appid": appid, "following": True})
        return {"members": total, "following": following}

    async def rebuild(self, appid: str) -> dict[str, int]:
        return await self._counters.rebuild(account_scope(appid), lambda: self.recount(appid))
