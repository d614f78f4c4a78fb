"""Delayed share-reward payouts in MongoDB (``share_payouts``, the :class:`SharePayoutStore` port).

One document per member and campaign (``_id`` = ``<campaign>:<openid>``); every move is a conditional
replace on the state it was read in, so two sweeps, or a sweep and the member's re-check, never both
move one payout. ``due_at`` is indexed (absent once settled): the sweep asks for what is due, never
walks the payouts.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.campaigns.domain.payouts import PayoutState, SharePayout
from services.campaigns.service_layer.ports import SharePayoutStore
from shared.storage import IndexSpec

PAYOUTS = "share_payouts"

INDEXES = (
    IndexSpec(PAYOUTS, (("due_at", 1),), name="due"),
    IndexSpec(PAYOUTS, (("appid", 1), ("openid", 1), ("state", 1)), name="member_state"),
    IndexSpec(PAYOUTS, (("campaign_id", 1), ("state", 1), ("approved_at", 1)), name="campaign_state"),
    IndexSpec(PAYOUTS, (("campaign_id", 1), ("approved_at", 1)), name="campaign_approved"),
)


def to_document(payout: SharePayout) -> dict[str, Any]:
    document = asdict(payout)
    document["_id"] = document.pop("id")
    document["state"] = payout.state.value
    document["recheck_reasons"] = list(payout.recheck_reasons)
    document["recheck_asked"] = payout.recheck_requested_at is not None
    if payout.due_at is None:
        del document["due_at"]  # settled: never found as due
    return document


def from_document(document: dict[str, Any]) -> SharePayout:
    fields: dict[str, Any] = {name: document.get(name) for name in SharePayout.__dataclass_fields__ if name != "id"}
    fields["state"] = PayoutState(document["state"])
    fields["recheck_reasons"] = tuple(document.get("recheck_reasons") or ())
    return SharePayout(id=document["_id"], **fields)


class MongoSharePayouts(SharePayoutStore):
    """Writes take the unit of work's session (one transaction with the reward and its notices)."""

    def __init__(self, database: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self._payouts = database[PAYOUTS]
        self._session = session

    async def open(self, payout: SharePayout) -> bool:
        try:
            await self._payouts.insert_one(to_document(payout), session=self._session)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, campaign_id: str, openid: str) -> SharePayout | None:
        found = await self._payouts.find_one({"_id": f"{campaign_id}:{openid}"}, session=self._session)
        return None if found is None else from_document(found)

    async def move(self, before: SharePayout, after: SharePayout) -> bool:
        result = await self._payouts.replace_one(
            {"_id": before.id, "state": before.state.value}, to_document(after), session=self._session
        )
        return result.matched_count == 1

    async def due(self, now: datetime, limit: int) -> list[SharePayout]:
        cursor = self._payouts.find({"due_at": {"$lte": now}}, session=self._session).sort("due_at", 1).limit(limit)
        return [from_document(document) async for document in cursor]

    async def awaiting_recheck(self, appid: str, openid: str) -> list[SharePayout]:
        query = {"appid": appid, "openid": openid, "state": PayoutState.RECHECK_REQUESTED.value}
        return [from_document(document) async for document in self._payouts.find(query, session=self._session)]

    async def tally(self, campaign_id: str) -> dict[str, int]:
        # A grouped count over the (campaign_id, state) index: a campaign's payouts are never read one by one.
        pipeline: list[dict[str, Any]] = [
            {"$match": {"campaign_id": campaign_id}},
            {"$group": {"_id": {"state": "$state", "asked": "$recheck_asked"}, "n": {"$sum": 1}}},
        ]
        counts: dict[str, int] = {}
        async for row in await self._payouts.aggregate(pipeline, session=self._session):
            state, n = row["_id"]["state"], row["n"]
            counts[state] = counts.get(state, 0) + n
            if row["_id"].get("asked"):
                counts["recheck_asked"] = counts.get("recheck_asked", 0) + n
        return counts

    async def listing(self, campaign_id: str, *, state: str | None, limit: int, offset: int) -> list[SharePayout]:
        query: dict[str, Any] = {"campaign_id": campaign_id}
        if state is not None:
            query["state"] = state
        cursor = self._payouts.find(query, session=self._session).sort([("approved_at", 1), ("_id", 1)])
        return [from_document(document) async for document in cursor.skip(offset).limit(limit)]
