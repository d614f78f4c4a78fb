"""Segments and pushes API.

Segments: a JSON rule tree saved with versions; a size preview and a sample while editing (answered by
the live index in milliseconds); "why is this member in it"; a zh-CN and English summary of every
rule. Pushes: content per A/B variant, a segment frozen when the push comes due, quiet hours,
frequency caps; pause, resume, cancel; deliveries and stats. ``/r/{token}`` is the signed click redirect.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from datetime import time as clock_time
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field, model_validator

from services.segments.bootstrap import SegmentsService, bootstrap_api
from services.segments.domain.click_links import LinkForged, open_click
from services.segments.domain.pushes import PushStatus
from services.segments.domain.rules import Explanation, Rule, RuleInvalid, explain, parse_rule, summarize
from services.segments.domain.segments import SavedSegment, SegmentNameTaken
from services.segments.settings import SegmentsSettings
from shared.observability import OPENTELEMETRY_OFF, instrument_app
from shared.request_bodies import BodyLimit

__all__ = ["create_app"]

TAG_SEGMENTS = "segments"
TAG_PUSHES = "pushes"
TAG_CLICKS = "click tracking"
_ID = r"^[A-Za-z0-9_-]+$"
AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID)]
ItemId = Annotated[str, Path(min_length=1, max_length=64, pattern=_ID)]
OpenId = Annotated[str, Path(min_length=1, max_length=128, pattern=_ID)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Language = Literal["en", "zh"]


def _service(request: Request) -> SegmentsService:
    found: SegmentsService = request.app.state.segments
    return found


Dep = Annotated[SegmentsService, Depends(_service)]


# -- models -------------------------------------------------------------------------------------------


class SegmentIn(BaseModel):
    name: Name
    description: Annotated[str, Field(max_length=1000)] = ""
    rule: dict[str, Any] = Field(description='A rule tree, e.g. {"all": [{"stage_in": ["pregnancy.late"]}, ...]}')


class PreviewIn(BaseModel):
    rule: dict[str, Any]
    sample: Annotated[int, Field(ge=0, le=200)] = 20


class Summary(BaseModel):
    en: str
    zh: str


class PreviewOut(BaseModel):
    size: int = Field(description="Members of the account the rule selects now")
    sample: list[str] = Field(description="Openids of the first members selected")
    summary: Summary
    took_ms: float


class SegmentOut(BaseModel):
    id: str
    name: str
    description: str
    version: int
    rule: dict[str, Any]
    summary: Summary
    size: int
    created_at: datetime
    updated_at: datetime


class VersionOut(BaseModel):
    version: int
    name: str
    rule: dict[str, Any]
    saved_at: datetime


class ExplanationOut(BaseModel):
    held: bool
    summary: str
    parts: list[ExplanationOut] = []


class ExplainOut(BaseModel):
    openid: str
    in_segment: bool
    explanation: ExplanationOut


class ArticleIn(BaseModel):
    title: Annotated[str, Field(min_length=1, max_length=64)]
    url: Annotated[str, Field(pattern=r"^https?://", max_length=2000)]
    description: Annotated[str, Field(max_length=120)] = ""
    picurl: Annotated[str, Field(max_length=2000)] = ""


class MessageIn(BaseModel):
    kind: Literal["text", "image", "news"]
    text: Annotated[str, Field(max_length=2000)] = ""
    media_id: Annotated[str, Field(max_length=128)] = ""
    articles: Annotated[list[ArticleIn], Field(max_length=1)] = []

    @model_validator(mode="after")
    def _complete(self) -> MessageIn:
        if self.kind == "text" and not self.text:
            raise ValueError("a text message needs text")
        if self.kind == "image" and not self.media_id:
            raise ValueError("an image message needs media_id")
        if self.kind == "news" and not self.articles:
            raise ValueError("a news message needs one article")
        return self


FieldValues = Annotated[
    dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.]+$", max_length=32)], str], Field(max_length=20)
]


class TemplateIn(BaseModel):
    template_id: Annotated[str, Field(min_length=1, max_length=128)]
    data: FieldValues
    url: Annotated[str, Field(pattern=r"^(https?://.*)?$", max_length=2000)] = ""


class SubscriptionIn(BaseModel):
    template_id: Annotated[str, Field(min_length=1, max_length=128)]
    data: FieldValues
    page: Annotated[str, Field(max_length=1000)] = ""


class VariantIn(BaseModel):
    name: Annotated[str, Field(pattern=_ID, max_length=32)] = "A"
    weight: Annotated[int, Field(ge=1, le=100)] = 1
    message: MessageIn | None = Field(default=None, description="Customer-service message (inside the 48 h window)")
    template: TemplateIn | None = Field(default=None, description="Template message (outside the window)")
    subscription: SubscriptionIn | None = Field(default=None, description="Subscription message (needs consent)")

    @model_validator(mode="after")
    def _something(self) -> VariantIn:
        if self.message is None and self.template is None and self.subscription is None:
            raise ValueError("a variant needs a message, a template or a subscription message")
        return self


class QuietHoursIn(BaseModel):
    start: clock_time
    end: clock_time


class CapIn(BaseModel):
    per_day: Annotated[int, Field(ge=1, le=50)]
    per_week: Annotated[int, Field(ge=1, le=200)]


class PushIn(BaseModel):
    name: Name
    segment_id: Annotated[str, Field(min_length=1, max_length=64)]
    variants: Annotated[list[VariantIn], Field(min_length=1, max_length=10)]
    send_at: datetime | None = Field(default=None, description="Now when left out; must carry a timezone")
    quiet_hours: QuietHoursIn | Literal["default"] | None = Field(
        default="default", description="Beijing time; null for none; the service's default when left out"
    )
    cap: CapIn | None = Field(default=None, description="Per-member caps across pushes; the service's default")
    broadcast: bool = Field(default=False, description="Mass send by a WeChat tag (4 per member per month)")

    @model_validator(mode="after")
    def _consistent(self) -> PushIn:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError("variant names must differ")
        if self.send_at is not None and self.send_at.tzinfo is None:
            raise ValueError("send_at needs a timezone")
        if self.broadcast:
            if len(self.variants) != 1:
                raise ValueError("a broadcast is one message to everybody: exactly one variant")
            message = self.variants[0].message
            if message is None or message.kind not in ("text", "image"):
                raise ValueError("a broadcast's variant needs a text or image message")
        return self


class PushOut(BaseModel):
    id: str
    name: str
    segment_id: str
    segment_version: int | None
    status: str
    note: str
    send_at: datetime
    broadcast: bool
    audience_size: int | None
    variants: list[dict[str, Any]]
    quiet_hours: dict[str, str] | None
    cap: dict[str, int]
    stats: dict[str, Any]
    created_at: datetime
    resume_at: datetime | None = None
    mass: dict[str, Any] | None = None


# -- helpers ------------------------------------------------------------------------------------------


def _problems(exc: RuleInvalid, *where: str) -> HTTPException:
    detail = [
        {"loc": [*where, *p.path.split(".")[1:]], "msg": p.message, "type": "rule_invalid", "path": p.path}
        for p in exc.problems[:100]
    ]
    return HTTPException(422, detail=detail)


def _explanation(node: Explanation) -> ExplanationOut:
    return ExplanationOut(held=node.held, summary=node.summary, parts=[_explanation(p) for p in node.parts])


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _push_out(doc: dict[str, Any]) -> PushOut:
    return PushOut(
        id=doc["_id"],
        name=doc["name"],
        segment_id=doc["segment_id"],
        segment_version=doc.get("segment_version"),
        status=doc["status"],
        note=doc.get("note", ""),
        send_at=_utc(doc["send_at"]) or datetime.now(UTC),
        broadcast=bool(doc.get("broadcast")),
        audience_size=doc.get("audience_size"),
        variants=doc["variants"],
        quiet_hours=doc.get("quiet_hours"),
        cap=doc["cap"],
        stats=doc.get("stats") or {},
        created_at=_utc(doc["created_at"]) or datetime.now(UTC),
        resume_at=_utc(doc.get("resume_at")),
        mass=doc.get("mass"),
    )


def create_app(settings: SegmentsSettings, *, clock: Callable[[], datetime] | None = None, **overrides: Any) -> FastAPI:
    """``overrides`` go to :func:`bootstrap_api` (tests: ``follow_changes=False``)."""

    def now() -> datetime:
        return clock() if clock is not None else datetime.now(UTC)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap_api(settings, clock=now, **overrides) as service:
            app.state.segments = service
            yield

    app = FastAPI(
        title="SCRM segments API",
        summary="Member segments over profiles and tags, and targeted pushes within WeChat's rules.",
        version="0.1.0",
        lifespan=lifespan,
        telemetry=OPENTELEMETRY_OFF,
        openapi_tags=[
            {"name": TAG_SEGMENTS, "description": "Rules, versions, previews, explanations."},
            {"name": TAG_PUSHES, "description": "Targeted pushes: content, schedule, delivery, stats."},
            {"name": TAG_CLICKS, "description": "Signed redirects in pushed links."},
        ],
    )
    known_accounts = {account.appid for account in settings.wechat_accounts}
    click_key = settings.click_link_secret.get_secret_value().encode()

    async def mongodb() -> None:
        await app.state.segments.readiness["mongodb"]()

    instrument_app(app, settings.service_name, checks={"mongodb": mongodb})
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    def account(appid: str) -> str:
        if appid not in known_accounts:
            raise HTTPException(404, detail=f"unknown account {appid}")
        return appid

    def rule_of(service: SegmentsService, data: dict[str, Any], *where: str) -> Rule:
        try:
            return parse_rule(data, service.known_tags)
        except RuleInvalid as exc:
            raise _problems(exc, *where) from None

    def summary(service: SegmentsService, rule: Rule) -> Summary:
        return Summary(en=summarize(rule, "en"), zh=summarize(rule, "zh", _names(service)))

    def size(service: SegmentsService, appid: str, rule: Rule) -> int:
        assert service.live is not None
        return len(service.live.index.select(rule, now()) & service.live.index.account(appid))

    def segment_out(service: SegmentsService, segment: SavedSegment) -> SegmentOut:
        rule = parse_rule(segment.rule)
        return SegmentOut(
            id=segment.id,
            name=segment.name,
            description=segment.description,
            version=segment.version,
            rule=segment.rule,
            summary=summary(service, rule),
            size=size(service, segment.appid, rule),
            created_at=segment.created_at,
            updated_at=segment.updated_at,
        )

    async def found(service: SegmentsService, appid: str, segment_id: str) -> SavedSegment:
        segment = await service.segments.get(appid, segment_id)
        if segment is None:
            raise HTTPException(404, detail=f"no segment {segment_id}")
        return segment

    seg = "/accounts/{appid}/segments"

    @app.post(f"{seg}/preview", tags=[TAG_SEGMENTS], summary="Size and a sample of an unsaved rule")
    async def preview(appid: AppId, body: PreviewIn, service: Dep) -> PreviewOut:
        account(appid)
        rule = rule_of(service, body.rule, "body", "rule")
        assert service.live is not None
        started = time.perf_counter()
        members = service.live.index.select(rule, now()) & service.live.index.account(appid)
        sample = [openid for _, openid in service.live.index.keys(members[: body.sample] if body.sample else [])]
        took = (time.perf_counter() - started) * 1000
        return PreviewOut(size=len(members), sample=sample, summary=summary(service, rule), took_ms=round(took, 3))

    @app.post(seg, status_code=201, tags=[TAG_SEGMENTS], summary="Save a new segment (version 1)")
    async def create_segment(appid: AppId, body: SegmentIn, service: Dep) -> SegmentOut:
        account(appid)
        rule_of(service, body.rule, "body", "rule")
        try:
            segment = await service.segments.create(appid, body.name, body.description, body.rule)
        except SegmentNameTaken as exc:
            raise HTTPException(409, detail=str(exc)) from None
        return segment_out(service, segment)

    @app.get(seg, tags=[TAG_SEGMENTS], summary="The account's segments with their current sizes")
    async def list_segments(appid: AppId, service: Dep) -> list[SegmentOut]:
        account(appid)
        return [segment_out(service, s) for s in await service.segments.of_account(appid)]

    @app.get(seg + "/{segment_id}", tags=[TAG_SEGMENTS], summary="One segment, its size now")
    async def get_segment(appid: AppId, segment_id: ItemId, service: Dep) -> SegmentOut:
        account(appid)
        return segment_out(service, await found(service, appid, segment_id))

    @app.put(seg + "/{segment_id}", tags=[TAG_SEGMENTS], summary="Save a new version")
    async def update_segment(appid: AppId, segment_id: ItemId, body: SegmentIn, service: Dep) -> SegmentOut:
        account(appid)
        rule_of(service, body.rule, "body", "rule")
        try:
            segment = await service.segments.update(appid, segment_id, body.name, body.description, body.rule)
        except SegmentNameTaken as exc:
            raise HTTPException(409, detail=str(exc)) from None
        if segment is None:
            raise HTTPException(404, detail=f"no segment {segment_id}")
        return segment_out(service, segment)

    @app.delete(seg + "/{segment_id}", status_code=204, tags=[TAG_SEGMENTS], summary="Delete (versions stay)")
    async def delete_segment(appid: AppId, segment_id: ItemId, service: Dep) -> None:
        account(appid)
        if not await service.segments.delete(appid, segment_id):
            raise HTTPException(404, detail=f"no segment {segment_id}")

    @app.get(seg + "/{segment_id}/versions", tags=[TAG_SEGMENTS], summary="Every saved version, newest first")
    async def versions(appid: AppId, segment_id: ItemId, service: Dep) -> list[VersionOut]:
        account(appid)
        await found(service, appid, segment_id)
        return [VersionOut(**v) for v in await service.segments.versions(segment_id)]

    @app.get(seg + "/{segment_id}/preview", tags=[TAG_SEGMENTS], summary="Size and a sample of a saved segment")
    async def preview_saved(
        appid: AppId, segment_id: ItemId, service: Dep, sample: Annotated[int, Query(ge=0, le=200)] = 20
    ) -> PreviewOut:
        segment = await found(service, account(appid), segment_id)
        return await preview(appid, PreviewIn(rule=segment.rule, sample=sample), service)

    @app.get(
        seg + "/{segment_id}/members/{openid}",
        tags=[TAG_SEGMENTS],
        summary="Why a member is (or is not) in the segment, condition by condition",
    )
    async def explain_member(
        appid: AppId, segment_id: ItemId, openid: OpenId, service: Dep, lang: Language = "en"
    ) -> ExplainOut:
        segment = await found(service, account(appid), segment_id)
        assert service.facts is not None
        facts = await service.facts.one(appid, openid, now().date())
        if facts is None:
            raise HTTPException(404, detail=f"no profile for {openid}")
        why = explain(parse_rule(segment.rule), facts, now(), lang)
        return ExplainOut(openid=openid, in_segment=why.held, explanation=_explanation(why))

    # -- pushes ---------------------------------------------------------------------------------------

    pushes = "/accounts/{appid}/pushes"

    @app.post(pushes, status_code=201, tags=[TAG_PUSHES], summary="Schedule a push to a segment")
    async def create_push(appid: AppId, body: PushIn, service: Dep) -> PushOut:
        account(appid)
        await found(service, appid, body.segment_id)
        quiet: dict[str, str] | None
        if body.quiet_hours == "default":
            default = (settings.quiet_start, settings.quiet_end)
            quiet = None if None in default else {"start": str(default[0]), "end": str(default[1])}
        elif body.quiet_hours is None:
            quiet = None
        else:
            quiet = {"start": body.quiet_hours.start.isoformat(), "end": body.quiet_hours.end.isoformat()}
        cap = body.cap or CapIn(per_day=settings.cap_per_day, per_week=settings.cap_per_week)
        created = now()
        doc: dict[str, Any] = {
            "_id": "push_" + secrets.token_hex(8),
            "appid": appid,
            "name": body.name,
            "segment_id": body.segment_id,
            "variants": [v.model_dump(mode="json") for v in body.variants],
            "send_at": body.send_at.astimezone(UTC) if body.send_at else created,
            "quiet_hours": quiet,
            "cap": cap.model_dump(),
            "broadcast": body.broadcast,
            "status": PushStatus.SCHEDULED.value,
            "created_at": created,
            "resume_at": None,
            "lease_until": None,
            "note": "",
            "stats": {"total": {"targeted": 0, "sent": 0, "clicked": 0}},
        }
        await service.pushes.insert(doc)
        return _push_out(doc)

    @app.get(pushes, tags=[TAG_PUSHES], summary="The account's pushes, newest first")
    async def list_pushes(appid: AppId, service: Dep) -> list[PushOut]:
        account(appid)
        return [_push_out(doc) for doc in await service.pushes.of_account(appid)]

    async def push_of(service: SegmentsService, appid: str, push_id: str) -> dict[str, Any]:
        doc = await service.pushes.get(push_id, account(appid))
        if doc is None:
            raise HTTPException(404, detail=f"no push {push_id}")
        return doc

    @app.get(pushes + "/{push_id}", tags=[TAG_PUSHES], summary="A push with its status and stats")
    async def get_push(appid: AppId, push_id: ItemId, service: Dep) -> PushOut:
        return _push_out(await push_of(service, appid, push_id))

    async def move(service: SegmentsService, appid: str, push_id: str, action: str) -> PushOut:
        doc = await push_of(service, appid, push_id)
        status = PushStatus(doc["status"])
        moved: dict[str, Any] | None = None
        if action == "pause":
            movable = [PushStatus.SCHEDULED, PushStatus.SENDING, PushStatus.WAITING_QUOTA, PushStatus.MATERIALIZING]
            moved = await service.pushes.transition(push_id, movable, PushStatus.PAUSED, paused_from=status.value)
        elif action == "resume":
            target = PushStatus.SENDING if doc.get("audience_size") is not None else PushStatus.SCHEDULED
            # From waiting_quota too: ops who cleared the quota (clear_quota) need not wait for midnight.
            moved = await service.pushes.transition(
                push_id, [PushStatus.PAUSED, PushStatus.WAITING_QUOTA], target, lease_until=None, resume_at=None
            )
        elif action == "cancel":
            live = [s for s in PushStatus if not s.final]
            moved = await service.pushes.transition(push_id, live, PushStatus.CANCELLED, cancelled_at=now())
        if moved is None:
            raise HTTPException(409, detail=f"cannot {action} a push that is {status.value}")
        return _push_out(moved)

    @app.post(pushes + "/{push_id}/pause", tags=[TAG_PUSHES], summary="Stop sending until resumed")
    async def pause(appid: AppId, push_id: ItemId, service: Dep) -> PushOut:
        return await move(service, appid, push_id, "pause")

    @app.post(pushes + "/{push_id}/resume", tags=[TAG_PUSHES], summary="Go on where it stopped (paused or quota)")
    async def resume(appid: AppId, push_id: ItemId, service: Dep) -> PushOut:
        return await move(service, appid, push_id, "resume")

    @app.post(pushes + "/{push_id}/cancel", tags=[TAG_PUSHES], summary="Stop for good")
    async def cancel(appid: AppId, push_id: ItemId, service: Dep) -> PushOut:
        return await move(service, appid, push_id, "cancel")

    @app.get(pushes + "/{push_id}/deliveries", tags=[TAG_PUSHES], summary="Delivery records (channel, status, code)")
    async def deliveries(
        appid: AppId,
        push_id: ItemId,
        service: Dep,
        status: Annotated[str | None, Query(pattern=r"^(skipped|queued|sending|sent|delivered|failed)$")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        await push_of(service, appid, push_id)
        return await service.pushes.deliveries_of(push_id, status, limit)

    @app.get("/r/{token}", tags=[TAG_CLICKS], summary="Count a click and go on to the link's destination")
    async def click(token: Annotated[str, Path(max_length=4096)], service: Dep) -> RedirectResponse:
        try:
            link = open_click(click_key, token)
        except LinkForged as exc:
            raise HTTPException(404, detail=f"not a link of ours: {exc}") from None
        if await service.pushes.count_click(link.push_id, link.variant, link.openid, link.url, now()):
            inc = {"stats.total.clicked": 1, f"stats.variants.{link.variant}.clicked": 1}
            await service.pushes.update(link.push_id, {}, inc)
        return RedirectResponse(link.url, status_code=302)

    return app


def _names(service: SegmentsService) -> dict[str, str]:
    return {code: tag.name for code, tag in service.taxonomy.tags.items()}
