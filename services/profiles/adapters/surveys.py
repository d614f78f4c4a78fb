"""Surveys, responses and lottery draws in MongoDB.

A response and a draw are keyed by (survey, account, member) (``member_key``): the second submission finds the first,
so a member gets one draw per survey however often they submit. Prize stock lives in its own documents
and is taken with a conditional decrement (``remaining > 0``), so concurrent draws can never take more
than there is: the last unit goes to one of them, the others get "no prize".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.profiles.domain.surveys import (
    Prize,
    PrizeKind,
    Question,
    QuestionKind,
    Survey,
    SurveyOption,
    SurveyStatus,
)
from shared.maternal_infant import Basis
from shared.storage import IndexSpec, StorageConflict

__all__ = ["DRAWS", "INDEXES", "RESPONSES", "STOCK", "SURVEYS", "MongoSurveys"]

SURVEYS = "surveys"
RESPONSES = "survey_responses"
DRAWS = "survey_draws"
STOCK = "survey_prize_stock"

INDEXES = (
    IndexSpec(SURVEYS, (("appid", 1), ("created_at", -1)), name="account_created"),
    IndexSpec(DRAWS, (("survey_id", 1), ("prize_id", 1)), name="survey_prize"),
)


def to_document(survey: Survey, created_at: datetime) -> dict[str, Any]:
    return {
        "_id": survey.id,
        "appid": survey.appid,
        "title": survey.title,
        "status": survey.status.value,
        "created_at": created_at,
        "questions": [
            {
                "id": q.id,
                "kind": q.kind.value,
                "text": q.text,
                "required": q.required,
                "stage_basis": None if q.stage_basis is None else q.stage_basis.value,
                "options": [{"id": o.id, "label": o.label, "tags": list(o.tags)} for o in q.options],
            }
            for q in survey.questions
        ],
        "prizes": [
            {
                "id": p.id,
                "name": p.name,
                "kind": p.kind.value,
                "probability": p.probability,
                "stock": p.stock,
                "points": p.points,
            }
            for p in survey.prizes
        ],
    }


def from_document(doc: dict[str, Any]) -> Survey:
    return Survey(
        id=doc["_id"],
        appid=doc["appid"],
        title=doc["title"],
        status=SurveyStatus(doc["status"]),
        questions=tuple(
            Question(
                q["id"],
                QuestionKind(q["kind"]),
                q["text"],
                tuple(SurveyOption(o["id"], o["label"], tuple(o["tags"])) for o in q["options"]),
                q["required"],
                None if q["stage_basis"] is None else Basis(q["stage_basis"]),
            )
            for q in doc["questions"]
        ),
        prizes=tuple(
            Prize(p["id"], p["name"], PrizeKind(p["kind"]), p["probability"], p["stock"], p["points"])
            for p in doc["prizes"]
        ),
    )


class MongoSurveys:
    def __init__(self, database: AsyncDatabase[Any], session: AsyncClientSession | None = None) -> None:
        self._db = database
        self._session = session

    async def add(self, survey: Survey, at: datetime) -> None:
        try:
            await self._db[SURVEYS].insert_one(to_document(survey, at), session=self._session)
        except DuplicateKeyError:
            raise StorageConflict(f"survey {survey.id} exists") from None
        if survey.prizes:
            await self._db[STOCK].insert_many(
                [{"_id": f"{survey.id}:{p.id}", "survey_id": survey.id, "remaining": p.stock} for p in survey.prizes],
                session=self._session,
            )

    async def get(self, appid: str, survey_id: str) -> Survey | None:
        doc = await self._db[SURVEYS].find_one({"_id": survey_id, "appid": appid}, session=self._session)
        return None if doc is None else from_document(doc)

    async def set_status(self, survey_id: str, status: SurveyStatus) -> None:
        await self._db[SURVEYS].update_one(
            {"_id": survey_id}, {"$set": {"status": status.value}}, session=self._session
        )

    async def add_response(self, key: str, document: dict[str, Any]) -> bool:
        try:
            await self._db[RESPONSES].insert_one({"_id": key, **document}, session=self._session)
        except DuplicateKeyError:
            return False
        return True

    async def take_stock(self, survey_id: str, prize_id: str) -> bool:
        """One unit of the prize, if any is left (atomically: never below zero)."""
        result = await self._db[STOCK].update_one(
            {"_id": f"{survey_id}:{prize_id}", "remaining": {"$gt": 0}},
            {"$inc": {"remaining": -1}},
            session=self._session,
        )
        return result.modified_count == 1

    async def record_draw(self, key: str, document: dict[str, Any]) -> None:
        try:
            await self._db[DRAWS].insert_one({"_id": key, **document}, session=self._session)
        except DuplicateKeyError:
            raise StorageConflict(f"a draw is recorded for {key} already") from None

    async def draw_of(self, key: str) -> dict[str, Any] | None:
        doc: dict[str, Any] | None = await self._db[DRAWS].find_one({"_id": key}, session=self._session)
        return doc

    async def results(self, survey_id: str) -> dict[str, Any]:
        responses = await self._db[RESPONSES].count_documents({"survey_id": survey_id})
        won: dict[str, int] = {}
        async for doc in self._db[DRAWS].find({"survey_id": survey_id}, {"prize_id": 1}):
            key = doc.get("prize_id") or "none"
            won[key] = won.get(key, 0) + 1
        stock = {
            doc["_id"].split(":", 1)[1]: doc["remaining"]
            async for doc in self._db[STOCK].find({"survey_id": survey_id})
        }
        return {"responses": responses, "draws": won, "remaining": stock}
