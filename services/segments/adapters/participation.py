"""Segments' own copy of campaign participation in MongoDB, kept from the campaigns' events.

One document per (account, member, campaign): the latest standing announced. Only the segments worker
writes it (:class:`MongoParticipationUnitOfWork`, with the processed-event claim in the same
transaction); the API's facts reader loads it whole and re-reads it periodically.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.segments.domain.participation import Standing
from shared.storage import IndexSpec, MongoUnitOfWork

__all__ = ["INDEXES", "PARTICIPATION", "MongoParticipation", "MongoParticipationUnitOfWork"]

PARTICIPATION = "segment_participation"

INDEXES = (IndexSpec(PARTICIPATION, (("appid", 1), ("openid", 1)), name="member"),)


def _id(appid: str, openid: str, campaign_id: str) -> str:
    return f"{appid}:{openid}:{campaign_id}"


class MongoParticipation:
    """Implements :class:`~services.segments.service_layer.ports.ParticipationStore`."""

    def __init__(self, database: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self._collection = database[PARTICIPATION]
        self._session = session

    async def kept(self, appid: str, openid: str, campaign_id: str) -> Standing | None:
        doc = await self._collection.find_one({"_id": _id(appid, openid, campaign_id)}, session=self._session)
        if doc is None:
            return None
        return Standing(
            appid=doc["appid"],
            openid=doc["openid"],
            campaign_id=doc["campaign_id"],
            credited=int(doc["credited"]),
            revision=int(doc["revision"]),
            occurred_at=doc["occurred_at"],
        )

    async def keep(self, standing: Standing) -> None:
        doc = {
            "appid": standing.appid,
            "openid": standing.openid,
            "campaign_id": standing.campaign_id,
            "credited": standing.credited,
            "revision": standing.revision,
            "occurred_at": standing.occurred_at,
        }
        await self._collection.replace_one(
            {"_id": _id(standing.appid, standing.openid, standing.campaign_id)}, doc, upsert=True, session=self._session
        )


class MongoParticipationUnitOfWork(MongoUnitOfWork):
    """Implements :class:`~services.segments.service_layer.ports.ParticipationUnitOfWork`."""

    participation: MongoParticipation

    def _bind(self, session: AsyncClientSession) -> None:
        self.participation = MongoParticipation(self.database, session)
