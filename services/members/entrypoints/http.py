"""Read API over members (the console and ops scripts use it): every route needs ``member:view``.

A member here is follow state and the first scene, no personal data beyond the openid; the profile
(stage, consents) is the profiles service's, masked unless ``member:reveal_pii``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from pydantic import BaseModel

from services.members.bootstrap import Members, bootstrap
from services.members.domain.model import Member
from services.members.service_layer.ports import MemberReader
from services.members.settings import MembersSettings
from shared.identity import IdentityConfig, Permission, mongo_identity, require
from shared.web import create_service_app, service_of

AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


class MemberOut(BaseModel):
    appid: str
    openid: str
    following: bool
    first_followed_at: datetime | None
    last_followed_at: datetime | None
    last_unfollowed_at: datetime | None
    follow_count: int
    first_scene: str | None

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls.model_validate(member, from_attributes=True)


class MemberPage(BaseModel):
    items: list[MemberOut]
    limit: int
    offset: int


class MemberCounts(BaseModel):
    members: int
    following: int
    unfollowed: int


def _views(request: Request) -> MemberReader:
    members: Members = service_of(request)
    if members.views is None:
        raise HTTPException(503, detail="read side not configured")
    return members.views


ViewsDep = Annotated[MemberReader, Depends(_views)]

router = APIRouter(prefix="/accounts/{appid}", dependencies=[Depends(require(Permission.MEMBER_VIEW))])


def create_app(settings: MembersSettings, *, identity: IdentityConfig | None = None, **overrides: Any) -> FastAPI:
    """``overrides`` go to :func:`bootstrap` (tests: an in-memory unit of work and read side)."""
    return create_service_app(
        settings,
        title="SCRM members API",
        bootstrap=lambda: bootstrap(settings, **overrides),
        readiness={"mongodb": lambda members: members.ready()},
        operator_routers=[router],
        identity=identity or mongo_identity(settings),
    )


@router.get("/members", summary="List members, newest follow first")
async def list_members(
    appid: AppId,
    views: ViewsDep,
    following: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> MemberPage:
    members = await views.list(appid, following=following, limit=limit, offset=offset)
    return MemberPage(items=[MemberOut.of(m) for m in members], limit=limit, offset=offset)


@router.get("/members/{openid}", summary="One member")
async def read_member(
    appid: AppId, openid: Annotated[str, Path(min_length=1, max_length=128)], views: ViewsDep
) -> MemberOut:
    member = await views.get(appid, openid)
    if member is None:
        raise HTTPException(404, detail=f"no member {openid!r} in account {appid!r}")
    return MemberOut.of(member)


@router.get("/member-counts", summary="How many members follow now")
async def read_counts(appid: AppId, views: ViewsDep) -> MemberCounts:
    return MemberCounts(**await views.counts(appid))
