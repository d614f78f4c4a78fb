"""Operator routes over surveys: define one (a draft), read it with its results, publish and close it,
and get a member's signed link to it. Members answer on the H5 page (:mod:`.h5`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from services.profiles.domain.surveys import SurveyError, SurveyStatus
from services.profiles.entrypoints.http.deps import AppId, Now, ProfilesDep, SurveyId
from services.profiles.entrypoints.http.schemas import LinkOut, SurveyIn, SurveyOut
from services.profiles.service_layer import profile_ops, surveys

__all__ = ["TAG", "router"]

TAG = "surveys"
router = APIRouter(tags=[TAG])
_SURVEYS = "/accounts/{appid}/surveys"


@router.post(_SURVEYS, status_code=201, summary="Define a survey (a draft)")
async def create_survey(appid: AppId, body: SurveyIn, profiles: ProfilesDep, now: Now) -> SurveyOut:
    try:
        survey = await surveys.define_survey(
            profiles.surveys,
            profiles.taxonomy,
            appid,
            body.title,
            [q.question() for q in body.questions],
            [p.prize() for p in body.prizes],
            now,
        )
    except SurveyError as exc:
        raise HTTPException(422, detail=[{"loc": ["body", *exc.field.split(".")], "msg": exc.message}]) from None
    return SurveyOut.of(survey, await profiles.surveys.results(survey.id))


@router.get(_SURVEYS + "/{survey_id}", summary="A survey with its results")
async def read_survey(appid: AppId, survey_id: SurveyId, profiles: ProfilesDep) -> SurveyOut:
    survey = await surveys.survey_of(profiles.surveys, appid, survey_id)
    return SurveyOut.of(survey, await profiles.surveys.results(survey.id))


@router.post(_SURVEYS + "/{survey_id}/publish", summary="Publish it")
async def publish_survey(appid: AppId, survey_id: SurveyId, profiles: ProfilesDep) -> SurveyOut:
    survey = await surveys.move_survey(profiles.surveys, appid, survey_id, SurveyStatus.PUBLISHED)
    return SurveyOut.of(survey, await profiles.surveys.results(survey.id))


@router.post(_SURVEYS + "/{survey_id}/close", summary="Close it")
async def close_survey(appid: AppId, survey_id: SurveyId, profiles: ProfilesDep) -> SurveyOut:
    survey = await surveys.move_survey(profiles.surveys, appid, survey_id, SurveyStatus.CLOSED)
    return SurveyOut.of(survey, await profiles.surveys.results(survey.id))


@router.get(_SURVEYS + "/{survey_id}/link", summary="A member's signed link to the survey page")
async def member_link(
    appid: AppId,
    survey_id: SurveyId,
    profiles: ProfilesDep,
    now: Now,
    openid: Annotated[str, Query(min_length=1, max_length=128)],
) -> LinkOut:
    survey = await surveys.survey_of(profiles.surveys, appid, survey_id)
    await profile_ops.follower(profiles.profiles, appid, openid)
    return LinkOut(url=profiles.link(appid, openid, now, page=f"surveys/{survey.id}"))
