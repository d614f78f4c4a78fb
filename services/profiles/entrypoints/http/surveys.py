"""Operator routes over surveys: define one (a draft), read it with its results, publish and close it,
and get a member's signed link to it. Members answer on the H5 page (:mod:`.h5`).

Surveys are campaigns of a kind: defining, publishing, closing them and minting a member's link need
``campaign:edit`` (every one audited); reading one with its results needs ``stats:view``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from services.profiles.domain.surveys import SurveyError, SurveyStatus
from services.profiles.entrypoints.http.deps import AppId, Now, ProfilesDep, SurveyId
from services.profiles.entrypoints.http.schemas import LinkOut, SurveyIn, SurveyOut
from services.profiles.service_layer import profile_ops, surveys
from shared.identity import Permission, audit, require

__all__ = ["TAG", "router"]

TAG = "surveys"
router = APIRouter(tags=[TAG])
_SURVEYS = "/accounts/{appid}/surveys"
_EDIT = [Depends(require(Permission.CAMPAIGN_EDIT))]


@router.post(_SURVEYS, status_code=201, summary="Define a survey (a draft)", dependencies=_EDIT)
async def create_survey(appid: AppId, body: SurveyIn, profiles: ProfilesDep, now: Now, request: Request) -> SurveyOut:
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
    await audit(request, "survey.defined", "survey", survey.id, after={"title": survey.title, "status": survey.status})
    return SurveyOut.of(survey, await profiles.surveys.results(survey.id))


@router.get(
    _SURVEYS + "/{survey_id}",
    summary="A survey with its results",
    dependencies=[Depends(require(Permission.STATS_VIEW))],
)
async def read_survey(appid: AppId, survey_id: SurveyId, profiles: ProfilesDep) -> SurveyOut:
    survey = await surveys.survey_of(profiles.surveys, appid, survey_id)
    return SurveyOut.of(survey, await profiles.surveys.results(survey.id))


@router.post(_SURVEYS + "/{survey_id}/publish", summary="Publish it", dependencies=_EDIT)
async def publish_survey(appid: AppId, survey_id: SurveyId, profiles: ProfilesDep, request: Request) -> SurveyOut:
    survey = await surveys.move_survey(profiles.surveys, appid, survey_id, SurveyStatus.PUBLISHED)
    await audit(request, "survey.published", "survey", survey.id, after={"status": survey.status})
    return SurveyOut.of(survey, await profiles.surveys.results(survey.id))


@router.post(_SURVEYS + "/{survey_id}/close", summary="Close it", dependencies=_EDIT)
async def close_survey(appid: AppId, survey_id: SurveyId, profiles: ProfilesDep, request: Request) -> SurveyOut:
    survey = await surveys.move_survey(profiles.surveys, appid, survey_id, SurveyStatus.CLOSED)
    await audit(request, "survey.closed", "survey", survey.id, after={"status": survey.status})
    return SurveyOut.of(survey, await profiles.surveys.results(survey.id))


@router.get(
    _SURVEYS + "/{survey_id}/link",
    summary="A member's signed link to the survey page (audited)",
    dependencies=_EDIT,
)
async def member_link(
    appid: AppId,
    survey_id: SurveyId,
    profiles: ProfilesDep,
    now: Now,
    request: Request,
    openid: Annotated[str, Query(min_length=1, max_length=128)],
) -> LinkOut:
    survey = await surveys.survey_of(profiles.surveys, appid, survey_id)
    await profile_ops.follower(profiles.profiles, appid, openid)
    # The link lets its holder answer as the member: who minted it for whom is on record.
    await audit(request, "survey.link_issued", "survey", survey.id, after={"openid": openid})
    return LinkOut(url=profiles.link(appid, openid, now, page=f"surveys/{survey.id}"))
