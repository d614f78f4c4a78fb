"""Surveys: ops define and publish them (API); members answer on an H5 page and draw once.

Errors in a definition are 422 naming the field (``questions.2.options``); an H5 answer that breaks a
rule comes back as the form with the reason. The draw's result is shown on the page and sent to the
member as a customer-service message when their window is open.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

import structlog
from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from services.profiles.bootstrap import Profiles
from services.profiles.domain.surveys import (
    Prize,
    PrizeKind,
    Question,
    QuestionKind,
    Survey,
    SurveyError,
    SurveyOption,
    SurveyStatus,
)
from services.profiles.entrypoints.h5 import page, rejected
from services.profiles.service_layer.surveys import DrawResult, submit_survey
from shared.maternal_infant import Basis
from shared.request_bodies import read_body
from shared.wechat_client import CustomerServiceCountExceeded, OutsideCustomerServiceWindow, RecipientUnavailable, Text

__all__ = ["TAG_SURVEYS", "surveys_router"]

log = structlog.get_logger("profiles.surveys")

TAG_SURVEYS = "surveys"
_ID = r"^[A-Za-z0-9_-]+$"
AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID)]
SurveyId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID)]
Token = Annotated[str, Query(min_length=10, max_length=600)]
_MAX_FORM_BYTES = 32 * 1024


class OptionIn(BaseModel):
    id: str
    label: Annotated[str, Field(min_length=1, max_length=60)]
    tags: list[str] = []


class QuestionIn(BaseModel):
    id: str
    kind: QuestionKind
    text: Annotated[str, Field(min_length=1, max_length=200)]
    options: Annotated[list[OptionIn], Field(max_length=20)] = []
    required: bool = True
    stage_basis: Basis | None = None


class PrizeIn(BaseModel):
    id: str
    name: Annotated[str, Field(min_length=1, max_length=60)]
    kind: PrizeKind
    probability: float
    stock: int
    points: int = 0


class SurveyIn(BaseModel):
    title: str
    questions: Annotated[list[QuestionIn], Field(max_length=30)]
    prizes: Annotated[list[PrizeIn], Field(max_length=20)] = []


class SurveyOut(BaseModel):
    id: str
    appid: str
    title: str
    status: SurveyStatus
    questions: list[QuestionIn]
    prizes: list[PrizeIn]
    results: dict[str, Any] = Field(description="responses, draws by prize (none: no prize), stock remaining")


class LinkOut(BaseModel):
    url: str


def _out(survey: Survey, results: dict[str, Any]) -> SurveyOut:
    return SurveyOut(
        id=survey.id,
        appid=survey.appid,
        title=survey.title,
        status=survey.status,
        questions=[
            QuestionIn(
                id=q.id,
                kind=q.kind,
                text=q.text,
                options=[OptionIn(id=o.id, label=o.label, tags=list(o.tags)) for o in q.options],
                required=q.required,
                stage_basis=q.stage_basis,
            )
            for q in survey.questions
        ],
        prizes=[
            PrizeIn(id=p.id, name=p.name, kind=p.kind, probability=p.probability, stock=p.stock, points=p.points)
            for p in survey.prizes
        ],
        results=results,
    )


def _form(survey: Survey, action: str, error: str | None = None) -> str:
    parts = [f'<p class="error">{html.escape(error)}</p>' if error else "", f'<form method="post" action="{action}">']
    for question in survey.questions:
        name = html.escape(question.id)
        parts.append(f"<fieldset><legend>{html.escape(question.text)}</legend>")
        if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            kind = "radio" if question.kind is QuestionKind.SINGLE else "checkbox"
            for option in question.options:
                parts.append(
                    f'<label><input type="{kind}" name="{name}" value="{html.escape(option.id)}"> '
                    f"{html.escape(option.label)}</label>"
                )
        elif question.kind is QuestionKind.DATE:
            parts.append(f'<label><input type="date" name="{name}"></label>')
        else:
            parts.append(f'<label><input type="text" name="{name}" maxlength="200"></label>')
        parts.append("</fieldset>")
    parts.append('<button type="submit">提交并抽奖</button></form>')
    return "".join(parts)


def _action(appid: str, survey_id: str, token: str) -> str:
    return f"/h5/{html.escape(appid)}/surveys/{html.escape(survey_id)}?t={html.escape(token)}"


def _roll() -> float:
    """Uniform in [0, 1), from the OS's randomness: members must not be able to predict the draw."""
    return secrets.randbelow(10**9) / 10**9


def _result_text(result: DrawResult) -> str:
    if result.prize_name is None:
        return "感谢参与问卷！这次没有抽中奖品。"
    detail = f"券码：{result.code}" if result.code else f"{result.points} 积分已发放"
    return f"恭喜！问卷抽奖获得「{result.prize_name}」，{detail}"


def surveys_router(now: Callable[[], datetime]) -> APIRouter:
    router = APIRouter(tags=[TAG_SURVEYS])
    base = "/accounts/{appid}/surveys"

    def profiles_of(request: Request, appid: str) -> Profiles:
        profiles: Profiles = request.app.state.profiles
        if appid not in {account.appid for account in profiles.settings.wechat_accounts}:
            raise HTTPException(404, detail=f"unknown account {appid!r}")
        return profiles

    async def load(profiles: Profiles, appid: str, survey_id: str) -> Survey:
        survey = await profiles.surveys.get(appid, survey_id)
        if survey is None:
            raise HTTPException(404, detail=f"no survey {survey_id!r} in {appid!r}")
        return survey

    @router.post(base, status_code=201, summary="Define a survey (a draft)")
    async def create_survey(appid: AppId, body: SurveyIn, request: Request) -> SurveyOut:
        profiles = profiles_of(request, appid)
        survey = Survey(
            id=secrets.token_hex(8),
            appid=appid,
            title=body.title,
            questions=tuple(
                Question(
                    q.id,
                    q.kind,
                    q.text,
                    tuple(SurveyOption(o.id, o.label, tuple(o.tags)) for o in q.options),
                    q.required,
                    q.stage_basis,
                )
                for q in body.questions
            ),
            prizes=tuple(Prize(p.id, p.name, p.kind, p.probability, p.stock, p.points) for p in body.prizes),
        )
        try:
            survey.validate(profiles.taxonomy)
        except SurveyError as exc:
            raise HTTPException(422, detail=[{"loc": ["body", *exc.field.split(".")], "msg": exc.message}]) from None
        await profiles.surveys.add(survey, now())
        return _out(survey, await profiles.surveys.results(survey.id))

    @router.get(base + "/{survey_id}", summary="A survey with its results")
    async def read_survey(appid: AppId, survey_id: SurveyId, request: Request) -> SurveyOut:
        profiles = profiles_of(request, appid)
        survey = await load(profiles, appid, survey_id)
        return _out(survey, await profiles.surveys.results(survey.id))

    for action, status in (("publish", SurveyStatus.PUBLISHED), ("close", SurveyStatus.CLOSED)):

        def move(target: SurveyStatus) -> Any:
            async def endpoint(appid: AppId, survey_id: SurveyId, request: Request) -> SurveyOut:
                profiles = profiles_of(request, appid)
                survey = await load(profiles, appid, survey_id)
                if survey.status is SurveyStatus.CLOSED:
                    raise HTTPException(409, detail="a closed survey stays closed")
                await profiles.surveys.set_status(survey.id, target)
                return _out(await load(profiles, appid, survey_id), await profiles.surveys.results(survey.id))

            return endpoint

        router.add_api_route(
            base + "/{survey_id}/" + action, move(status), methods=["POST"], summary=f"{action.capitalize()} it"
        )

    @router.get(base + "/{survey_id}/link", summary="A member's signed link to the survey page")
    async def member_link(
        appid: AppId, survey_id: SurveyId, request: Request, openid: Annotated[str, Query(min_length=1, max_length=128)]
    ) -> LinkOut:
        profiles = profiles_of(request, appid)
        survey = await load(profiles, appid, survey_id)
        return LinkOut(url=profiles.link(appid, openid, now(), page=f"surveys/{survey.id}"))

    h5_path = "/h5/{appid}/surveys/{survey_id}"

    @router.get(h5_path, response_class=HTMLResponse, summary="The survey page (signed link)")
    async def survey_page(appid: AppId, survey_id: SurveyId, t: Token, request: Request) -> HTMLResponse:
        profiles: Profiles = request.app.state.profiles
        survey = await profiles.surveys.get(appid, survey_id)
        if profiles.member_of(appid, t) is None or survey is None:
            return rejected()
        if survey.status is not SurveyStatus.PUBLISHED:
            return page(survey.title, "<p>这个问卷已结束，感谢关注。</p>", status=410)
        return page(
            survey.title, _form(survey, f"/h5/{html.escape(appid)}/surveys/{html.escape(survey_id)}?t={html.escape(t)}")
        )

    @router.post(h5_path, response_class=HTMLResponse, summary="The survey's answers: tags and one draw")
    async def answer_survey(appid: AppId, survey_id: SurveyId, t: Token, request: Request) -> HTMLResponse:
        profiles: Profiles = request.app.state.profiles
        openid = profiles.member_of(appid, t)
        survey = await profiles.surveys.get(appid, survey_id)
        if openid is None or survey is None:
            return rejected()
        action = _action(appid, survey_id, t)
        body = await read_body(request.scope, request.receive, _MAX_FORM_BYTES)
        if body is None:
            return page(survey.title, _form(survey, action, "提交的内容过多"), status=413)
        raw = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=200)
        try:
            result = await submit_survey(
                profiles.uow,
                profiles.taxonomy,
                survey,
                appid,
                openid,
                raw,
                now(),
                lambda: secrets.randbelow(10**9) / 10**9,
            )
        except SurveyError as exc:
            if exc.field == "survey":
                return page(survey.title, "<p>这个问卷已结束，感谢关注。</p>", status=410)
            return page(survey.title, _form(survey, action, exc.message), status=422)
        text = _result_text(result)
        if result.first and profiles.clients is not None and appid in profiles.clients:
            try:
                await profiles.clients[appid].send_custom_message(openid, Text(content=text))
            except (RecipientUnavailable, OutsideCustomerServiceWindow, CustomerServiceCountExceeded) as exc:
                log.info("draw result not messaged; shown on the page", reason=str(exc))
        note = "" if result.first else "<p>您已参与过这个问卷，以下是您的抽奖结果。</p>"
        return page("问卷已提交", f"{note}<p>{html.escape(text)}</p>")

    return router
