"""Surveys: ops define, publish and close them; members answer once, their answers becoming tags and a
stage on the profile, with exactly one lottery draw, in one transaction.

The response, the profile's changes, the stock taken and the draw commit together or not at all. Two
submissions by one member: the second finds the first response and gets the first draw back. Many
members at once on the last prize unit: the conditional decrement lets one have it; transactions that
conflict on it are retried, and then find it gone. The draw's result goes to the member as a
customer-service message when their window is open (and is shown on the page anyway).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog

from services.profiles.domain.profile import Change
from services.profiles.domain.surveys import (
    Answer,
    Prize,
    PrizeKind,
    Question,
    Survey,
    SurveyError,
    SurveyStatus,
    draw,
    member_key,
    read_answers,
)
from services.profiles.domain.tags import TagSource
from services.profiles.service_layer.ports import Messenger, SurveyStore, SurveysUnitOfWork
from shared.maternal_infant import StageDeclaration, Taxonomy
from shared.storage import StorageConflict, retry_transient
from shared.wechat_client import CustomerServiceCountExceeded, OutsideCustomerServiceWindow, RecipientUnavailable, Text

__all__ = [
    "DrawResult",
    "SurveyNotFound",
    "answer_survey",
    "define_survey",
    "move_survey",
    "result_text",
    "secure_roll",
    "submit_survey",
    "survey_of",
]

log = structlog.get_logger("profiles.surveys")

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


class SurveyNotFound(LookupError):
    def __init__(self, appid: str, survey_id: str) -> None:
        super().__init__(f"no survey {survey_id!r} in {appid!r}")


def secure_roll() -> float:
    """Uniform in [0, 1), from the OS's randomness: members must not be able to predict the draw."""
    return secrets.randbelow(10**9) / 10**9


def result_text(result: DrawResult) -> str:
    """What the member is told about their draw (on the page, and in a message)."""
    if result.prize_name is None:
        return "感谢参与问卷！这次没有抽中奖品。"
    detail = f"券码：{result.code}" if result.code else f"{result.points} 积分已发放"
    return f"恭喜！问卷抽奖获得「{result.prize_name}」，{detail}"


async def define_survey(
    store: SurveyStore,
    taxonomy: Taxonomy,
    appid: str,
    title: str,
    questions: Sequence[Question],
    prizes: Sequence[Prize],
    now: datetime,
) -> Survey:
    """A new draft; SurveyError naming the field (``questions.2.options``) for a definition that breaks a rule."""
    survey = Survey(id=secrets.token_hex(8), appid=appid, title=title, questions=tuple(questions), prizes=tuple(prizes))
    survey.validate(taxonomy)
    await store.add(survey, now)
    return survey


async def survey_of(store: SurveyStore, appid: str, survey_id: str) -> Survey:
    survey = await store.get(appid, survey_id)
    if survey is None:
        raise SurveyNotFound(appid, survey_id)
    return survey


async def move_survey(store: SurveyStore, appid: str, survey_id: str, status: SurveyStatus) -> Survey:
    """Publish or close a survey; SurveyClosed for a closed one."""
    survey = (await survey_of(store, appid, survey_id)).moved_to(status)
    await store.set_status(survey.id, survey.status)
    return await survey_of(store, appid, survey_id)


async def answer_survey(
    uow: Callable[[], SurveysUnitOfWork],
    taxonomy: Taxonomy,
    messenger: Messenger | None,
    survey: Survey,
    appid: str,
    openid: str,
    raw: Mapping[str, Sequence[str]],
    now: datetime,
    roll: Callable[[], float] = secure_roll,
) -> DrawResult:
    """:func:`submit_survey`, then the result to the member in a message (the first time only)."""
    result = await submit_survey(uow, taxonomy, survey, appid, openid, raw, now, roll)
    if result.first and messenger is not None:
        try:
            await messenger.send_custom_message(openid, Text(content=result_text(result)))
        except (RecipientUnavailable, OutsideCustomerServiceWindow, CustomerServiceCountExceeded) as exc:
            log.info("draw result not messaged; shown on the page", reason=str(exc))
    return result


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
    uow: Callable[[], SurveysUnitOfWork],
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
    unit: SurveysUnitOfWork,
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
