"""MongoDB behind :class:`~services.campaigns.service_layer.notice_fallback.HeldNotices`: held notices
in ``campaign_notices``, each move conditional on the notice's status."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from services.campaigns.adapters.referrals import NOTICES
from services.campaigns.domain.notice_templates import TEMPLATE_SENDING
from services.campaigns.domain.participants import Notice
from shared.storage import IndexSpec

__all__ = ["HELD_NOTICE_INDEXES", "MongoHeldNotices"]

#: The sweep's query: an account's notices held since before a time.
HELD_NOTICE_INDEXES = (IndexSpec(NOTICES, (("status", 1), ("appid", 1), ("held_at", 1)), name="held_since"),)


def _notice(doc: dict[str, Any]) -> Notice:
    fields = {name: doc[name] for name in Notice.__dataclass_fields__ if name in doc and name != "id"}
    if doc.get("delivered_text"):  # the text as rendered when held (a tier's coupon code drawn)
        fields["text"] = doc["delivered_text"]
    return Notice(id=doc["_id"], **fields)


class MongoHeldNotices:
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._notices = database[NOTICES]

    async def held_before(self, appid: str, before: datetime, limit: int) -> Sequence[Notice]:
        query = {"status": "held", "appid": appid, "held_at": {"$lte": before}}
        return [_notice(doc) async for doc in self._notices.find(query).sort("held_at", ASCENDING).limit(limit)]

    async def claim(self, notice_id: str, at: datetime) -> bool:
        result = await self._notices.update_one(
            {"_id": notice_id, "status": "held"}, {"$set": {"status": TEMPLATE_SENDING, "template_at": at}}
        )
        return result.modified_count == 1

    async def settle(self, notice_id: str, status: str, at: datetime, fields: dict[str, Any]) -> None:
        await self._notices.update_one(
            {"_id": notice_id, "status": TEMPLATE_SENDING}, {"$set": {"status": status, f"{status}_at": at, **fields}}
        )
