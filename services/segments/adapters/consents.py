"""Members' subscription-message consents in MongoDB (``domain/consents.py``).

One document per (account, member, template), ``_id`` ``appid:openid:template``. The worker applies
the platform's pushes to it in a transaction with the processed-event claim
(:class:`MongoConsentUnitOfWork`); the dispatcher claims and releases one-time credits with
conditional updates (a credit is taken only while one is left, so two pushes never both use one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.segments.adapters.consent_documents import consent_from_document, consent_update
from services.segments.domain.consents import ConsentChange, ConsentStatus, SubscriptionConsent, consent_id
from shared.storage import IndexSpec, MongoUnitOfWork

__all__ = ["CONSENTS", "CONSENT_INDEXES", "MongoConsentUnitOfWork", "MongoConsents"]

CONSENTS = "subscription_consents"

CONSENT_INDEXES = (IndexSpec(CONSENTS, (("appid", 1), ("openid", 1)), name="member"),)


class MongoConsents:
    """Implements :class:`~services.segments.service_layer.ports.ConsentStore`."""

    def __init__(self, database: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self._collection = database[CONSENTS]
        self._session = session

    async def apply(
        self,
        appid: str,
        openid: str,
        template_id: str,
        change: ConsentChange,
        *,
        long_term: bool,
        at: datetime,
        answer: str = "",
    ) -> None:
        update = consent_update(change, long_term=long_term, at=at, answer=answer)
        update.setdefault("$setOnInsert", {}).update({"appid": appid, "openid": openid, "template_id": template_id})
        await self._collection.update_one(
            {"_id": consent_id(appid, openid, template_id)}, update, upsert=True, session=self._session
        )

    async def of_member(self, appid: str, openid: str) -> list[SubscriptionConsent]:
        cursor = self._collection.find({"appid": appid, "openid": openid}, session=self._session).sort("template_id")
        return [consent_from_document(doc) async for doc in cursor]

    async def usable(
        self, appid: str, openids: Sequence[str], template_ids: Sequence[str]
    ) -> dict[str, frozenset[str]]:
        if not openids or not template_ids:
            return {}
        ids = [consent_id(appid, o, t) for o in openids for t in set(template_ids)]
        query = {
            "_id": {"$in": ids},
            "status": ConsentStatus.ACCEPTED.value,
            "$or": [{"long_term": True}, {"credits": {"$gte": 1}}],
        }
        found: dict[str, set[str]] = {}
        async for doc in self._collection.find(query, {"openid": 1, "template_id": 1}, session=self._session):
            found.setdefault(doc["openid"], set()).add(doc["template_id"])
        return {openid: frozenset(templates) for openid, templates in found.items()}

    async def claim(self, appid: str, wanted: Sequence[tuple[str, str]], at: datetime) -> dict[str, bool]:
        async def one(openid: str, template_id: str) -> tuple[str, bool | None]:
            key = consent_id(appid, openid, template_id)
            accepted = {"_id": key, "status": ConsentStatus.ACCEPTED.value}
            done = await self._collection.update_one(
                accepted | {"long_term": True}, {"$set": {"used_at": at}}, session=self._session
            )
            if done.matched_count:
                return openid, False
            # The credit is taken only while one is left: two pushes cannot both take the last one.
            done = await self._collection.update_one(
                accepted | {"long_term": False, "credits": {"$gte": 1}},
                {"$inc": {"credits": -1}, "$set": {"used_at": at}},
                session=self._session,
            )
            return openid, (True if done.matched_count else None)

        results = await asyncio.gather(*(one(openid, template_id) for openid, template_id in wanted))
        return {openid: one_time for openid, one_time in results if one_time is not None}

    async def release(self, appid: str, given_back: Sequence[tuple[str, str]]) -> None:
        for openid, template_id in given_back:
            await self._collection.update_one(
                {
                    "_id": consent_id(appid, openid, template_id),
                    "long_term": False,
                    "status": ConsentStatus.ACCEPTED.value,
                },
                {"$inc": {"credits": 1}},
                session=self._session,
            )


class MongoConsentUnitOfWork(MongoUnitOfWork):
    """Implements :class:`~services.segments.service_layer.ports.ConsentUnitOfWork`."""

    consents: MongoConsents

    def _bind(self, session: AsyncClientSession) -> None:
        self.consents = MongoConsents(self.database, session)
