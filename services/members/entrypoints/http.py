"""Read API over members (the console and ops scripts use it): every read route needs ``member:view``.

A member here is follow state and the first scene, no personal data beyond the openid; the profile
(stage, consents) is the profiles service's, masked unless ``member:reveal_pii``. The members' data
rights are here too, over every store (``shared.datarights``): export (``member:export``) and erase
(``member:erase``, admins), each audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from pydantic import BaseModel

from services.members.bootstrap import Members, bootstrap
from services.members.domain.model import Member
from services.members.service_layer.ports import MemberReader
from services.members.settings import MembersSettings
from shared.datarights import MemberRights
from shared.identity import IdentityConfig, Permission, audit, mongo_identity, require
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
OpenId = Annotated[str, Path(min_length=1, max_length=128)]


def _rights(request: Request) -> MemberRights:
    members: Members = service_of(request)
    if members.rights is None:
        raise HTTPException(503, detail="data rights not configured")
    return members.rights


RightsDep = Annotated[MemberRights, Depends(_rights)]


class ErasureIn(BaseModel):
    #: The member's openid again: an erasure cannot be undone, so the caller says whom twice.
    confirm: str


class ErasureOut(BaseModel):
    #: The erasure record's id: a hash of the member, the only trace kept of who it was.
    erasure_id: str
    erased_at: datetime
    #: collection -> {what was done ("deleted", "anonymised", ...): documents}
    counts: dict[str, dict[str, int]]
    total: int


router = APIRouter(prefix="/accounts/{appid}", dependencies=[Depends(require(Permission.MEMBER_VIEW))])
rights_router = APIRouter(prefix="/accounts/{appid}/members/{openid}")


def create_app(settings: MembersSettings, *, identity: IdentityConfig | None = None, **overrides: Any) -> FastAPI:
    """``overrides`` go to :func:`bootstrap` (tests: an in-memory unit of work and read side)."""
    return create_service_app(
        settings,
        title="SCRM members API",
        bootstrap=lambda: bootstrap(settings, **overrides),
        readiness={"mongodb": lambda members: members.ready()},
        operator_routers=[router, rights_router],
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


@rights_router.get(
    "/export",
    summary="Everything held about the member, as one JSON document (PIPL)",
    dependencies=[Depends(require(Permission.MEMBER_EXPORT))],
)
async def export_member(appid: AppId, openid: OpenId, rights: RightsDep, request: Request) -> dict[str, Any]:
    exported = await rights.export(appid, openid)
    if not exported["collections"] and exported["erased_at"] is None:
        raise HTTPException(404, detail=f"nothing is held about {openid!r} in account {appid!r}")
    counts = {name: len(documents) for name, documents in exported["collections"].items()}
    await audit(request, "member.exported", "member", openid, after={"documents": counts})
    return exported


@rights_router.post(
    "/erase",
    summary="Erase the member's personal data in every store (irreversible; PIPL)",
    dependencies=[Depends(require(Permission.MEMBER_ERASE))],
)
async def erase_member(
    appid: AppId, openid: OpenId, body: ErasureIn, rights: RightsDep, request: Request
) -> ErasureOut:
    if body.confirm != openid:
        raise HTTPException(422, detail="confirm: must repeat the member's openid")
    identity = getattr(request.state, "identity", None)
    report = await rights.erase(appid, openid, by=getattr(identity, "name", None) or "operator")
    counts = {name: dict(by_action) for name, by_action in report.counts.items()}
    # Audited under the erasure's hash: the log keeps that it happened, not whom it was.
    await audit(request, "member.erased", "member_erasure", report.id, after={"total": report.total})
    return ErasureOut(erasure_id=report.id, erased_at=report.at, counts=counts, total=report.total)
