"""Held H5 invitations in MongoDB: one document per member (``_id`` ``<appid>:<openid>``), so holding
again replaces and a lookup for a batch's members is one ``$in`` on the primary key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from services.profiles.domain.invitations import HeldInvitation
from shared.storage import StorageUnavailable

__all__ = ["HELD_INVITATIONS", "MongoHeldInvitations"]

HELD_INVITATIONS = "h5_invitations_held"


def _id(appid: str, openid: str) -> str:
    return f"{appid}:{openid}"


class MongoHeldInvitations:
    def __init__(self, database: AsyncDatabase[dict[str, Any]]) -> None:
        self._held = database[HELD_INVITATIONS]

    async def hold(self, invitation: HeldInvitation) -> None:
        document = {
            "appid": invitation.appid,
            "openid": invitation.openid,
            "held_at": invitation.held_at,
            "reason": invitation.reason,
            "attempts": invitation.attempts,
        }
        try:
            await self._held.replace_one({"_id": _id(invitation.appid, invitation.openid)}, document, upsert=True)
        except PyMongoError as exc:
            raise StorageUnavailable(f"held invitations: {type(exc).__name__}") from exc

    async def held_among(self, appid: str, openids: Sequence[str]) -> list[HeldInvitation]:
        if not openids:
            return []
        ids = [_id(appid, openid) for openid in dict.fromkeys(openids)]
        try:
            found = await self._held.find({"_id": {"$in": ids}}).to_list(None)
        except PyMongoError as exc:
            raise StorageUnavailable(f"held invitations: {type(exc).__name__}") from exc
        return [
            HeldInvitation(doc["appid"], doc["openid"], doc["held_at"], doc["reason"], int(doc["attempts"]))
            for doc in found
        ]

    async def release(self, appid: str, openid: str) -> None:
        try:
            await self._held.delete_one({"_id": _id(appid, openid)})
        except PyMongoError as exc:
            raise StorageUnavailable(f"held invitations: {type(exc).__name__}") from exc
