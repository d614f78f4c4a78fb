"""Answering a survey: its tags and stage on the profile, and exactly one lottery draw, in one transaction.

The response, the profile's changes, the stock taken and the draw commit together or not at all. Two
submissions by one member: the second finds the first response and gets the first draw back. Many
members at once on the last prize unit: the conditional decrement lets one have it; transactions that
conflict on it are retried, and then find it gone.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.profiles.adapters.repository import MongoProfilesUnitOfWork
from services.profiles.adapters.surveys import member_key
from services.profiles.domain.profile import Change
from services.profiles.domain.surveys import (
    Answer,
    Prize,
    PrizeKind,
    Survey,
    SurveyError,
    SurveyStatus,
    draw,
    read_answers,
)
from services.profiles.domain.tags import TagSource
from shared.maternal_infant import StageDeclaration, Taxonomy
from shared.storage import StorageConflict, retry_transient

__all__ = ["DrawResult", "submit_survey"]

_ATTEMPTS = 8
_CODE_ALPHABET = "346789ABCDEFGHJKMNPQRTUVWXY"


@dataclass(frozen=True)
class DrawResult:
    prize_id: str | None
    prize_name: str | None
    code: str | None
    points: int
    #: False when this member had already answered: the result is their first draw's.
    first: bool


def _code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def _result(document: Mapping[str, object], first: bool) -> DrawResult:
    prize_id = document.get("prize_id")
    return DrawResult(
        prize_id if isinstance(prize_id, str) else None,
        str(document["prize_name"]) if document.get("prize_name") else None,
        str(document["code"]) if document.get("code") else None,
        int(str(document.get("points") or 0)),
        first,
    )


async def submit_survey(
    uow: Callable[[], MongoProfilesUnitOfWork],
    taxonomy: Taxonomy,
    survey: Survey,
    appid: str,
    openid: str,
    raw: Mapping[str, Sequence[str]],
    now: datetime,
    roll: Callable[[], float],
) -> DrawResult:
    """Record the answers and draw once. SurveyError (naming the question) for unusable answers."""
    if survey.status is not SurveyStatus.PUBLISHED:
        raise SurveyError("survey", "not open for answers")
    answers = read_answers(survey, raw)
    key = member_key(survey.id, appid, openid)
    return await retry_transient(
        lambda: _submit(uow(), taxonomy, survey, appid, openid, answers, key, now, roll), attempts=_ATTEMPTS
    )


async def _submit(
    unit: MongoProfilesUnitOfWork,
    taxonomy: Taxonomy,
    survey: Survey,
    appid: str,
    openid: str,
    answers: Answer,
    key: str,
    now: datetime,
    roll: Callable[[], float],
) -> DrawResult:
    async with unit:
        # Look first: a failed insert would abort the transaction (a race on the insert is retried
        # as a conflict and then finds the earlier draw here).
        earlier = await unit.surveys.draw_of(key)
        if earlier is not None:
            return _result(earlier, first=False)
        fresh = await unit.surveys.add_response(
            key,
            {"survey_id": survey.id, "appid": appid, "openid": openid, "answers": dict(answers.values), "at": now},
        )
        if not fresh:
            raise StorageConflict(f"{key} answered concurrently")
        profile = await unit.profiles.get_or_new(appid, openid)
        changes: list[Change] = []
        for code in answers.tags:
            changes += profile.add_tag(taxonomy, code, TagSource.SURVEY, now, actor=f"survey:{survey.id}")
        if answers.stage is not None:
            basis, day = answers.stage
            declaration = StageDeclaration(basis, now.date(), day, source=f"survey:{survey.id}")
            changes += profile.declare_stage(declaration, now, actor=f"survey:{survey.id}")
        prize: Prize | None = draw(survey.prizes, roll())
        if prize is not None and not await unit.surveys.take_stock(survey.id, prize.id):
            prize = None  # run out: no prize (the published odds stay true: no second pick)
        document: dict[str, object] = {
            "survey_id": survey.id,
            "appid": appid,
            "openid": openid,
            "at": now,
            "prize_id": None if prize is None else prize.id,
            "prize_name": None if prize is None else prize.name,
            "code": _code() if prize is not None and prize.kind is PrizeKind.COUPON else None,
            "points": prize.points if prize is not None and prize.kind is PrizeKind.POINTS else 0,
        }
        await unit.surveys.record_draw(key, document)
        changes.append(Change(now, "survey_answered", {"survey": survey.id, "prize": document["prize_id"]}))
        await unit.profiles.save(profile, changes)
        await unit.commit()
        return _result(document, first=True)
