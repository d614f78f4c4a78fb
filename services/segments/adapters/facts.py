"""Member facts read from MongoDB: the profiles service's documents (as its read model declares them)
and segments' own copy of campaign participation (kept from the campaigns' events)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.segments.adapters.participation import PARTICIPATION
from services.segments.adapters.profile_documents import FACT_FIELDS, facts_from_profile
from services.segments.adapters.store import find_by_ids
from services.segments.domain.rules import MemberFacts
from shared.contracts import PROFILES_READ_MODEL, profile_id

__all__ = ["MongoFacts"]

Member = tuple[str, str]
Participation = dict[Member, dict[str, int]]


class MongoFacts:
    """Implements :class:`~services.segments.service_layer.live_index.FactsSource`.

    Participation (campaign id -> credited invites per member) is read whole and kept, so
    :meth:`participation_changed` can tell which members it changed for since the last read.
    """

    def __init__(self, database: AsyncDatabase[Any], batch: int = 5_000) -> None:
        self._profiles = database[PROFILES_READ_MODEL.collection]
        self._participation_docs = database[PARTICIPATION]
        self._batch = batch
        self._participation: Participation = {}

    async def _read_participation(self) -> Participation:
        found: Participation = defaultdict(dict)
        fields = {"_id": 0, "appid": 1, "openid": 1, "campaign_id": 1, "credited": 1}
        async for doc in self._participation_docs.find({}, fields):
            found[(doc["appid"], doc["openid"])][doc["campaign_id"]] = int(doc.get("credited", 0))
        return dict(found)

    async def everyone(self, today: date) -> AsyncIterator[list[MemberFacts]]:
        self._participation = await self._read_participation()
        batch: list[MemberFacts] = []
        async for doc in self._profiles.find({}, FACT_FIELDS, batch_size=self._batch):
            batch.append(facts_from_profile(doc, today, self._participation.get((doc["appid"], doc["openid"]))))
            if len(batch) == self._batch:
                yield batch
                batch = []
        if batch:
            yield batch

    async def of(self, members: Sequence[Member], today: date) -> list[MemberFacts]:
        ids = [profile_id(appid, openid) for appid, openid in members]
        docs = await find_by_ids(self._profiles, ids, FACT_FIELDS)
        return [facts_from_profile(doc, today, self._participation.get((doc["appid"], doc["openid"]))) for doc in docs]

    async def one(self, appid: str, openid: str, today: date) -> MemberFacts | None:
        """One member's facts read fresh (participation included): what explanations use."""
        doc = await self._profiles.find_one({"_id": profile_id(appid, openid)}, FACT_FIELDS)
        if doc is None:
            return None
        fields = {"campaign_id": 1, "credited": 1}
        participation = {
            p["campaign_id"]: int(p.get("credited", 0))
            async for p in self._participation_docs.find({"appid": appid, "openid": openid}, fields)
        }
        return facts_from_profile(doc, today, participation)

    async def written_since(self, since: datetime) -> list[Member]:
        fields = {"_id": 0} | PROFILES_READ_MODEL.projection("appid", "openid")
        cursor = self._profiles.find({"written_at": {"$gte": since}}, fields)
        return [(doc["appid"], doc["openid"]) async for doc in cursor]

    async def participation_changed(self) -> list[Member]:
        current = await self._read_participation()
        before = self._participation
        changed = {m for m in current.keys() | before.keys() if current.get(m) != before.get(m)}
        self._participation = current
        return sorted(changed)
