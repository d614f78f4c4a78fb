"""Read API over members (the console and ops scripts use it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from pydantic import BaseModel

from services.members.adapters.views import MemberViews
from services.members.bootstrap import Members, bootstrap
from services.members.domain.model import Member
from services.members.settings import MembersSettings
from shared.observability import OPENTELEMETRY_OFF, instrument_app

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


def _views(request: Request) -> MemberViews:
    members: Members = request.app.state.members
    if members.views is None:
        raise HTTPException(503, detail="read side not configured")
    return members.views


ViewsDep = Annotated[MemberViews, Depends(_views)]


def create_app(settings: MembersSettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings) as members:
            app.state.members = members
            yield

    app = FastAPI(title="SCRM members API", version="0.1.0", lifespan=lifespan, telemetry=OPENTELEMETRY_OFF)

    async def mongodb_ready() -> None:
        await app.state.members.ready()

    instrument_app(app, settings.service_name, checks={"mongodb": mongodb_ready})

    @app.get("/accounts/{appid}/members", summary="List members, newest follow first")
    async def list_members(
        appid: AppId,
        views: ViewsDep,
        following: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> MemberPage:
        members = await views.list(appid, following=following, limit=limit, offset=offset)
        return MemberPage(items=[MemberOut.of(m) for m in members], limit=limit, offset=offset)

    @app.get("/accounts/{appid}/members/{openid}", summary="One member")
    async def read_member(
        appid: AppId, openid: Annotated[str, Path(min_length=1, max_length=128)], views: ViewsDep
    ) -> MemberOut:
        member = await views.get(appid, openid)
        if member is None:
            raise HTTPException(404, detail=f"no member {openid!r} in account {appid!r}")
        return MemberOut.of(member)

    @app.get("/accounts/{appid}/member-counts", summary="How many members follow now")
    async def read_counts(appid: AppId, views: ViewsDep) -> MemberCounts:
        return MemberCounts(**await views.counts(appid))

    return app
