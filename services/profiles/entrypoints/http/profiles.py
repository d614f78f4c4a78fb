"""Operator routes over profiles: an account's counts, a member's profile and history, ops tags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query

from services.profiles.domain.profile import ProfileError
from services.profiles.domain.tags import TagSource
from services.profiles.entrypoints.http.deps import AppId, Now, OpenId, ProfilesDep, TagCode
from services.profiles.entrypoints.http.schemas import OpsTagIn, ProfileOut, ProfileStatsOut
from services.profiles.service_layer import profile_ops

__all__ = ["TAG", "router"]

TAG = "profiles"
router = APIRouter(tags=[TAG])
_PROFILE = "/accounts/{appid}/members/{openid}/profile"


@router.get("/accounts/{appid}/profiles/stats", summary="Profiles, tagged, by stage today")
async def profile_stats(appid: AppId, profiles: ProfilesDep, now: Now) -> ProfileStatsOut:
    return ProfileStatsOut.of(await profiles.profiles.stats(appid, now.date()))


@router.get(_PROFILE, summary="A member's profile: stage as of today, tags, consents")
async def read_profile(appid: AppId, openid: OpenId, profiles: ProfilesDep, now: Now) -> ProfileOut:
    profile = await profile_ops.profile_of(profiles.profiles, appid, openid)
    return ProfileOut.of(profile, profiles.taxonomy, now, profiles.half_life)


@router.get(_PROFILE + "/history", summary="What changed, newest first")
async def read_history(
    appid: AppId, openid: OpenId, profiles: ProfilesDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[dict[str, Any]]:
    return await profiles.profiles.history(appid, openid, limit)


@router.post(_PROFILE + "/tags", summary="Ops add a tag (audited in the history)")
async def add_tag(appid: AppId, openid: OpenId, body: OpsTagIn, profiles: ProfilesDep, now: Now) -> ProfileOut:
    try:
        profile = await profile_ops.add_tag(
            profiles.uow(), profiles.taxonomy, appid, openid, body.code, body.weight, body.actor, now
        )
    except ProfileError as exc:
        raise HTTPException(422, detail=[{"loc": ["body", "code"], "msg": str(exc)}]) from None
    return ProfileOut.of(profile, profiles.taxonomy, now, profiles.half_life)


@router.delete(_PROFILE + "/tags/{code}", summary="Ops remove a tag they set (audited)")
async def remove_tag(
    appid: AppId,
    openid: OpenId,
    code: TagCode,
    profiles: ProfilesDep,
    now: Now,
    actor: Annotated[str, Query(min_length=1, max_length=64)],
    source: TagSource = TagSource.OPS,
) -> ProfileOut:
    profile = await profile_ops.remove_tag(profiles.uow(), appid, openid, code, source, actor, now)
    return ProfileOut.of(profile, profiles.taxonomy, now, profiles.half_life)
