"""The submissions reviewers decided, for the labelled export (MongoDB).

An index over (account, who decided, when) keeps the automatic decisions, by far the most, out of
the scan: ``decided_by`` is ``"auto"`` for those and a reviewer's name otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from services.campaigns.adapters.share_screenshots import SUBMISSIONS, MongoShareScreenshots
from services.campaigns.domain.submissions import SubmissionRecord
from services.campaigns.service_layer.ports import ReviewedSubmissions
from shared.storage import IndexSpec

__all__ = ["INDEXES", "MongoReviewedSubmissions"]

INDEXES = (IndexSpec(SUBMISSIONS, (("appid", 1), ("decided_by", 1), ("decided_at", 1)), name="account_reviewed"),)

_DECIDED = ("approved", "rejected")


class MongoReviewedSubmissions(ReviewedSubmissions):
    def __init__(self, database: AsyncDatabase[Any]) -> None:
        self._db = database
        self._records = MongoShareScreenshots(database)

    async def reviewed(
        self,
        appid: str,
        *,
        campaign_id: str | None,
        decided_after: datetime | None,
        decided_until: datetime | None,
        limit: int,
    ) -> list[SubmissionRecord]:
        query: dict[str, Any] = {"appid": appid, "decided_by": {"$ne": "auto"}, "status": {"$in": list(_DECIDED)}}
        if campaign_id is not None:
            query["campaign_id"] = campaign_id
        when: dict[str, datetime] = {}
        if decided_after is not None:
            when["$gt"] = decided_after
        if decided_until is not None:
            when["$lte"] = decided_until
        if when:
            query["decided_at"] = when
        cursor = self._db[SUBMISSIONS].find(query, {"_id": 1}).sort([("decided_at", 1), ("_id", 1)]).limit(limit)
        found = []
        async for doc in cursor:
            record = await self._records.get(doc["_id"])
            if record is not None:
                found.append(record)
        return found
