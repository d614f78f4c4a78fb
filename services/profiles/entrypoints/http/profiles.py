"""Operator routes over profiles: an account's counts, a member's profile and history, ops tags.

Who sees what (docs/identity.md, "Personal data"): ``member:view`` gets the **masked** profile and
history: follow state, activity and tags, but no life stage (pregnancy week, baby's age), no
consents, no unionid, and history entries of those kinds (and of purchases) without their details.
The full profile and history are separate routes behind ``member:reveal_pii``, each read audited as
a reveal.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from services.profiles.domain.profile import ProfileError
from services.profiles.domain.tags import TagSource
from services.profiles.entrypoints.http.deps import AppId, Now, OpenId, ProfilesDep, TagCode
from services.profiles.entrypoints.http.schemas import (
    OpsTagIn,
    ProfileOut,
    ProfileStatsOut,
    TaxonomyTagOut,
    masked_history,
)
from services.profiles.service_layer import profile_ops
from shared.identity import Identity, Permission, audit, require
from shared.maternal_infant import FAMILIES

__all__ = ["TAG", "router"]

TAG = "profiles"
router = APIRouter(tags=[TAG])
_PROFILE = "/accounts/{appid}/members/{openid}/profile"

_VIEW = [Depends(require(Permission.MEMBER_VIEW))]
_REVEAL = [Depends(require(Permission.MEMBER_REVEAL_PII))]
Editor = Annotated[Identity, Depends(require(Permission.PROFILE_EDIT))]
HistoryLimit = Annotated[int, Query(ge=1, le=500)]


def _actor(identity: Identity) -> str:
    """The history's actor of an ops change: the operator's name and id, never a request field."""
    return f"{identity.name}#{identity.actor_id}"


@router.get("/accounts/{appid}/profiles/stats", summary="Profiles, tagged, by stage today", dependencies=_VIEW)
async def profile_stats(appid: AppId, profiles: ProfilesDep, now: Now) -> ProfileStatsOut:
    return ProfileStatsOut.of(await profiles.profiles.stats(appid, now.date()))


#: A taxonomy family to list (the first part of a code).
Family = Annotated[
    str | None,
    Query(
        pattern="^(" + "|".join(sorted(FAMILIES)) + ")$", description="Only this family: " + ", ".join(sorted(FAMILIES))
    ),
]


@router.get(
    "/accounts/{appid}/profiles/taxonomy",
    summary="The tag codes profiles carry, with their zh and en names, parents and families",
    description="In the taxonomy file's order. These codes are what ops tags (`POST …/profile/tags`), segment "
    "rules (`has_tag`, `tag_weight`) and WeChat tag syncs take; `ops` says whether an operator may set one "
    "by hand. `?family=interest` lists one family.",
    dependencies=_VIEW,
)
async def taxonomy(appid: AppId, profiles: ProfilesDep, family: Family = None) -> list[TaxonomyTagOut]:
    """The taxonomy this service checks tags against (the console's tag picker lists it)."""
    tags = profiles.taxonomy.tags.values()
    return [TaxonomyTagOut.of(tag) for tag in tags if family is None or tag.family == family]


@router.get(_PROFILE, summary="A member's profile, masked: follow, activity, tags", dependencies=_VIEW)
async def read_profile(appid: AppId, openid: OpenId, profiles: ProfilesDep, now: Now) -> ProfileOut:
    profile = await profile_ops.profile_of(profiles.profiles, appid, openid)
    return ProfileOut.of(profile, profiles.taxonomy, now, profiles.half_life).without_pii()


@router.get(
    _PROFILE + "/reveal",
    summary="A member's full profile: stage as of today, consents, unionid (audited)",
    dependencies=_REVEAL,
)
async def reveal_profile(appid: AppId, openid: OpenId, profiles: ProfilesDep, now: Now, request: Request) -> ProfileOut:
    profile = await profile_ops.profile_of(profiles.profiles, appid, openid)
    await audit(request, "member.pii_revealed", "member", openid, after={"view": "profile"})
    return ProfileOut.of(profile, profiles.taxonomy, now, profiles.half_life)


@router.get(_PROFILE + "/history", summary="What changed, newest first (masked)", dependencies=_VIEW)
async def read_history(
    appid: AppId, openid: OpenId, profiles: ProfilesDep, limit: HistoryLimit = 100
) -> list[dict[str, Any]]:
    return masked_history(await profiles.profiles.history(appid, openid, limit))


@router.get(_PROFILE + "/history/reveal", summary="What changed, with every detail (audited)", dependencies=_REVEAL)
async def reveal_history(
    appid: AppId, openid: OpenId, profiles: ProfilesDep, request: Request, limit: HistoryLimit = 100
) -> list[dict[str, Any]]:
    history = await profiles.profiles.history(appid, openid, limit)
    await audit(request, "member.pii_revealed", "member", openid, after={"view": "history"})
    return history


@router.post(_PROFILE + "/tags", summary="Ops add a tag (in the history and the audit log)")
async def add_tag(
    appid: AppId, openid: OpenId, body: OpsTagIn, profiles: ProfilesDep, now: Now, editor: Editor, request: Request
) -> ProfileOut:
    try:
        profile = await profile_ops.add_tag(
            profiles.uow(), profiles.taxonomy, appid, openid, body.code, body.weight, _actor(editor), now
        )
    except ProfileError as exc:
        raise HTTPException(422, detail=[{"loc": ["body", "code"], "msg": str(exc)}]) from None
    await audit(request, "profile.tag_added", "member", openid, after={"code": body.code, "weight": body.weight})
    return ProfileOut.of(profile, profiles.taxonomy, now, profiles.half_life).without_pii()


@router.delete(_PROFILE + "/tags/{code}", summary="Ops remove a tag they set (in the history and the audit log)")
async def remove_tag(
    appid: AppId,
    openid: OpenId,
    code: TagCode,
    profiles: ProfilesDep,
    now: Now,
    editor: Editor,
    request: Request,
    source: TagSource = TagSource.OPS,
) -> ProfileOut:
    profile = await profile_ops.remove_tag(profiles.uow(), appid, openid, code, source, _actor(editor), now)
    await audit(request, "profile.tag_removed", "member", openid, before={"code": code, "source": source.value})
    return ProfileOut.of(profile, profiles.taxonomy, now, profiles.half_life).without_pii()
