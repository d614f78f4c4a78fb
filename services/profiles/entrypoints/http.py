"""Profiles API: the mall webhook (signed; one event or NDJSON in bulk), member profiles with their life
stage and tags as of now, the change history, and ops adding or removing tags (audited).

The webhook only validates and publishes to Kafka (``mall.events``); the profiles worker applies the
events, once each. A request is all or nothing: any bad event refuses the whole request with 422
naming line and field, before anything is published.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field, StringConstraints

from services.profiles.bootstrap import Profiles, bootstrap
from services.profiles.domain.mall_webhook import MallEventIn, SignatureRejected, parse_events, verify_signature
from services.profiles.domain.profile import Profile, ProfileError
from services.profiles.domain.tags import TagSource
from services.profiles.entrypoints.h5 import TAG_H5, h5_router
from services.profiles.entrypoints.surveys_http import TAG_SURVEYS, surveys_router
from services.profiles.service_layer import profile_ops
from services.profiles.settings import ProfilesSettings
from shared.contracts import MALL_EVENTS, MallEventReceived
from shared.events import Envelope
from shared.messaging import PublishFailed
from shared.observability import OPENTELEMETRY_OFF, instrument_app
from shared.request_bodies import read_body

__all__ = ["create_app"]

TAG_MALL = "mall webhook"
TAG_PROFILES = "profiles"
_ID = r"^[A-Za-z0-9_-]+$"
AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID)]
OpenId = Annotated[str, Path(min_length=1, max_length=128, pattern=_ID)]
TagCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=100)]


def _profiles(request: Request) -> Profiles:
    found: Profiles = request.app.state.profiles
    return found


Dep = Annotated[Profiles, Depends(_profiles)]
SignatureHeader = Annotated[str | None, Header(alias="X-Mall-Signature", max_length=200)]
TimestampHeader = Annotated[str | None, Header(alias="X-Mall-Timestamp", max_length=20)]


class Accepted(BaseModel):
    accepted: int = Field(description="Events published for the profiles worker (repeats within a request once)")


class TagOut(BaseModel):
    code: str
    name: str
    source: str
    weight: float = Field(description="As of now: behavioural (mall, inferred) weights fade with time")
    first_seen: datetime
    last_seen: datetime


class StageOut(BaseModel):
    code: str
    name: str
    pregnancy_week: int | None
    age_months: int | None
    confidence: str = Field(description="declared (the member said so) or inferred (from purchases)")


class ConsentOut(BaseModel):
    given: bool
    at: datetime
    via: str


class FollowOut(BaseModel):
    following: bool
    first_followed_at: datetime | None
    last_followed_at: datetime | None
    last_unfollowed_at: datetime | None


class ProfileOut(BaseModel):
    appid: str
    openid: str
    unionid: str | None
    follow: FollowOut
    last_active_at: datetime | None = Field(description="The member's last follow, scan, message or menu click")
    stage: StageOut | None = Field(description="Computed as of today from the declaration that counts")
    tags: list[TagOut]
    consents: dict[str, ConsentOut]
    version: int


class ProfileStatsOut(BaseModel):
    profiles: int
    following: int = Field(description="Profiles of members who follow the account now")
    tagged: int = Field(description="Profiles with at least one tag or a life stage")
    by_stage: dict[str, int] = Field(description="Life stage as of today -> profiles")
    consented_marketing: int


class OpsTagIn(BaseModel):
    code: TagCode
    weight: Annotated[float, Field(gt=0, le=10)] = 1.0
    actor: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def _envelope(event: MallEventIn) -> Envelope:
    message = MallEventReceived(
        mall_event_id=event.event_id,
        openid=event.openid,
        unionid=event.unionid,
        kind=event.kind,  # checked by parse_events
        category=event.category,
        occurred_at=event.occurred_at,
        amount_fen=event.amount_fen,
        order_id=event.order_id,
    )
    # The shop's id makes the envelope's: a resent event is the same event all the way down.
    event_id = hashlib.sha256(f"{event.appid}:{event.event_id}".encode()).hexdigest()
    return Envelope.wrap(message, appid=event.appid, key=event.openid, occurred_at=event.occurred_at, event_id=event_id)


def create_app(settings: ProfilesSettings, *, clock: Callable[[], datetime] | None = None, **overrides: Any) -> FastAPI:
    """``overrides`` go to :func:`bootstrap` (tests: a publisher fake)."""

    def now() -> datetime:
        return clock() if clock is not None else datetime.now(UTC)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The API sends survey results to members: it holds the accounts' WeChat clients too.
        async with bootstrap(settings, **({"messaging": True} | overrides)) as profiles:
            app.state.profiles = profiles
            yield

    app = FastAPI(
        title="SCRM profiles API",
        summary="Maternal-infant member profiles: mall events, life stage, tags.",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=OPENTELEMETRY_OFF,
        openapi_tags=[
            {"name": TAG_MALL, "description": "Signed shop events: views, carts, orders, refunds."},
            {"name": TAG_PROFILES, "description": "Profiles, their history, and ops tags."},
            {"name": TAG_H5, "description": "Pages members open from WeChat through a signed link."},
            {"name": TAG_SURVEYS, "description": "Surveys whose answers become tags, with one lottery draw each."},
        ],
    )
    known_accounts = {account.appid for account in settings.wechat_accounts}
    secret = settings.mall_webhook_secret.get_secret_value().encode()

    async def ready(name: str) -> None:
        await app.state.profiles.readiness[name]()

    app.include_router(h5_router(now))
    app.include_router(surveys_router(now))
    instrument_app(
        app, settings.service_name, checks={"mongodb": lambda: ready("mongodb"), "kafka": lambda: ready("kafka")}
    )

    async def receive(
        request: Request, profiles: Profiles, *, bulk: bool, timestamp: str | None, signature: str | None
    ) -> Accepted:
        body = await read_body(request.scope, request.receive, settings.mall_max_body_bytes)
        if body is None:
            raise HTTPException(413, detail=f"body larger than {settings.mall_max_body_bytes} bytes; split it")
        try:
            verify_signature(secret, timestamp, signature, body, time.time())
        except SignatureRejected as exc:
            raise HTTPException(401, detail=str(exc)) from None
        events, problems = parse_events(
            body, bulk=bulk, known_account=known_accounts.__contains__, categories=profiles.taxonomy.categories
        )
        if problems:
            detail = [{"loc": ["body", p.line, p.field], "msg": p.message} for p in problems[:100]]
            raise HTTPException(422, detail=detail)
        publisher = profiles.publisher
        assert publisher is not None, "the API publishes"
        try:
            for event in events:
                await publisher.publish(MALL_EVENTS, _envelope(event))
        except PublishFailed:
            # Some may be out already: the shop resends the request, and the ids make that harmless.
            raise HTTPException(503, detail="events could not be stored; resend the request") from None
        return Accepted(accepted=len(events))

    @app.post("/events/mall", status_code=202, tags=[TAG_MALL], summary="One shop event (JSON), signed")
    async def mall_event(
        request: Request,
        profiles: Dep,
        x_mall_signature: SignatureHeader = None,
        x_mall_timestamp: TimestampHeader = None,
    ) -> Accepted:
        return await receive(request, profiles, bulk=False, timestamp=x_mall_timestamp, signature=x_mall_signature)

    @app.post("/events/mall/bulk", status_code=202, tags=[TAG_MALL], summary="Up to 10,000 events as NDJSON, signed")
    async def mall_events(
        request: Request,
        profiles: Dep,
        x_mall_signature: SignatureHeader = None,
        x_mall_timestamp: TimestampHeader = None,
    ) -> Accepted:
        return await receive(request, profiles, bulk=True, timestamp=x_mall_timestamp, signature=x_mall_signature)

    def _account(appid: str) -> None:
        if appid not in known_accounts:
            raise HTTPException(404, detail=f"unknown account {appid!r}")

    def _out(profiles: Profiles, appid: str, openid: str, profile: Profile) -> ProfileOut:
        moment = now()
        taxonomy = profiles.taxonomy
        stage = profile.stage(moment.date())
        tags = [
            TagOut(
                code=view.code,
                name=taxonomy.name(view.code) if view.code in taxonomy else view.code,
                source=view.source.value,
                weight=view.weight,
                first_seen=view.first_seen,
                last_seen=view.last_seen,
            )
            for view in profile.tag_views(moment, profiles.half_life)
            if not view.code.startswith("stage.")  # the stage has its own field
        ]
        return ProfileOut(
            appid=appid,
            openid=openid,
            unionid=profile.unionid,
            follow=FollowOut(
                following=profile.follow.following,
                first_followed_at=profile.follow.first_followed_at,
                last_followed_at=profile.follow.last_followed_at,
                last_unfollowed_at=profile.follow.last_unfollowed_at,
            ),
            last_active_at=profile.last_active_at,
            stage=None
            if stage is None
            else StageOut(
                code=stage.stage.value,
                name=taxonomy.name(stage.stage.value),
                pregnancy_week=stage.pregnancy_week,
                age_months=stage.age_months,
                confidence=stage.confidence.value,
            ),
            tags=tags,
            consents={
                kind.value: ConsentOut(given=c.given, at=c.at, via=c.via) for kind, c in profile.consents.items()
            },
            version=profile.version,
        )

    @app.get("/accounts/{appid}/profiles/stats", tags=[TAG_PROFILES], summary="Profiles, tagged, by stage today")
    async def profile_stats(appid: AppId, profiles: Dep) -> ProfileStatsOut:
        _account(appid)
        counts = await profiles.profiles.stats(appid, now().date())
        return ProfileStatsOut(
            profiles=counts.profiles,
            following=counts.following,
            tagged=counts.tagged,
            by_stage={stage.value: n for stage, n in counts.by_stage.items()},
            consented_marketing=counts.consented_marketing,
        )

    base = "/accounts/{appid}/members/{openid}/profile"

    @app.get(base, tags=[TAG_PROFILES], summary="A member's profile: stage as of today, tags, consents")
    async def read_profile(appid: AppId, openid: OpenId, profiles: Dep) -> ProfileOut:
        _account(appid)
        profile = await profiles.profiles.get(appid, openid)
        if profile is None:
            raise HTTPException(404, detail=f"no profile for {openid!r} in {appid!r}")
        return _out(profiles, appid, openid, profile)

    @app.get(base + "/history", tags=[TAG_PROFILES], summary="What changed, newest first")
    async def read_history(
        appid: AppId, openid: OpenId, profiles: Dep, limit: Annotated[int, Query(ge=1, le=500)] = 100
    ) -> list[dict[str, Any]]:
        _account(appid)
        return await profiles.profiles.history(appid, openid, limit)

    @app.post(base + "/tags", tags=[TAG_PROFILES], summary="Ops add a tag (audited in the history)")
    async def add_tag(appid: AppId, openid: OpenId, body: OpsTagIn, profiles: Dep) -> ProfileOut:
        _account(appid)
        async with profiles.uow() as uow:
            profile = await uow.profiles.get_or_new(appid, openid)
            try:
                changes = profile.add_tag(
                    profiles.taxonomy, body.code, TagSource.OPS, now(), body.weight, actor=body.actor
                )
            except ProfileError as exc:
                raise HTTPException(422, detail=[{"loc": ["body", "code"], "msg": str(exc)}]) from None
            if changes:
                await uow.profiles.save(profile, changes)
            await uow.commit()
        return _out(profiles, appid, openid, profile)

    @app.delete(base + "/tags/{code}", tags=[TAG_PROFILES], summary="Ops remove a tag they set (audited)")
    async def remove_tag(
        appid: AppId,
        openid: OpenId,
        code: TagCode,
        profiles: Dep,
        actor: Annotated[str, Query(min_length=1, max_length=64)],
        source: TagSource = TagSource.OPS,
    ) -> ProfileOut:
        _account(appid)
        try:
            profile = await profile_ops.remove_tag(profiles.uow(), appid, openid, code, source, actor, now())
        except (profile_ops.NoProfile, profile_ops.NoSuchTag) as exc:
            raise HTTPException(404, detail=str(exc)) from None
        return _out(profiles, appid, openid, profile)

    return app
