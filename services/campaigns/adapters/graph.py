"""MongoDB storage of the referral graph: one edge per credited invitation (across an account's
campaigns) and the freezes of inviters pending review.

``referral_edges`` is keyed like the invitation it mirrors (``<campaign>:<invitee>``), so writing an
edge again (a redelivered push, the backfill) changes nothing. ``referral_freezes`` holds one
document per (account, member): frozen, or released with who released it. ``referral_flags`` holds
one document per flag kept for review, keyed ``<appid>:<kind>:<inviter>`` (unique by its ``_id``):
the pattern as last computed and the review state, which only a review changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from services.campaigns.domain.flag_reviews import FlagReview
from services.campaigns.domain.graph import Edge
from services.campaigns.domain.participants import Invitation
from services.campaigns.service_layer.ports import Freeze, ReferralGraph
from shared.storage import IndexSpec

__all__ = ["EDGES", "FLAGS", "FREEZES", "INDEXES", "MongoReferralGraph"]

#: The referral flow's invitations (``adapters/referrals.py``, which imports this module): the backfill's source.
INVITATIONS = "campaign_invitations"
EDGES = "referral_edges"
FREEZES = "referral_freezes"
FLAGS = "referral_flags"

INDEXES = (
    IndexSpec(EDGES, (("appid", 1), ("credited_at", 1)), name="account_credited"),
    IndexSpec(EDGES, (("appid", 1), ("inviter", 1), ("credited_at", 1)), name="account_inviter"),
    IndexSpec(EDGES, (("appid", 1), ("invitee", 1)), name="account_invitee"),
    IndexSpec(FREEZES, (("appid", 1), ("status", 1)), name="account_status"),
    IndexSpec(FLAGS, (("appid", 1), ("status", 1)), name="account_status"),
)

_EDGE_FIELDS = tuple(Edge.__dataclass_fields__)
_FREEZE_FIELDS = tuple(Freeze.__dataclass_fields__)
#: What a computation of the flags writes; the rest (the review state) only a review changes.
_PATTERN_FIELDS = ("at", "edges", "campaigns", "detail", "current", "last_seen_at")
_REVIEW_FIELDS = ("status", "reviewed_by", "reviewed_at", "note")


def _edge(document: dict[str, Any]) -> Edge:
    fields: dict[str, Any] = {name: document[name] for name in _EDGE_FIELDS if name in document}
    return Edge(**fields)


def _freeze(document: dict[str, Any]) -> Freeze:
    fields: dict[str, Any] = {name: document[name] for name in _FREEZE_FIELDS if name in document}
    return Freeze(**fields)


def _flag_key(flag: FlagReview) -> str:
    return f"{flag.appid}:{flag.kind}:{flag.inviter}"


def _flag_review(document: dict[str, Any]) -> FlagReview:
    fields: dict[str, Any] = {name: document[name] for name in FlagReview.__dataclass_fields__ if name in document}
    fields["campaigns"] = tuple(fields.get("campaigns", ()))
    return FlagReview(**fields)


class MongoReferralGraph(ReferralGraph):
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._edges = database[EDGES]
        self._invitations = database[INVITATIONS]
        self._freezes = database[FREEZES]
        self._flags = database[FLAGS]

    async def record_edge(self, edge: Edge) -> bool:
        document = {"_id": f"{edge.campaign_id}:{edge.invitee}", **edge.__dict__}
        result = await self._edges.update_one({"_id": document["_id"]}, {"$setOnInsert": document}, upsert=True)
        return result.upserted_id is not None

    async def set_status(self, campaign_id: str, invitee: str, status: str) -> None:
        await self._edges.update_one({"_id": f"{campaign_id}:{invitee}"}, {"$set": {"status": status}})

    async def note_unfollow(self, appid: str, invitee: str, at: datetime) -> list[Edge]:
        query = {"appid": appid, "invitee": invitee}
        await self._edges.update_many(
            query | {"unfollowed_at": None, "credited_at": {"$lte": at}}, {"$set": {"unfollowed_at": at}}
        )
        return [_edge(document) async for document in self._edges.find(query)]

    async def note_interaction(self, appid: str, invitee: str, at: datetime) -> None:
        await self._edges.update_many(
            {"appid": appid, "invitee": invitee, "interacted_at": None, "credited_at": {"$lt": at}},
            {"$set": {"interacted_at": at}},
        )

    async def edges(self, appid: str, *, inviter: str | None = None, limit: int = 100_000) -> list[Edge]:
        query: dict[str, Any] = {"appid": appid}
        if inviter is not None:
            query["inviter"] = inviter
        cursor = self._edges.find(query).sort("credited_at", 1).limit(limit)
        return [_edge(document) async for document in cursor]

    async def freeze(self, freeze: Freeze) -> Freeze | None:
        document = {name: getattr(freeze, name) for name in _FREEZE_FIELDS}
        before = await self._freezes.find_one_and_update(
            {"_id": f"{freeze.appid}:{freeze.openid}", "status": {"$ne": "frozen"}},
            {"$set": document},
            upsert=False,
            return_document=ReturnDocument.BEFORE,
        )
        if before is not None:
            return freeze
        result = await self._freezes.update_one(
            {"_id": f"{freeze.appid}:{freeze.openid}"}, {"$setOnInsert": document}, upsert=True
        )
        return freeze if result.upserted_id is not None else None

    async def release(self, appid: str, openid: str, by: str, at: datetime) -> Freeze | None:
        after = await self._freezes.find_one_and_update(
            {"_id": f"{appid}:{openid}", "status": "frozen"},
            {"$set": {"status": "released", "released_by": by, "released_at": at}},
            return_document=ReturnDocument.AFTER,
        )
        return None if after is None else _freeze(after)

    async def freezes(self, appid: str, *, status: str | None = None) -> list[Freeze]:
        query: dict[str, Any] = {"appid": appid}
        if status is not None:
            query["status"] = status
        return [_freeze(document) async for document in self._freezes.find(query).sort("frozen_at", -1)]

    async def invitations(self, campaign_id: str) -> list[Invitation]:
        cursor = self._invitations.find({"campaign_id": campaign_id})
        fields = Invitation.__dataclass_fields__
        return [Invitation(**{k: v for k, v in doc.items() if k in fields}) async for doc in cursor]

    async def flag_reviews(self, appid: str) -> list[FlagReview]:
        return [_flag_review(document) async for document in self._flags.find({"appid": appid})]

    async def keep_flags(self, flags: Sequence[FlagReview]) -> None:
        if not flags:
            return
        writes = []
        for flag in flags:
            pattern = {name: getattr(flag, name) for name in _PATTERN_FIELDS}
            pattern["campaigns"] = list(flag.campaigns)
            created = {name: getattr(flag, name) for name in ("appid", "kind", "inviter", "first_seen_at")}
            created |= {name: getattr(flag, name) for name in _REVIEW_FIELDS}
            writes.append(UpdateOne({"_id": _flag_key(flag)}, {"$set": pattern, "$setOnInsert": created}, upsert=True))
        await self._flags.bulk_write(writes, ordered=False)

    async def review_flag(self, flag: FlagReview, expected_status: str) -> bool:
        result = await self._flags.update_one(
            {"_id": _flag_key(flag), "status": expected_status},
            {"$set": {name: getattr(flag, name) for name in _REVIEW_FIELDS}},
        )
        return result.modified_count == 1
